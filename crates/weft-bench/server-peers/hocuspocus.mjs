// Hocuspocus with its SQLite extension, as scripts/server-bench.sh runs
// it: PORT and DATABASE (the SQLite file) from the environment. Each
// store is reported on stdout as a JSON line with the bytes written, so
// the benchmark knows when a document is on disk and what it takes.
import { Server } from "@hocuspocus/server";
import { SQLite } from "@hocuspocus/extension-sqlite";

class ReportingSQLite extends SQLite {
  constructor(configuration) {
    super(configuration);
    const store = this.configuration.store;
    this.configuration.store = async (data) => {
      await store(data);
      console.log(JSON.stringify({ stored: data.documentName, bytes: data.state.length }));
    };
  }
}

const server = new Server({
  address: "127.0.0.1",
  port: Number(process.env.PORT),
  quiet: true,
  extensions: [new ReportingSQLite({ database: process.env.DATABASE })],
});
await server.listen();
console.log(JSON.stringify({ listening: server.address.port }));
