// Peer-to-peer sync between separate headless Chromium processes over real
// WebRTC data channels, found through the real weft-server server. Runs
// only in a loopback-only network namespace (`npm run test:rtc`).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildApp } from "../lib/serve.mjs";
import { E2E, installPackedWeft } from "../lib/package.mjs";
import { launchRtcContext } from "../lib/browser.mjs";
import { startSignal } from "../lib/signal.mjs";
import { assertLoopbackOnly } from "../lib/netns.mjs";

let signal;
const browsers = [];

before(async () => {
  assertLoopbackOnly();
  installPackedWeft();
  signal = await startSignal({ staticDir: await buildApp(join(E2E, "sync-app")) });
});

after(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await signal?.stop();
});

/** A page in a browser process of its own. */
async function newPeer() {
  const { browser, context } = await launchRtcContext();
  browsers.push(browser);
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  if (process.env.DEBUG) page.on("console", (m) => console.log(`page: ${m.text()}`));
  await page.goto(signal.url);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

const text = (p) => p.evaluate(() => window.peer.doc.toString());
const log = (p) => p.evaluate(() => window.peer.log);

/** Waits until every page holds the same text, and returns it. */
async function converged(pages, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const texts = await Promise.all(pages.map(text));
    if (texts.every((t) => t === texts[0])) return texts[0];
    if (Date.now() > deadline) {
      const states = await Promise.all(pages.map((p) => p.evaluate(() => ({ me: window.peer.provider.peer, status: window.peer.provider.status, peers: window.peer.provider.peers, log: window.peer.log }))));
      assert.fail(`no convergence: lengths ${texts.map((t) => t.length)}; ${JSON.stringify(states).slice(0, 3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForStatus(page, status) {
  try {
    await page.waitForFunction((s) => window.peer.provider.status === s, status, { timeout: 20_000 });
  } catch (err) {
    const state = await page.evaluate(() => ({ status: window.peer.provider.status, peers: window.peer.provider.peers, log: window.peer.log }));
    throw new Error(`status not ${status}: ${JSON.stringify(state).slice(0, 2000)}`, { cause: err });
  }
}

async function typingTogether(n) {
  const room = `typing-${n}-${Date.now()}`;
  const pages = await Promise.all(Array.from({ length: n }, newPeer));
  await Promise.all(pages.map((p) => p.evaluate((room) => window.join(room), room)));
  await Promise.all(pages.map((p) => p.waitForFunction((n) => window.people().length === n - 1, n, { timeout: 20_000 })));
  // Everyone types at once, each with its own letter.
  const letters = "abcdefgh";
  await Promise.all(pages.map((p, i) => p.evaluate((tag) => window.typeRandomly(60, 5, tag), letters[i])));
  const final = await converged(pages);
  const each = 60 - Math.floor(60 / 7);
  assert.equal(final.length, each * n);
  for (const letter of letters.slice(0, n)) assert.equal(final.split(letter).length - 1, each, `all of ${letter} arrived`);
  for (const p of pages) {
    await waitForStatus(p, "synced");
    assert.deepEqual(p.errors, []);
    assert.deepEqual((await log(p)).errors, []);
    // Everyone directly, over WebRTC (the server's replica besides).
    assert.deepEqual((await log(p)).joined.filter((e) => e.via !== "server").map((e) => e.via), Array(n - 1).fill("webrtc"));
  }
  await Promise.all(pages.map((p) => p.context().browser().close()));
}

test("two browsers typing at once converge", () => typingTogether(2));

test("four browsers typing at once converge", () => typingTogether(4));

test("a late joiner receives a 1 MB document", async () => {
  const room = `late-${Date.now()}`;
  const [a, b] = await Promise.all([newPeer(), newPeer()]);
  await a.evaluate((room) => {
    window.join(room);
    const line = "The quick brown fox jumps over the lazy dog, 0123456789 ✓ 😀.\n";
    const { doc } = window.peer;
    while (doc.length < 1_000_000) doc.insert(Math.floor(doc.length / 2), line);
  }, room);
  // The jobs the joiner gives the package's Worker.
  await b.evaluate(() => {
    const Native = window.Worker;
    window.workerJobs = [];
    window.Worker = class extends Native {
      postMessage(job, transfer) {
        window.workerJobs.push(job.kind);
        return super.postMessage(job, transfer);
      }
    };
  });
  const started = Date.now();
  await b.evaluate((room) => window.join(room), room);
  await b.waitForFunction(() => window.peer.doc.length >= 1_000_000, null, { timeout: 30_000 });
  const elapsed = Date.now() - started;
  assert.equal(await converged([a, b]), await text(a));
  // The server's replica and the other browser may both send the room
  // before the first copy is adopted: each is checked in the Worker.
  const jobs = await b.evaluate(() => window.workerJobs);
  assert.ok(jobs.length >= 1 && jobs.every((kind) => kind === "check"), `the snapshot was checked in the Worker before it was adopted (${jobs})`);
  await waitForStatus(b, "synced");
  console.log(`late joiner in sync with 1 MB after ${elapsed} ms (connection set-up included)`);
  await Promise.all([a, b].map((p) => p.context().browser().close()));
});

test("a peer cut off keeps editing and converges after reconnecting", async () => {
  const room = `cut-${Date.now()}`;
  const [a, b] = await Promise.all([newPeer(), newPeer()]);
  await a.evaluate((room) => window.join(room), room);
  await b.evaluate((room) => window.join(room), room);
  await a.evaluate(() => window.peer.doc.insert(0, "shared. "));
  await converged([a, b]);
  await b.evaluate(() => window.peer.provider.disconnect());
  await a.waitForFunction(() => window.people().length === 0);
  await a.evaluate(() => window.peer.doc.insert(0, "A offline? no, B is. "));
  await b.evaluate(() => window.peer.doc.insert(window.peer.doc.length, "B typed alone."));
  assert.notEqual(await text(a), await text(b));
  // Back online: a new provider for the same document.
  await b.evaluate((room) => {
    const { doc } = window.peer;
    window.peer.provider = window.weft.connect(doc, { room, signalingUrl: window.signalingUrl });
  }, room);
  const final = await converged([a, b]);
  assert.equal(final, "A offline? no, B is. shared. B typed alone.");
  await Promise.all([a, b].map((p) => p.context().browser().close()));
});

test("a WebRTC connection that drops while both stay in the room is redialled", async () => {
  const room = `drop-${Date.now()}`;
  const [a, b] = await Promise.all([newPeer(), newPeer()]);
  // Keep every peer connection the provider makes, to break one later.
  for (const p of [a, b]) {
    await p.evaluate(() => {
      const Native = window.RTCPeerConnection;
      window.connections = [];
      window.RTCPeerConnection = class extends Native {
        constructor(...args) {
          super(...args);
          window.connections.push(this);
        }
      };
    });
  }
  await a.evaluate((room) => window.join(room), room);
  await b.evaluate((room) => window.join(room), room);
  await a.evaluate(() => window.peer.doc.insert(0, "before. "));
  await converged([a, b]);
  // The server may carry the first edit before the direct link opens: wait for it.
  await Promise.all([a, b].map((p) => p.waitForFunction(() => window.people().length === 1, null, { timeout: 20_000 })));
  // As when the network path fails: one side's connection dies; nobody
  // leaves the room or the signaling server.
  await b.evaluate(() => window.connections.forEach((c) => c.close()));
  await Promise.all([a, b].map((p) => p.waitForFunction(() => window.peer.log.left.length === 1, null, { timeout: 20_000 })));
  await a.evaluate(() => window.peer.doc.insert(0, "A meanwhile. "));
  await b.evaluate(() => window.peer.doc.insert(window.peer.doc.length, "B meanwhile."));
  const final = await converged([a, b]);
  assert.equal(final, "A meanwhile. before. B meanwhile.");
  // The server carried the edits meanwhile; the direct link comes back too.
  await Promise.all([a, b].map((p) => p.waitForFunction(() => window.people().length === 1, null, { timeout: 20_000 })));
  for (const p of [a, b]) {
    const { joined, left } = await log(p);
    const direct = joined.filter((e) => e.via !== "server");
    assert.equal(direct.length, 2, "connected, then connected again");
    assert.equal(left.length, 1);
    assert.ok(direct.every((e) => e.via === "webrtc"));
    assert.equal(await p.evaluate(() => window.connections.length), 2, "a new peer connection");
    await waitForStatus(p, "synced");
  }
  await Promise.all([a, b].map((p) => p.context().browser().close()));
});

test("an offer and an answer lost on the way are sent again: the direct link opens, and nobody is told of a failure", async () => {
  const room = `lost-${Date.now()}`;
  const [a, b] = await Promise.all([newPeer(), newPeer()]);
  // Each browser's signaling connection loses the first offer and the
  // first answer it sends, as a relay between servers might.
  for (const p of [a, b]) {
    await p.evaluate(() => {
      const send = WebSocket.prototype.send;
      const lost = new Set();
      window.lostSignals = [];
      WebSocket.prototype.send = function (data) {
        const kind = typeof data === "string" ? /"kind":"(offer|answer)"/.exec(data)?.[1] : undefined;
        if (kind && !lost.has(kind)) {
          lost.add(kind);
          window.lostSignals.push(kind);
          return;
        }
        return send.call(this, data);
      };
    });
  }
  await a.evaluate((room) => window.join(room), room);
  await b.evaluate((room) => window.join(room), room);
  // Well within the 15 s in which an unopened connection is given up.
  await Promise.all([a, b].map((p) => p.waitForFunction(() => window.people().length === 1, null, { timeout: 12_000 })));
  const lost = (await Promise.all([a, b].map((p) => p.evaluate(() => window.lostSignals)))).flat().sort();
  assert.deepEqual(lost, ["answer", "offer"], "the first offer and the first answer were lost");
  await a.evaluate(() => window.peer.doc.insert(0, "direct"));
  assert.equal(await converged([a, b]), "direct");
  for (const p of [a, b]) {
    assert.deepEqual((await log(p)).errors, []);
    assert.deepEqual(p.errors, []);
    assert.deepEqual((await log(p)).joined.filter((e) => e.via !== "server").map((e) => e.via), ["webrtc"]);
  }
  await Promise.all([a, b].map((p) => p.context().browser().close()));
});

test("a peer with the wrong secret gets nothing and injects nothing", async () => {
  const room = `secret-${Date.now()}`;
  const [a, b, mallory] = await Promise.all([newPeer(), newPeer(), newPeer()]);
  await a.evaluate((room) => window.join(room, { secret: "correct horse" }), room);
  await a.evaluate(() => window.peer.doc.insert(0, "private"));
  await mallory.evaluate((room) => window.join(room, { secret: "wrong" }), room);
  await mallory.evaluate(() => window.peer.doc.insert(0, "injected"));
  await b.evaluate((room) => window.join(room, { secret: "correct horse" }), room);
  assert.equal(await converged([a, b]), "private");
  // Whichever side spoke first (the offering one), the other could not
  // decrypt it and says so.
  const rejected = (p) => p.evaluate(() => window.peer.log.errors.filter((e) => e.code === "PEER_REJECTED").map((e) => e.peer));
  const [aId, mId] = await Promise.all([a, mallory].map((p) => p.evaluate(() => window.peer.provider.peer)));
  for (let tries = 0; ; tries++) {
    const [byA, byM] = await Promise.all([rejected(a), rejected(mallory)]);
    if (byA.includes(mId) || byM.includes(aId)) break;
    if (tries > 200) assert.fail("nobody said the other has another secret");
    await new Promise((r) => setTimeout(r, 100));
  }
  await a.evaluate(() => window.peer.doc.insert(7, " and still private"));
  assert.equal(await converged([a, b]), "private and still private");
  assert.equal(await text(mallory), "injected");
  await Promise.all([a, b, mallory].map((p) => p.context().browser().close()));
});

test("garbage on the data channel does not break the others", async () => {
  const room = `garbage-${Date.now()}`;
  const [a, b, mallory] = await Promise.all([newPeer(), newPeer(), newPeer()]);
  await a.evaluate((room) => window.join(room), room);
  await b.evaluate((room) => window.join(room), room);
  await a.evaluate(() => window.peer.doc.insert(0, "before "));
  await converged([a, b]);
  await mallory.addScriptTag({ path: join(E2E, "lib/raw-peer.js") });
  const garbage = [
    [1, 3, 9, 9, 9], // a frame shorter than it says
    "not binary",
    Array.from({ length: 1000 }, (_, i) => (i * 7919) % 256),
  ];
  const channels = await mallory.evaluate(([url, room, frames]) => window.rawPeer(url, room, frames), [signal.signalingUrl, room, garbage]);
  assert.equal(channels, 2);
  for (const p of [a, b]) {
    await p.waitForFunction(() => window.peer.log.errors.some((e) => e.peer === "0".repeat(32) && e.code === "SYNC_PROTOCOL"), null, { timeout: 20_000 });
  }
  await b.evaluate(() => window.peer.doc.insert(window.peer.doc.length, "after"));
  assert.equal(await converged([a, b]), "before after");
  for (const p of [a, b]) assert.deepEqual(p.errors, []);
  await Promise.all([a, b, mallory].map((p) => p.context().browser().close()));
});

test("tabs of one browser sync over BroadcastChannel and share presence", async () => {
  const room = `tabs-${Date.now()}`;
  const first = await newPeer();
  const second = await first.context().newPage();
  await second.goto(signal.url);
  await second.waitForFunction(() => window.ready === true);
  await first.evaluate((room) => window.join(room, { presence: { name: "Ada", color: "#c33" } }), room);
  await second.evaluate((room) => window.join(room, { presence: { name: "Grace" } }), room);
  await first.evaluate(() => window.peer.doc.insert(0, "hello tabs"));
  await converged([first, second]);
  const peers = await second.evaluate(() => window.people());
  assert.deepEqual(peers.map((p) => p.via), ["tab"]);
  // Presence: a selection follows its text through later edits.
  await first.evaluate(() => window.peer.provider.setPresence({ name: "Ada", color: "#c33", selection: { anchor: 6, head: 10 } }));
  await second.waitForFunction(() => [...window.peer.provider.presence.values()].some((s) => s.selection?.head === 10));
  await second.evaluate(() => window.peer.doc.insert(0, ">> "));
  const seen = await second.evaluate(() => [...window.peer.provider.presence.values()]);
  assert.deepEqual(seen, [{ name: "Ada", color: "#c33", selection: { anchor: 9, head: 13 } }]);
  // Presence goes when the tab goes, not after a timeout.
  await first.close();
  await second.waitForFunction(() => window.peer.provider.presence.size === 0, null, { timeout: 10_000 });
  assert.ok((await log(second)).presence.some((e) => e.state === null));
  await second.context().browser().close();
});

test("peers keep syncing while the signaling server is down, and find newcomers after it returns", async () => {
  const room = `restart-${Date.now()}`;
  let relay = await startSignal();
  const port = Number(new URL(relay.url).port);
  const [a, b, c] = await Promise.all([newPeer(), newPeer(), newPeer()]);
  for (const p of [a, b]) await p.evaluate(([room, url]) => window.join(room, { signalingUrl: url }), [room, relay.signalingUrl]);
  await a.waitForFunction(() => window.people().length === 1, null, { timeout: 20_000 });
  await relay.stop();
  for (const p of [a, b]) {
    await p.waitForFunction(() => window.peer.log.errors.some((e) => e.code === "SIGNALING_UNAVAILABLE"), null, { timeout: 20_000 });
  }
  // The data channel does not need the signaling server.
  await a.evaluate(() => window.peer.doc.insert(0, "during the outage. "));
  assert.equal(await converged([a, b]), "during the outage. ");

  relay = await startSignal({ port });
  try {
    await c.evaluate(([room, url]) => window.join(room, { signalingUrl: url }), [room, relay.signalingUrl]);
    await c.waitForFunction(() => window.people().length === 2, null, { timeout: 30_000 });
    await c.evaluate(() => window.peer.doc.insert(window.peer.doc.length, "After."));
    assert.equal(await converged([a, b, c]), "during the outage. After.");
  } finally {
    await relay.stop();
  }
  await Promise.all([a, b, c].map((p) => p.context().browser().close()));
});
