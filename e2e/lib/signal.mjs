// Starts the weft-server binary (serving a built app as static files) on a
// free loopback port, and stops it.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { createInterface } from "node:readline";
import { join, resolve } from "node:path";
import { E2E } from "./package.mjs";

const ROOT = join(E2E, "..");
// Where cargo puts the binary: CARGO_TARGET_DIR (relative to the root, where cargo runs) when set.
const TARGET = resolve(ROOT, process.env.CARGO_TARGET_DIR || "target");

/**
 * `dataDir`: where it keeps rooms (a fresh temporary folder unless given:
 * pass the same one to a restarted server). `authSecretFile`: joins need
 * tokens signed with the secret in it.
 */
export async function startSignal({ staticDir, port = 0, dataDir = mkdtempSync(join(tmpdir(), "weft-data-")), authSecretFile } = {}) {
  // Built as `cargo test --workspace` builds it (the same features
  // unified over the workspace, so after the native tests nothing is
  // compiled; `cargo build -p weft-server` would build its dependencies
  // again with other features: minutes of CI).
  execFileSync("cargo", ["test", "--workspace", "--no-run", "--quiet", "--locked"], { cwd: ROOT, stdio: "inherit" });
  const args = ["--port", String(port), "--data", dataDir];
  if (staticDir) args.push("--static", staticDir);
  if (authSecretFile) args.push("--auth-secret-file", authSecretFile);
  const child = spawn(join(TARGET, "debug/weft-server"), args, { stdio: ["ignore", "pipe", "inherit"] });
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
