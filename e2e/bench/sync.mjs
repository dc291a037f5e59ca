// Sync budgets between separate headless Chromium processes over real
// WebRTC, weft (connect + weft-server) against yjs + y-webrtc (with its own
// signaling server, the closest equivalent) in the same run:
// - the time for a late joiner to receive the whole history of a trace;
// - edit-to-remote-visible latency (p50, p99) while both peers type.
// Prints figures and ratios; asserts nothing. Needs a loopback-only network
// namespace: run it through scripts/sync-budgets.sh. With `--snapshot`, only
// weft's late joiner, of the document a snapshot file holds (a large one:
// see scripts/large-budgets.sh), with the joiner's longest main-thread task.
//
//   node e2e/bench/sync.mjs [trace.json.gz]      (after building web/)
//   node e2e/bench/sync.mjs --snapshot <file>
import { spawn } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { buildApp } from "../lib/serve.mjs";
import { launchRtcContext } from "../lib/browser.mjs";
import { installPackedWeft } from "../lib/package.mjs";
import { startSignal } from "../lib/signal.mjs";
import { assertLoopbackOnly } from "../lib/netns.mjs";

assertLoopbackOnly();
const here = dirname(fileURLToPath(import.meta.url));
const snapshotPath = process.argv[2] === "--snapshot" ? process.argv[3] : undefined;
const tracePath = snapshotPath ? undefined : process.argv[2] ?? join(here, "../../crates/weft-traces/traces/automerge-paper.json.gz");
const publicDir = mkdtempSync(join(tmpdir(), "weft-sync-public-"));
if (snapshotPath) {
  copyFileSync(snapshotPath, join(publicDir, "large.bin"));
} else {
  const trace = JSON.parse(gunzipSync(readFileSync(tracePath)).toString());
  if (trace.kind === "concurrent") throw new Error("the sync budget replays sequential traces");
  writeFileSync(join(publicDir, "trace.json"), JSON.stringify({ patches: trace.txns.flatMap((t) => t.patches) }));
}

installPackedWeft();
const outDir = await buildApp(join(here, "sync-app"), { publicDir, target: "esnext" });
const weftSignal = await startSignal({ staticDir: outDir });
// y-webrtc's own signaling server, from its package.
const Y_PORT = 4444;
const ySignal = spawn(process.execPath, [join(here, "../node_modules/y-webrtc/bin/server.js")], {
  env: { ...process.env, PORT: String(Y_PORT), HOST: "127.0.0.1" },
  stdio: "ignore",
});
await sleep(500);
const signaling = { weft: weftSignal.signalingUrl, yjs: `ws://127.0.0.1:${Y_PORT}` };

const browsers = [];
async function newPeer() {
  const { browser, context } = await launchRtcContext();
  browsers.push(browser);
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e}`));
  if (process.env.DEBUG) page.on("console", (m) => console.error(`page: ${m.text()}`));
  await page.goto(weftSignal.url);
  await page.waitForFunction(() => typeof window.hold === "function");
  return page;
}
async function closeAll() {
  await Promise.all(browsers.splice(0).map((b) => b.close()));
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const LATE_TIMEOUT_MS = 30_000;
if (snapshotPath) {
  const url = signaling.weft;
  const holder = await newPeer();
  const { length, stateBytes } = await holder.evaluate(([r, s]) => window.holdSnapshot(r, s), ["large", url]);
  const joiner = await newPeer();
  const lateMs = await joiner.evaluate(([r, s, n, t]) => window.lateJoin("weft", r, s, n, t), ["large", url, length, LATE_TIMEOUT_MS]);
  await new Promise((r) => setTimeout(r, 200)); // long-task entries arrive after their task
  const longest = await joiner.evaluate(() => window.longestTask());
  await closeAll();
  ySignal.kill();
  await weftSignal.stop();
  const inSync = lateMs === null ? `never in sync within ${LATE_TIMEOUT_MS / 1000} s` : `${lateMs.toFixed(0)} ms`;
  console.log(`late joiner of a large document (${length} code units, state ${stateBytes} B), from connect() to in sync: ${inSync}; joiner's longest main-thread task ${longest.toFixed(0)} ms`);
  console.log(`targets: late joiner < 2 s: ${lateMs !== null && lateMs < 2000 ? "met" : "NOT met"}; no task over 50 ms: ${longest <= 50 ? "met" : "NOT met"}`);
  process.exit(0);
}
const TYPED = 400;
const INTERVAL_MS = 25;
const rows = {};
for (const impl of ["weft", "yjs"]) {
  const url = signaling[impl];
  console.error(`${impl}: late joiner`);
  const holder = await newPeer();
  const { length, stateBytes } = await holder.evaluate(([i, r, s]) => window.hold(i, r, s), [impl, `late-${impl}`, url]);
  const joiner = await newPeer();
  const lateMs = await joiner.evaluate(([i, r, s, n, t]) => window.lateJoin(i, r, s, n, t), [impl, `late-${impl}`, url, length, LATE_TIMEOUT_MS]);
  await closeAll();

  console.error(`${impl}: both typing`);
  const [a, b] = await Promise.all([newPeer(), newPeer()]);
  for (const p of [a, b]) await p.evaluate(([i, r, s]) => window.joinForTyping(i, r, s), [impl, `typing-${impl}`, url]);
  // Connected once an edit travels.
  await a.evaluate(() => window.peer.doc.insert(0, "!"));
  await b.waitForFunction(() => window.peer.receives.length > 0, null, { timeout: 30_000 });
  await Promise.all([a, b].map((p) => p.evaluate(() => { window.peer.sends = []; window.peer.receives = []; })));
  await Promise.all([a, b].map((p) => p.evaluate(([n, ms]) => window.type(n, ms), [TYPED, INTERVAL_MS])));
  await sleep(1000);
  const [pa, pb] = await Promise.all([a, b].map((p) => p.evaluate(() => window.peer)));
  const latencies = [];
  for (const [from, to] of [[pa, pb], [pb, pa]]) {
    from.sends.forEach((t, i) => to.receives[i] !== undefined && latencies.push(to.receives[i] - t));
  }
  await closeAll();
  rows[impl] = { length, stateBytes, lateMs, p50: pct(latencies, 50), p99: pct(latencies, 99), samples: latencies.length };
}
ySignal.kill();
await weftSignal.stop();

const w = rows.weft;
const y = rows.yjs;
console.log(`late joiner: the whole history of ${tracePath.split("/").pop()} (${w.length} characters), from connect() to in sync, connection set-up included`);
const late = (ms) => (ms === null ? `never in sync within ${LATE_TIMEOUT_MS / 1000} s` : `${ms.toFixed(0)} ms`);
const over = (row) => (row.lateMs === null && row.stateBytes > 262_144 ? ": its state is one data-channel message of " + row.stateBytes + " B, and Chromium refuses messages over 262,144 B" : "");
console.log(`weft             ${late(w.lateMs)} (state ${w.stateBytes} B, sent in 16 KiB frames)`);
console.log(`yjs + y-webrtc   ${late(y.lateMs)} (state ${y.stateBytes} B)${over(y)}`);
console.log(`edit to remote-visible while both type (${TYPED} edits each, every ${INTERVAL_MS} ms):`);
console.log(`weft             p50 ${w.p50.toFixed(2)} ms  p99 ${w.p99.toFixed(2)} ms  (${w.samples} samples)`);
console.log(`yjs + y-webrtc   p50 ${y.p50.toFixed(2)} ms  p99 ${y.p99.toFixed(2)} ms  (${y.samples} samples)`);
console.log(`weft / yjs: late joiner ${w.lateMs !== null && y.lateMs !== null ? `${(w.lateMs / y.lateMs).toFixed(2)}x` : "n/a"}  p50 ${(w.p50 / y.p50).toFixed(2)}x  p99 ${(w.p99 / y.p99).toFixed(2)}x`);
console.log(`targets: late joiner < 300 ms: ${w.lateMs !== null && w.lateMs < 300 ? "met" : "NOT met"}; p99 < 20 ms: ${w.p99 < 20 ? "met" : "NOT met"}`);
