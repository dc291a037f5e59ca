// Packaging smoke tests: the packed npm package works from a Vite app (built
// and served, and in the dev server) in headless Chromium, and from Node.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "vite";
import { serve } from "../lib/serve.mjs";
import { E2E, installPackedWeft } from "../lib/package.mjs";
import { launch } from "../lib/browser.mjs";

const root = join(E2E, "vite-app");

before(() => installPackedWeft());

async function resultIn(url) {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById("result")?.textContent !== "loading", null, { timeout: 20000 });
    const text = await page.textContent("#result");
    assert.deepEqual(errors, []);
    return text;
  } finally {
    await browser.close();
  }
}

test("a Vite production build imports weft with no plugins and runs it", async () => {
  const server = await serve(root);
  try {
    const assets = readdirSync(join(server.outDir, "assets"));
    const wasm = assets.find((f) => f.endsWith(".wasm"));
    assert.ok(wasm, `the .wasm is emitted as an asset (got ${assets.join(", ")})`);
    assert.ok(statSync(join(server.outDir, "assets", wasm)).size > 10_000);
    assert.equal(await resultIn(server.url), "ok: hello 😀 from vite");
  } finally {
    await server.close();
  }
});

test("the Vite dev server serves weft with no configuration", async () => {
  const server = await createServer({ root, logLevel: "error", server: { host: "127.0.0.1", port: 0 } });
  await server.listen();
  try {
    const url = server.resolvedUrls.local[0];
    assert.equal(await resultIn(url), "ok: hello 😀 from vite");
  } finally {
    await server.close();
  }
});

test("node imports weft (ESM) and uses it at once", () => {
  const script = "import { Doc } from 'weft'; const d = new Doc(); d.insert(0, 'hi 😀'); console.log(d.toString(), d.length);";
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: E2E }).toString().trim();
  assert.equal(out, "hi 😀 5");
});

test("the package's types serve a TypeScript user", () => {
  const tsc = join(E2E, "node_modules/typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", join(E2E, "types/tsconfig.json")], { cwd: E2E, stdio: "inherit" });
});
