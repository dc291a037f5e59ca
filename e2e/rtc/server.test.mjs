// The server as one more peer: it keeps each room's document while the
// browsers come and go, and carries edits where WebRTC cannot. Real
// Chromium processes and a real weft-server, in a loopback-only network
// namespace (`npm run test:rtc`).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { buildApp } from "../lib/serve.mjs";
import { E2E, installPackedWeft } from "../lib/package.mjs";
import { inFiles, launchRtcContext, openSyncPage } from "../lib/browser.mjs";
import { startSignal } from "../lib/signal.mjs";
import { assertLoopbackOnly } from "../lib/netns.mjs";

let server;

before(async () => {
  assertLoopbackOnly();
  installPackedWeft();
  server = await startSignal({ staticDir: await buildApp(join(E2E, "sync-app")) });
});

after(async () => {
  await server?.stop();
});

/** A page in a browser process (and profile) of its own; `noWebRtc` removes WebRTC from it. */
/** A page of the sync app in a browser of its own. */
const newPeer = (options) => openSyncPage(server.url, options);

const text = (p) => p.evaluate(() => window.peer.doc.toString());

test("Ada types alone and closes her browser; Bob opens the room later and finds her text", async () => {
  const room = `alone-${Date.now()}`;
  const ada = await newPeer();
  await ada.page.evaluate((room) => window.join(room), room);
  await ada.page.waitForFunction(() => window.peer.provider.status === "synced" && window.peer.provider.peers.some((p) => p.via === "server"));
  await ada.page.evaluate(() => window.peer.doc.insert(0, "Ada's paragraph, written while nobody else was there."));
  // In sync with the server (its session has everything) before she goes.
  await ada.page.waitForFunction(() => window.peer.provider.status === "synced");
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(ada.page.errors, []);
  await ada.browser.close();

  const bob = await newPeer();
  await bob.page.evaluate((room) => window.join(room), room);
  await bob.page.waitForFunction(() => window.peer.doc.toString().length > 0, null, { timeout: 20_000 });
  assert.equal(await text(bob.page), "Ada's paragraph, written while nobody else was there.");
  const server = await bob.page.evaluate(() => window.peer.provider.peers.find((p) => p.via === "server"));
  assert.equal(server.peer, "server");
  assert.deepEqual(bob.page.errors, []);
  await bob.browser.close();
});

test("two browsers without WebRTC still edit together through the server", async () => {
  const room = `relayed-${Date.now()}`;
  const a = await newPeer({ noWebRtc: true });
  const b = await newPeer({ noWebRtc: true });
  for (const p of [a, b]) await p.page.evaluate((room) => window.join(room), room);
  await a.page.evaluate(() => window.peer.doc.insert(0, "from a"));
  await b.page.waitForFunction(() => window.peer.doc.toString().includes("from a"), null, { timeout: 20_000 });
  await b.page.evaluate(() => window.peer.doc.insert(window.peer.doc.length, ", from b"));
  await a.page.waitForFunction(() => window.peer.doc.toString() === "from a, from b", null, { timeout: 20_000 });
  // Neither has a WebRTC connection: the server carried everything.
  for (const p of [a, b]) {
    const vias = await p.page.evaluate(() => window.peer.provider.peers.map((x) => x.via));
    assert.deepEqual(vias, ["server"]);
  }
  for (const p of [a, b]) await p.browser.close();
});

test("in Node (no WebRTC), connect syncs through the server alone", async () => {
  const room = `node-${Date.now()}`;
  // Node 20 has WebSocket behind a flag (Node 22 and later: always).
  const script = `
    import { Doc, connect } from "weft";
    const until = async (f) => { const end = Date.now() + 10000; while (!f()) { if (Date.now() > end) throw new Error("timed out"); await new Promise((r) => setTimeout(r, 20)); } };
    const bot = new Doc();
    const provider = connect(bot, { room: ${JSON.stringify(room)}, signalingUrl: ${JSON.stringify(server.signalingUrl)} });
    await until(() => provider.status === "synced" && provider.peers.length === 1);
    bot.insert(0, "written by a bot");
    await until(() => provider.peers[0].synced);
    await new Promise((r) => setTimeout(r, 200));
    provider.disconnect();
    const reader = new Doc();
    const again = connect(reader, { room: ${JSON.stringify(room)}, signalingUrl: ${JSON.stringify(server.signalingUrl)} });
    await until(() => reader.toString() === "written by a bot");
    again.disconnect();
    console.log(JSON.stringify({ text: reader.toString(), via: again.peers.map((p) => p.via) }));
    process.exit(0);
  `;
  const out = execFileSync(process.execPath, ["--experimental-websocket", "--no-warnings", "--input-type=module", "-e", script], { cwd: E2E, encoding: "utf8", timeout: 30_000 });
  assert.equal(JSON.parse(out.trim().split("\n").pop()).text, "written by a bot");
});

test("the server killed while two browsers type keeps every edit it acknowledged, and the browsers resend the rest", async () => {
  const room = `killed-${Date.now()}`;
  let own = await startSignal({ staticDir: await buildApp(join(E2E, "sync-app")) });
  const port = Number(new URL(own.url).port);
  const { dataDir } = own;
  const open = async () => {
    const { browser, context } = await launchRtcContext();
    const page = await context.newPage();
    await page.goto(own.url);
    await page.waitForFunction(() => window.ready === true);
    return { page, browser };
  };
  const [a, b] = [await open(), await open()];
  for (const p of [a, b]) await p.page.evaluate((room) => window.join(room), room);
  const typing = [a, b].map((p, i) => p.page.evaluate((tag) => window.typeRandomly(150, 15, tag), "ab"[i]));
  await new Promise((r) => setTimeout(r, 1200));
  await own.kill();
  await Promise.all(typing);
  // Nothing reaches the server until the check: what it holds is what it stored.
  const saved = [];
  for (const p of [a, b]) {
    saved.push(await p.page.evaluate(() => {
      window.peer.provider.disconnect();
      return window.peer.log.savedOnServer && Array.from(window.peer.log.savedOnServer);
    }));
  }
  assert.ok(saved.every((s) => s && s.length > 0), "the server acknowledged edits before it was killed");

  own = await startSignal({ port, dataDir, staticDir: await buildApp(join(E2E, "sync-app")) });
  try {
    const reader = await open();
    await reader.page.evaluate((room) => window.join(room), room);
    await reader.page.waitForFunction(() => window.peer.provider.status === "synced" && window.peer.provider.peers.length === 1, null, { timeout: 20_000 });
    // Every state acknowledged as stored is in what the restarted server has.
    const included = await reader.page.evaluate((saved) => {
      const { Doc } = window.weft;
      const same = (x, y) => x.length === y.length && x.every((v, i) => v === y[i]);
      return saved.map((state) => {
        const probe = Doc.load(new Uint8Array(state));
        probe.applyUpdate(window.peer.doc.encodeState());
        return same(probe.version(), window.peer.doc.version());
      });
    }, saved);
    assert.deepEqual(included, [true, true]);
    // Back online, the browsers resend what the server never stored.
    for (const p of [a, b]) {
      await p.page.evaluate((room) => {
        window.peer.provider = window.weft.connect(window.peer.doc, { room, signalingUrl: window.signalingUrl });
      }, room);
    }
    const each = 150 - Math.floor(150 / 7);
    for (const p of [a, b, reader]) await p.page.waitForFunction((n) => window.peer.doc.length === n, 2 * each, { timeout: 20_000 });
    const texts = await Promise.all([a, b, reader].map((p) => p.page.evaluate(() => window.peer.doc.toString())));
    assert.ok(texts.every((t) => t === texts[0]), "all three converge on every edit of both");
    await reader.browser.close();
  } finally {
    await own.stop();
    for (const p of [a, b]) await p.browser.close();
  }
});

test("a peer that cannot be reached is named, and the status is not synced while nothing carries its edits", async () => {
  const room = `cutoff-${Date.now()}`;
  // Without WebRTC, and with the room kept off the server (so it cannot carry the edits either).
  const a = await newPeer({ noWebRtc: true });
  const b = await newPeer({ noWebRtc: true });
  for (const p of [a, b]) await p.page.evaluate((room) => window.join(room, { storeOnServer: false }), room);
  const ids = await Promise.all([a, b].map((p) => p.page.evaluate(() => window.peer.provider.peer)));
  await a.page.waitForFunction((other) => window.peer.provider.unreachable.includes(other), ids[1], { timeout: 30_000 });
  await b.page.waitForFunction((other) => window.peer.provider.unreachable.includes(other), ids[0], { timeout: 30_000 });
  for (const p of [a, b]) assert.notEqual(await p.page.evaluate(() => window.peer.provider.status), "synced");
  for (const p of [a, b]) await p.browser.close();
});

const stored = (text) => inFiles(server.dataDir, text);

test("an encrypted room is kept on the server as sealed records it cannot read, compacted, and replayed to whoever comes later", async () => {
  const room = `sealed-${Date.now()}`;
  const secret = "only the two of us";
  const ada = await newPeer({ noWebRtc: true });
  await ada.page.evaluate(([room, secret]) => window.join(room, { secret }), [room, secret]);
  await ada.page.waitForFunction(() => window.peer.provider.status === "synced", null, { timeout: 20_000 });
  // Typed and taken back many times: 200 records of 1 KB that a checkpoint replaces.
  await ada.page.evaluate(async () => {
    const { doc } = window.peer;
    for (let i = 0; i < 200; i++) {
      doc.insert(0, `draft ${i} `.padEnd(1000, "~"));
      await new Promise((r) => setTimeout(r, 5));
      doc.delete(0, 1000);
      await new Promise((r) => setTimeout(r, 5));
    }
    doc.insert(0, "SEALED-MARKER: the plan stays between us");
  });
  await ada.page.waitForFunction(() => window.peer.provider.savedOnServer, null, { timeout: 20_000 });
  assert.deepEqual(ada.page.errors, []);
  const log = await ada.page.evaluate(() => window.peer.log.errors);
  assert.deepEqual(log, []);
  await ada.browser.close();

  const bob = await newPeer({ noWebRtc: true });
  await bob.page.evaluate(([room, secret]) => window.join(room, { secret }), [room, secret]);
  await bob.page.waitForFunction(() => window.peer.doc.toString() === "SEALED-MARKER: the plan stays between us", null, { timeout: 20_000 });
  await bob.page.waitForFunction(() => window.peer.provider.server?.synced === true);
  assert.deepEqual(await bob.page.evaluate(() => window.peer.provider.server), { synced: true, sealed: true });
  // Another secret finds nothing of it.
  const eve = await newPeer({ noWebRtc: true });
  await eve.page.evaluate((room) => window.join(room, { secret: "a guess" }), room);
  await eve.page.waitForFunction(() => window.peer.provider.status === "synced", null, { timeout: 20_000 });
  assert.equal(await eve.page.evaluate(() => window.peer.doc.toString()), "");
  for (const p of [bob, eve]) await p.browser.close();

  // The server never had the text, and the records were folded away.
  assert.equal(stored("SEALED-MARKER"), false);
  assert.equal(stored("draft 1"), false);
  const health = await (await fetch(new URL("/health", server.url))).json();
  assert.ok(health.stored_bytes < 100_000, `stored ${health.stored_bytes} bytes for 200 KB of records`);
});
