import type { Kysely } from 'kysely';

// Gateway nodes on one database find each other (broker/nodes.ts): each node registers the URL
// other nodes reach it at and its TLS certificate (the only one they trust for it), and keeps its row
// fresh while it runs. A node that proxies a watcher to the node holding a session writes a
// one-time ticket (only its hash is stored) that the holding node redeems.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('gateway_nodes')
    .addColumn('node', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('cert_pem', 'text')
    .addColumn('seen_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('node_tickets')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('node', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('source_ip', 'text')
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('node_tickets').execute();
  await db.schema.dropTable('gateway_nodes').execute();
}
