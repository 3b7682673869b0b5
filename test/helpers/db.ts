import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Actor } from '../../src/server/audit/log.js';
import type { Ctx } from '../../src/server/context.js';
import { type Database, openDatabase } from '../../src/server/db/index.js';
import { migrateToLatest } from '../../src/server/db/migrate.js';
import { createPgDatabase, type TestDialect } from './pg.js';

export const TEST_ACTOR: Actor = { id: null, name: 'test-suite', ip: '127.0.0.1' };

/** A migrated, empty database of the given dialect, and how to throw it away. */
export async function openTestDatabase(dialect: TestDialect): Promise<{ database: Database; ctx: Ctx; dataDir: string; databaseUrl: string | undefined; cleanup(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-db-'));
  const pgdb = dialect === 'postgres' ? await createPgDatabase() : undefined;
  const database = openDatabase({ dataDir, databaseUrl: pgdb?.url });
  await migrateToLatest(database.db);
  return {
    database,
    dataDir,
    databaseUrl: pgdb?.url,
    ctx: { db: database.db, actor: TEST_ACTOR },
    async cleanup() {
      await database.close();
      await pgdb?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
