// Builds a Vite app folder and serves it on 127.0.0.1 (one port for the
// server's life, so browser storage persists across page and browser restarts).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, preview } from "vite";

/** Builds the Vite app in `root` into a new temporary folder; returns it. */
export async function buildApp(root, { publicDir, target } = {}) {
  const outDir = mkdtempSync(join(tmpdir(), "weft-app-"));
  await build({ root, publicDir, logLevel: "error", build: { outDir, emptyOutDir: true, target } });
  return outDir;
}

export async function serve(root, options = {}) {
  const outDir = await buildApp(root, options);
  const server = await preview({ root, logLevel: "error", build: { outDir }, preview: { host: "127.0.0.1", port: 0 } });
  return { url: server.resolvedUrls.local[0], outDir, close: () => server.close() };
}
