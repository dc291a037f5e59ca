// Installs the built npm package into this folder from a tarball, exactly as
// a user's `npm install` would (the web/ package must be built first).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const E2E = dirname(dirname(fileURLToPath(import.meta.url)));
const WEB = join(E2E, "..", "web");

let installed = false;

export function installPackedWeft() {
  if (installed) return;
  const dest = mkdtempSync(join(tmpdir(), "weft-pack-"));
  execFileSync("npm", ["pack", "--silent", "--pack-destination", dest], { cwd: WEB, stdio: ["ignore", "ignore", "inherit"] });
  const tarball = join(dest, readdirSync(dest).find((f) => f.endsWith(".tgz")));
  // --prefer-offline: npm takes what the registry said of the package's
  // optional peer dependencies (CodeMirror) from its cache, however old,
  // instead of asking again: inside the loopback-only namespace of the
  // WebRTC tests, asking retries an unreachable registry for over two
  // minutes per test file. Not cached, they are fetched as before.
  execFileSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefer-offline", "--silent", tarball], { cwd: E2E, stdio: "inherit" });
  installed = true;
}
