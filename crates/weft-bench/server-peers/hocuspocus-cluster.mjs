// One node of a Hocuspocus cluster, as scripts/scale-bench.sh runs three:
// @hocuspocus/extension-redis relays each document's changes between the
// nodes (pub/sub, and a Redis lock so one node stores a document at a
// time), @hocuspocus/extension-database keeps documents in PostgreSQL.
// From the environment: PORT, REDIS (redis://host:port/), DATABASE (a
// postgres:// URL), DEBOUNCE and MAX_DEBOUNCE (ms: the server stores a
// document DEBOUNCE after its last change, and at most MAX_DEBOUNCE after
// the first change not stored).
import { Server } from "@hocuspocus/server";
import { Redis } from "@hocuspocus/extension-redis";
import { Database } from "@hocuspocus/extension-database";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE });
// The whole document's state per row, as Hocuspocus's own SQLite
// extension keeps it.
await pool.query(
  "CREATE TABLE IF NOT EXISTS documents (name text PRIMARY KEY, data bytea NOT NULL)",
);

const redis = new URL(process.env.REDIS);
const server = new Server({
  address: "127.0.0.1",
  port: Number(process.env.PORT),
  quiet: true,
  debounce: Number(process.env.DEBOUNCE),
  maxDebounce: Number(process.env.MAX_DEBOUNCE),
  extensions: [
    new Redis({ host: redis.hostname, port: Number(redis.port) }),
    new Database({
      fetch: async ({ documentName }) => {
        const { rows } = await pool.query("SELECT data FROM documents WHERE name = $1", [
          documentName,
        ]);
        return rows[0]?.data ?? null;
      },
      store: async ({ documentName, state }) => {
        await pool.query(
          "INSERT INTO documents (name, data) VALUES ($1, $2) " +
            "ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data",
          [documentName, state],
        );
      },
    }),
  ],
});
await server.listen();
console.log(JSON.stringify({ listening: server.address.port }));
