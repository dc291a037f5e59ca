// Several weft-server nodes on one PostgreSQL and one Redis (docs/scale.md),
// with real Chromium processes spread over them: signaling across nodes,
// a node killed mid-typing, and the room whole in the database afterwards.
// In a loopback-only network namespace (`npm run test:rtc`).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildApp } from "../lib/serve.mjs";
import { E2E, installPackedWeft } from "../lib/package.mjs";
import { openSyncPage } from "../lib/browser.mjs";
import { startSignal } from "../lib/signal.mjs";
import { startServices } from "../lib/services.mjs";
import { assertLoopbackOnly } from "../lib/netns.mjs";

let services;
let staticDir;
const nodes = [];
const browsers = [];

before(async () => {
  assertLoopbackOnly();
  installPackedWeft();
  staticDir = await buildApp(join(E2E, "sync-app"));
  services = await startServices({ postgres: true, redis: true });
});

after(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await Promise.all(nodes.map((n) => n.stop()));
  await services?.stop();
});

/** A weft-server node on the shared database and Redis. */
async function startNode() {
  const node = await startSignal({ staticDir, postgres: services.postgres, redis: services.redis });
  nodes.push(node);
  return node;
}

/** A page of the sync app, served by `node`, in a browser process of its own. */
async function newPeer(node) {
  const peer = await openSyncPage(node.url);
  browsers.push(peer.browser);
  if (process.env.DEBUG) peer.page.on("console", (m) => console.log(`page: ${m.text()}`));
  return peer.page;
}

/**
 * Joins `room` given the servers `list` (nodes), on the first of them: the
 * provider starts at a random one (`Math.random`), pinned here so that the
 * browsers spread over the nodes as the test says.
 */
async function joinOn(page, room, list) {
  const urls = list.map((n) => n.signalingUrl);
  await page.evaluate(([room, urls]) => {
    const random = Math.random;
    Math.random = () => 0;
    try {
      window.join(room, { signalingUrl: urls });
    } finally {
      Math.random = random;
    }
  }, [room, urls]);
  await page.waitForFunction((url) => window.peer.provider.serverUrl === url, urls[0], { timeout: 20_000 });
}

const text = (p) => p.evaluate(() => window.peer.doc.toString());
const state = (p) =>
  p.evaluate(() => ({ me: window.peer.provider.peer, server: window.peer.provider.serverUrl, status: window.peer.provider.status, peers: window.peer.provider.peers, errors: window.peer.log.errors }));

/** Waits until every page holds the same text, and returns it. */
async function converged(pages, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const texts = await Promise.all(pages.map(text));
    if (texts.every((t) => t === texts[0])) return texts[0];
    if (Date.now() > deadline) {
      const states = await Promise.all(pages.map(state));
      assert.fail(`no convergence: lengths ${texts.map((t) => t.length)}; ${JSON.stringify(states).slice(0, 3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until `f` (given `argOf(i)` on the `i`th page) is true on every
 * page; says `what` failed, and where each page stands, if it times out.
 */
async function waitFor(what, pages, f, argOf = () => undefined) {
  try {
    await Promise.all(pages.map((p, i) => p.waitForFunction(f, argOf(i), { timeout: 30_000, polling: 100 })));
  } catch (err) {
    const states = await Promise.all(pages.map(state));
    throw new Error(`${what}: ${JSON.stringify(states).slice(0, 3000)}`, { cause: err });
  }
}

const tokens = (s) => s.match(/\[[^\]]*\]/g) ?? [];

test("browsers on three nodes type while one node is killed: its browsers move on, all converge with every edit, and the database has the whole room", async () => {
  const room = `nodes-${Date.now()}`;
  const a = await startNode();
  const b = await startNode();
  const c = await startNode();
  // Two browsers on the node to be killed, each moving on to another node;
  // one browser on each of the others. Each list is where a browser starts
  // and the order it moves in.
  const lists = [[a, b, c], [a, c, b], [b, c, a], [c, a, b]];
  const tags = ["a1", "a2", "b1", "c1"];
  const pages = await Promise.all(lists.map((list) => newPeer(list[0])));
  await Promise.all(pages.map((p, i) => joinOn(p, room, lists[i])));

  // Browsers on different nodes learn of each other through Redis and
  // connect directly: every one has a WebRTC link to each of the three others.
  await waitFor("direct links across nodes", pages, () => window.people().filter((p) => p.via === "webrtc").length === 3);
  const ids = await Promise.all(pages.map((p) => p.evaluate(() => window.peer.provider.peer)));
  for (const [i, p] of pages.entries()) {
    const linked = await p.evaluate(() => window.people().map((x) => x.peer).sort());
    assert.deepEqual(linked, ids.filter((_, j) => j !== i).sort(), `browser ${tags[i]} is linked to all the others`);
  }

  const count = 150;
  const typing = pages.map((p, i) => p.evaluate(([count, tag]) => window.typeTokens(count, 20, tag), [count, tags[i]]));
  // Killed once its browsers have typed a while and it acknowledged some of their tokens as stored.
  const killedOnes = pages.slice(0, 2);
  await waitFor(
    "acknowledgements from the node to be killed",
    killedOnes,
    ([url, tag]) => {
      const acked = window.peer.log.durableOn[url];
      if (window.typed < 40 || !acked) return false;
      try {
        return window.peer.doc.at(acked).toString().includes(`[${tag}:`);
      } catch {
        return false; // it had stored edits of others that have not arrived here yet
      }
    },
    (i) => [a.signalingUrl, tags[i]],
  );
  const killedAt = await Promise.all(pages.map((p) => p.evaluate(() => Math.round(performance.now()))));
  await a.kill();
  const typedAtKill = await Promise.all(killedOnes.map((p) => p.evaluate(() => window.typed)));

  // Its browsers move on to the next node of their list, and keep typing.
  await Promise.all(killedOnes.map((p, i) => p.waitForFunction((url) => window.peer.provider.serverUrl === url, lists[i][1].signalingUrl, { timeout: 30_000 })));
  await Promise.all(typing);
  for (const [i, typed] of typedAtKill.entries()) assert.ok(typed < count, `browser ${tags[i]} was still typing when its node was killed (${typed} of ${count})`);
  for (const [i, p] of pages.entries()) {
    if (i >= 2) assert.equal(await p.evaluate(() => window.peer.provider.serverUrl), lists[i][0].signalingUrl, `browser ${tags[i]} stayed on its node`);
  }

  // Every browser ends with the same text: every token of every browser, once.
  const final = await converged(pages);
  const expected = tags.flatMap((tag) => Array.from({ length: count }, (_, i) => `[${tag}:${i}]`));
  assert.deepEqual(tokens(final).sort(), expected.sort());
  assert.equal(final.length, expected.join("").length);
  // The direct links never needed the killed node.
  await waitFor("direct links after the kill", pages, () => window.people().filter((p) => p.via === "webrtc").length === 3);

  // What the killed node acknowledged as stored is in it: the text at the
  // last version it reported stored to each of its browsers, their own tokens included.
  for (const [i, p] of killedOnes.entries()) {
    const acked = await p.evaluate((url) => window.peer.doc.at(window.peer.log.durableOn[url]).toString(), a.signalingUrl);
    const own = tokens(acked).filter((t) => t.startsWith(`[${tags[i]}:`));
    assert.ok(own.length > 0, `the killed node acknowledged tokens of browser ${tags[i]}`);
    for (const t of tokens(acked)) assert.ok(final.includes(t), `${t}, acknowledged by the killed node, is in the final text`);
  }

  // The surviving nodes store it all: each browser's server reports all it holds stored.
  await waitFor("everything stored on the surviving nodes", pages, () => window.peer.provider.savedOnServer);
  for (const [i, p] of pages.entries()) {
    assert.deepEqual(p.errors, [], `no page errors in browser ${tags[i]}`);
    const errors = await p.evaluate(() => window.peer.log.errors.map((e) => `${e.code}: ${e.message}`));
    // The killed node's browsers were told they lost it, and nothing else.
    const expectedErrors = i < 2 ? errors.filter((e) => e.startsWith(`SIGNALING_UNAVAILABLE: signaling server ${a.signalingUrl}:`)) : [];
    const timeline = await p.evaluate(() => window.peer.log.timeline.join("\n"));
    assert.deepEqual(errors, expectedErrors, `browser ${tags[i]}'s errors; its timeline:\n${timeline}\n(node killed at ${killedAt[i]}; peers ${tags.map((t, j) => `${t}=${ids[j]}`).join(" ")})`);
  }
  await Promise.all(browsers.splice(0).map((br) => br.close()));

  // With every browser gone and the other nodes stopped, a node started
  // afresh has nothing but the database (Redis only carries what is
  // appended from now on): a newcomer gets the whole text from it.
  await b.stop();
  await c.stop();
  const again = await startNode();
  const newcomer = await newPeer(again);
  await joinOn(newcomer, room, [again]);
  await newcomer.waitForFunction(() => window.peer.provider.server?.synced === true, null, { timeout: 30_000 });
  assert.equal(await text(newcomer), final);
  assert.deepEqual(newcomer.errors, []);
});
