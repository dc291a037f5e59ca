// Size and speed budgets of the npm package (issue: size at most 128 KB of
// gzipped wasm; replaying a trace in headless Chromium faster than yjs,
// loro-crdt, Automerge and json-joy in the same run, and retaining less heap
// than yjs). Prints every figure and the ratios; asserts nothing.
//
// Retained heap = growth of the JS heap in use after a full GC plus growth of
// all WebAssembly memories. Linear memory never shrinks, so for the wasm
// libraries (weft, loro, automerge) it is an upper bound: peak, not live.
//
//   node e2e/bench/run.mjs [trace.json.gz]      (after building web/)
import { gunzipSync, gzipSync } from "node:zlib";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../lib/serve.mjs";
import { launch } from "../lib/browser.mjs";
import { installPackedWeft } from "../lib/package.mjs";
import { trackWasmMemories } from "../lib/wasm-memory.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const tracePath = process.argv[2] ?? join(here, "../../crates/weft-traces/traces/automerge-paper.json.gz");
const IMPLS = ["weft", "yjs", "loro", "automerge", "json-joy"];

// --- size ---
const wasm = readFileSync(join(here, "../../web/wasm/weft_wasm_bg.wasm"));
const gz = gzipSync(wasm, { level: 9 }).length;
console.log(`weft wasm: ${wasm.length} bytes, ${gz} gzipped (budget 131072): ${gz <= 131072 ? "within" : "OVER"}`);

// --- trace: flat patches, positions converted to UTF-16 ---
const trace = JSON.parse(gunzipSync(readFileSync(tracePath)).toString());
if (trace.kind === "concurrent") throw new Error("the budget replays sequential traces");
const patches = trace.txns.flatMap((t) => t.patches);
const astral = /[\u{10000}-\u{10FFFF}]/u;
if (astral.test(trace.endContent) || patches.some((p) => astral.test(p[2]))) {
  throw new Error("this trace has astral characters: code points and UTF-16 differ (not supported here yet)");
}
const publicDir = mkdtempSync(join(tmpdir(), "weft-bench-public-"));
writeFileSync(join(publicDir, "trace.json"), JSON.stringify({ patches, end: trace.endContent }));

// --- page ---
installPackedWeft();
const server = await serve(join(here, "app"), { publicDir, target: "esnext" });
const url = server.url;
const browser = await launch({ args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });

const rows = [];
for (const name of IMPLS) {
  const page = await browser.newPage();
  await page.addInitScript(trackWasmMemories);
  const cdp = await page.context().newCDPSession(page);
  await page.goto(url);
  await page.waitForFunction(() => window.ready === true);
  // JS heap in use after a full GC, plus the size of every wasm memory.
  const heap = async () => {
    await cdp.send("HeapProfiler.collectGarbage");
    const js = (await cdp.send("Runtime.getHeapUsage")).usedSize;
    const wasmBytes = await page.evaluate(() => window.__wasmMemories.reduce((n, m) => n + m.buffer.byteLength, 0));
    return js + wasmBytes;
  };
  // The trace is fetched, parsed and its garbage collected before the
  // clock starts: the same for every implementation, and nobody's cost.
  await page.evaluate(() => window.loadTrace());
  const before = await heap();
  const result = await page.evaluate((n) => window.replay(n), name);
  const retained = (await heap()) - before;
  rows.push({ name, ...result, retained });
  console.log(`${name.padEnd(10)} replay ${result.ms.toFixed(1).padStart(9)} ms  retained ${String(retained).padStart(10)} B  ok ${result.ok}`);
  await page.close();
}

// --- history: the text at earlier versions ---
const PAST = ["weft", "loro", "automerge"];
const past = {};
for (const name of PAST) {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.ready === true);
  past[name] = await page.evaluate((n) => window.past(n), name);
  await page.close();
}
await browser.close();
await server.close();

const weft = rows[0];
console.log(`\n${patches.length} patches of ${tracePath.split("/").pop()}, one API call per patch, headless Chromium`);
for (const r of rows.slice(1)) {
  console.log(`weft / ${r.name.padEnd(10)} replay ${(weft.ms / r.ms).toFixed(3)}x  retained ${(weft.retained / r.retained).toFixed(3)}x`);
}
const slower = rows.slice(1).filter((r) => r.ms <= weft.ms).map((r) => r.name);
const yjs = rows.find((r) => r.name === "yjs");
console.log(`\ntext at an earlier version (after that share of the patches), ms; weft also as loaded from its snapshot`);
console.log(`${"share".padEnd(6)} ${PAST.map((n) => n.padStart(10)).join(" ")} ${"weft loaded".padStart(12)}`);
past.weft.rows.forEach((row, i) => {
  const cells = PAST.map((n) => past[n].rows[i].ms.toFixed(1).padStart(10));
  console.log(`${String(row.share * 100).padStart(4)}%  ${cells.join(" ")} ${row.loadedMs.toFixed(1).padStart(12)}`);
});
const worst = Math.max(...past.weft.rows.flatMap((r) => [r.ms, r.loadedMs]));
const ok = PAST.map((n) => `${n} ${past[n].ok ? "ok" : "WRONG"}`).join(", ");
console.log(`weft's slowest: ${worst.toFixed(1)} ms (target under 30 ms); final texts: ${ok}`);
const total = (n) => past[n].rows.reduce((s, r) => s + r.ms, 0);
for (const n of PAST.slice(1)) {
  console.log(`weft / ${n.padEnd(10)} text at a version ${(total("weft") / total(n)).toFixed(3)}x (all shares together)`);
}
console.log(`faster than every peer: ${slower.length === 0 ? "yes" : `no (${slower.join(", ")})`}; retains less than yjs: ${weft.retained < yjs.retained ? "yes" : "no"}`);
