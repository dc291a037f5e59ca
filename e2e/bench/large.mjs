// Large-document budgets in headless Chromium (issue 16, target 5): a
// snapshot of megabytes of text with a long history (written by the
// `snapshot` example of weft-bench), loaded ready to edit, typed into,
// stored in IndexedDB and opened again from storage, each in a freshly
// loaded page; every main-thread task longer than 50 ms is recorded by a
// PerformanceObserver. Prints figures against the targets; asserts
// nothing but that every open gives the whole document back.
//
//   node e2e/bench/large.mjs <snapshot.bin>      (after building web/)
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../lib/serve.mjs";
import { launch } from "../lib/browser.mjs";
import { installPackedWeft } from "../lib/package.mjs";
import { trackWasmMemories } from "../lib/wasm-memory.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const snapshotPath = process.argv[2];
if (!snapshotPath) throw new Error("usage: node e2e/bench/large.mjs <snapshot.bin>");
const publicDir = mkdtempSync(join(tmpdir(), "weft-large-public-"));
copyFileSync(snapshotPath, join(publicDir, "large.bin"));

installPackedWeft();
const server = await serve(join(here, "large-app"), { publicDir, target: "esnext" });
const browser = await launch();
const page = await (await browser.newContext()).newPage();
await page.addInitScript(trackWasmMemories);
page.on("pageerror", (e) => console.error(`page error: ${e}`));
const fresh = async () => {
  await page.goto(server.url);
  await page.waitForFunction(() => window.ready === true);
};
const run = async (fn, ...args) => {
  await fresh(); // every phase in a freshly loaded page, as when someone opens the app
  return page.evaluate(([f, a]) => window[f](...a), [fn, args]);
};

const KEYSTROKES = 200;
const loaded = await run("loadAndType", KEYSTROKES);
const adopted = await run("adopt");
const stored = await run("store", "large");
const OPENS = 3;
const opens = [];
for (let i = 0; i < OPENS; i++) opens.push(await run("openStored", "large"));
await browser.close();
await server.close();

const mb = (b) => (b / 1e6).toFixed(2);
const ms = (x) => x.toFixed(1);
const tasks = (p) => (p.longTasks.length ? `${p.longTasks.length} tasks over 50 ms, longest ${ms(p.longest)} ms` : "no task over 50 ms");
const text = loaded.load.utf8Bytes;
opens.sort((a, b) => a.ms - b.ms);
const open = opens[OPENS >> 1];
console.log(`document: ${mb(text)} MB of text (UTF-8), snapshot ${mb(loaded.snapshotBytes)} MB; every phase in a freshly loaded page`);
console.log(`load from bytes, ready to edit: ${ms(loaded.load.ms)} ms; ${tasks(loaded.load)}; wasm memory ${mb(loaded.load.wasmBytes)} MB = ${(loaded.load.wasmBytes / text).toFixed(2)}x the text`);
console.log(`typing ${KEYSTROKES} keystrokes at scattered places: p50 ${loaded.typing.p50.toFixed(2)} ms, slowest ${ms(loaded.typing.max)} ms; ${tasks(loaded.typing)}`);
console.log(`merged into an empty document (a late joiner's part), ready to edit: ${ms(adopted.ms)} ms; ${tasks(adopted)}`);
console.log(`store (write, compact, close): ${ms(stored.ms)} ms; ${tasks(stored)}`);
console.log(`open from storage, ready to edit: ${ms(open.ms)} ms (median of ${OPENS}: ${opens.map((o) => ms(o.ms)).join(", ")}); ${tasks(open)}`);
const longest = Math.max(loaded.load.longest, loaded.typing.longest, adopted.longest, stored.longest, ...opens.map((o) => o.longest));
const met = (ok) => (ok ? "met" : "NOT met");
console.log(
  `targets: open from storage ≤ 50 ms: ${met(open.ms <= 50)}; no main-thread task over 50 ms: ${met(longest <= 50)} (longest ${ms(longest)} ms); ` +
    `wasm memory ≤ 3x the text: ${met(loaded.load.wasmBytes <= 3 * text)}`,
);
// Each open adds its two edits to what the next one finds.
const whole = loaded.load.length;
const short = opens.filter((o) => o.length < whole);
if (short.length > 0) {
  console.error(`an open from storage gave ${short[0].length} of ${whole} code units`);
  process.exit(1);
}
