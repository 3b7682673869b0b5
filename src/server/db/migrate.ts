import { type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Db } from './index.js';
import * as m0001 from './migrations/0001_initial.js';
import * as m0002 from './migrations/0002_identity.js';
import * as m0003 from './migrations/0003_vault.js';
import * as m0004 from './migrations/0004_sessions.js';
import * as m0005 from './migrations/0005_user_ssh_keys.js';
import * as m0006 from './migrations/0006_policy.js';
import * as m0007 from './migrations/0007_notify.js';
import * as m0008 from './migrations/0008_requests.js';
import * as m0009 from './migrations/0009_request_window_start.js';
import * as m0010 from './migrations/0010_session_gates.js';
import * as m0011 from './migrations/0011_audit_checkpoints.js';
import * as m0012 from './migrations/0012_gate_across_nodes.js';
import * as m0013 from './migrations/0013_session_commands.js';
import * as m0014 from './migrations/0014_node_links.js';
import * as m0015 from './migrations/0015_session_paused.js';

/** The one migration set, in order. Add new files here; never edit a released migration. */
const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_identity': m0002,
  '0003_vault': m0003,
  '0004_sessions': m0004,
  '0005_user_ssh_keys': m0005,
  '0006_policy': m0006,
  '0007_notify': m0007,
  '0008_requests': m0008,
  '0009_request_window_start': m0009,
  '0010_session_gates': m0010,
  '0011_audit_checkpoints': m0011,
  '0012_gate_across_nodes': m0012,
  '0013_session_commands': m0013,
  '0014_node_links': m0014,
  '0015_session_paused': m0015,
};

/** Name of the newest migration (what a fully migrated database is at). */
export const LATEST_MIGRATION = Object.keys(MIGRATIONS).at(-1)!;

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

export interface MigrationReport {
  applied: string[];
  current: string | undefined;
}

export async function migrateToLatest(db: Db): Promise<MigrationReport> {
  const migrator = new Migrator({ db, provider: new StaticProvider() });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  const all = await migrator.getMigrations();
  const current = all.filter((m) => m.executedAt).map((m) => m.name).pop();
  return { applied, current };
}
