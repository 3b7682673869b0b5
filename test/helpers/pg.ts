import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A fresh PostgreSQL database per test file, on the throwaway cluster that scripts/test.sh starts
 * (PORTCULLIS_TEST_PG_URL points at its maintenance database).
 */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = process.env.PORTCULLIS_TEST_PG_URL;
  if (!admin) throw new Error('PORTCULLIS_TEST_PG_URL is not set: run the suite with scripts/test.sh, which starts a throwaway PostgreSQL cluster');
  const name = `pc_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Both storage back ends, for suites that must pass on each. */
export const DIALECTS = ['sqlite', 'postgres'] as const;
export type TestDialect = (typeof DIALECTS)[number];
