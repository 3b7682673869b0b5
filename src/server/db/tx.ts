import { DomainError } from '../errors.js';
import type { Db, Tx } from './index.js';

function code(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export function isUniqueViolation(err: unknown): boolean {
  const c = code(err);
  return c === '23505' || c === 'SQLITE_CONSTRAINT_UNIQUE' || c === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function isForeignKeyViolation(err: unknown): boolean {
  const c = code(err);
  return c === '23503' || c === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/**
 * Runs fn in one transaction: the change and its audit event commit together or not at all.
 * Constraint violations that slipped past the domain's own checks (races) become 409s.
 */
export async function inTx<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await db.transaction().execute(fn);
  } catch (err) {
    if (err instanceof DomainError) throw err;
    if (isUniqueViolation(err)) throw new DomainError('conflict', 'an object with that name already exists');
    if (isForeignKeyViolation(err)) throw new DomainError('conflict', 'the object is referenced by other objects or references one that does not exist');
    throw err;
  }
}
