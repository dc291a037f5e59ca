// Shared by the Node tests that need a real server: starts the weft-server
// binary on a free loopback port with its rooms in memory, and stops or
// kills it. No tests of its own.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
// Where cargo puts the binary: CARGO_TARGET_DIR (relative to the root, where cargo runs) when set.
const BINARY = resolve(ROOT, process.env.CARGO_TARGET_DIR || "target", "debug/weft-server");

let built = false;

/**
 * Builds the server as `cargo test --workspace` builds it (as e2e/lib/signal.mjs
 * does: after the native tests nothing is compiled, where `cargo build -p
 * weft-server` would build its dependencies again with other features).
 */
function build() {
  if (built) return;
  // Cargo's output goes to stderr: the test runner reads stdout.
  execFileSync("cargo", ["test", "--workspace", "--no-run", "--quiet", "--locked"], { cwd: ROOT, stdio: ["ignore", 2, 2] });
  built = true;
}

/** Prints an access token for `room` signed with the secret in `secretFile`. */
export function mintToken(secretFile, room, role = "write", ttl = "1h") {
  build();
  return execFileSync(BINARY, ["token", "--auth-secret-file", secretFile, "--room", room, "--role", role, "--ttl", ttl], { encoding: "utf8" }).trim();
}

/**
 * A server with its rooms in memory (a killed one comes back empty), on
 * `port` (default: any free one). `authSecretFile`: joins need tokens.
 */
export async function startServer({ port = 0, authSecretFile } = {}) {
  build();
  const args = ["--memory", "--port", String(port)];
  if (authSecretFile) args.push("--auth-secret-file", authSecretFile);
  const child = spawn(BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
  // Kept for failure messages, not printed: the server logs every connection.
  let log = "";
  child.stderr.setEncoding("utf8").on("data", (text) => (log = (log + text).slice(-20_000)));
  const lines = createInterface({ input: child.stdout });
  const [url] = await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(([code]) => {
      throw new Error(`weft-server exited with ${code}: ${log}`);
    }),
  ]);
  const end = async (signal) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await once(child, "exit");
  };
  return {
    signalingUrl: url.replace(/^http/, "ws") + "signal",
    port: Number(new URL(url).port),
    log: () => log,
    /** Kills it at once (SIGKILL), as a crash would. */
    kill: () => end("SIGKILL"),
    stop: () => end("SIGTERM"),
  };
}
