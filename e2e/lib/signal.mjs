// Starts the weft-server binary (serving a built app as static files) on a
// free loopback port, and stops it.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { workspaceBinary } from "./cargo.mjs";

/**
 * `dataDir`: where it keeps rooms (a fresh temporary folder unless given:
 * pass the same one to a restarted server). `authSecretFile`: joins need
 * tokens signed with the secret in it. `postgres` (a URL): keeps rooms in
 * that database instead (no `dataDir`); with `redis` (a URL) too, it is one
 * node of several sharing both.
 */
export async function startSignal({ staticDir, port = 0, dataDir, authSecretFile, postgres, redis } = {}) {
  const args = ["--port", String(port)];
  if (postgres) args.push("--postgres", postgres);
  else args.push("--data", (dataDir ??= mkdtempSync(join(tmpdir(), "weft-data-"))));
  if (redis) args.push("--redis", redis);
  if (staticDir) args.push("--static", staticDir);
  if (authSecretFile) args.push("--auth-secret-file", authSecretFile);
  const child = spawn(workspaceBinary("weft-server"), args, { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const [url] = await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(([code]) => { throw new Error(`weft-server exited with ${code}`); }),
  ]);
  return {
    url,
    dataDir,
    signalingUrl: url.replace(/^http/, "ws") + "signal",
    /** Kills it at once (SIGKILL), as a crash or power cut would. */
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await once(child, "exit");
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}
