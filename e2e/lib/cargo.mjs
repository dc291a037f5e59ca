// The workspace's binaries (weft-server, weft-services), built once per
// test process.
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { E2E } from "./package.mjs";

const ROOT = join(E2E, "..");
// Where cargo puts the binaries: CARGO_TARGET_DIR (relative to the root, where cargo runs) when set.
const TARGET = resolve(ROOT, process.env.CARGO_TARGET_DIR || "target");

let built = false;

/** The path of the workspace binary `name`, built first if this process has not yet. */
export function workspaceBinary(name) {
  if (!built) {
    // Built as `cargo test --workspace` builds it (the same features
    // unified over the workspace, so after the native tests nothing is
    // compiled; `cargo build -p weft-server` would build its dependencies
    // again with other features: minutes of CI).
    execFileSync("cargo", ["test", "--workspace", "--no-run", "--quiet", "--locked"], { cwd: ROOT, stdio: "inherit" });
    built = true;
  }
  return join(TARGET, "debug", name);
}
