import { type SelectQueryBuilder, sql } from 'kysely';
import { invalid } from '../errors.js';

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/** Upper bound for one CSV export. */
export const EXPORT_LIMIT = 100_000;

function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw invalid('the cursor is not valid: pass back the nextCursor of a previous page unchanged', [
    { path: '/cursor', message: 'malformed cursor' },
  ]);
}

/**
 * Keyset pagination ordered by (sortColumn, idColumn). Fetches one row more than asked to know
 * whether another page follows.
 */
export async function paginate<DB, TB extends keyof DB, O extends Record<string, unknown>>(
  qb: SelectQueryBuilder<DB, TB, O>,
  opts: { sortColumn: string; idColumn: string; sortKey: (row: O) => string; idKey: (row: O) => string },
  page: PageRequest,
): Promise<Page<O>> {
  let q = qb;
  if (page.cursor) {
    const [v, id] = decodeCursor(page.cursor);
    const col = sql.ref(opts.sortColumn);
    const idCol = sql.ref(opts.idColumn);
    q = q.where(sql<boolean>`(${col} > ${v} or (${col} = ${v} and ${idCol} > ${id}))`);
  }
  const rows = await q
    .orderBy(sql.ref(opts.sortColumn))
    .orderBy(sql.ref(opts.idColumn))
    .limit(page.limit + 1)
    .execute();
  const more = rows.length > page.limit;
  const items = more ? rows.slice(0, page.limit) : rows;
  const last = items[items.length - 1];
  const nextCursor = more && last ? Buffer.from(JSON.stringify([opts.sortKey(last), opts.idKey(last)])).toString('base64url') : null;
  return { items, nextCursor };
}
