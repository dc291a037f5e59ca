// Several servers and no load balancer: a provider given their URLs tries
// them in a random order of its own: it starts at the first, moves to the
// next when a connection fails to open or drops, and syncs with that server's replica as after any reconnect.
// Real weft-server processes, each keeping its rooms in memory, so its
// replica is its own: text that reaches a server only came through a
// session of the provider with it. Providers run in processes of their
// own (see node-client.mjs); Node has no WebRTC, so they sync through the
// server alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { nodeClient } from "./node-client.mjs";
import { mintToken, startServer } from "./weft-server.mjs";

const room = (name) => `${name}-${Math.random()}`;

/** Servers and client processes that end with the test. */
async function servers(t, n, options) {
  const started = await Promise.all(Array.from({ length: n }, () => startServer(options)));
  t.after(() => Promise.all(started.map((s) => s.kill())));
  return started;
}

async function client(t) {
  const c = await nodeClient();
  t.after(() => c.close());
  return c;
}

/** A loopback URL nothing listens on: connections are refused. */
async function refusingUrl() {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return `ws://127.0.0.1:${port}/signal`;
}

/**
 * Connects `doc` (with `text`) in the client process to `signalingUrl`
 * (plus `options`) and waits for the server's replica to be in sync. With
 * `first`, the provider tries the URLs in the order given (its random
 * order is pinned: `Math.random` returns 0).
 */
function join(c, { room, signalingUrl, text = "", first = false, ...options }) {
  return c.evaluate(
    async (ctx, { room, signalingUrl, text, first, options }) => {
      const { Doc, connect } = ctx.weft;
      ctx.doc = new Doc();
      ctx.doc.insert(0, text);
      const random = Math.random;
      if (first) Math.random = () => 0;
      try {
        ctx.provider = connect(ctx.doc, { room, signalingUrl, ...options });
      } finally {
        Math.random = random;
      }
      ctx.log = ctx.record(ctx.provider);
      await ctx.until(() => ctx.provider.server?.synced, "the server's replica in sync");
      return ctx.provider.serverUrl;
    },
    { room, signalingUrl, text, first, options },
  );
}

/** Waits for the client's provider to be in sync with the server at `url`; its log. */
function syncedWith(c, url) {
  return c.evaluate(
    async (ctx, url) => {
      await ctx.until(() => ctx.provider.serverUrl === url && ctx.provider.server?.synced, `the provider in sync with ${url}`);
      return { log: ctx.log, peers: ctx.provider.peers.map(({ peer, via, url }) => ({ peer, via, url })) };
    },
    url,
  );
}

/** What a fresh document connected to `url` alone receives: waits for `expected`. */
function readFrom(c, { room, url, expected, ...options }) {
  return c.evaluate(
    async (ctx, { room, url, expected, options }) => {
      const doc = new ctx.weft.Doc();
      const provider = ctx.weft.connect(doc, { room, signalingUrl: url, ...options });
      try {
        await ctx.until(() => doc.toString() === expected, `"${expected}" from ${url}`);
        return doc.toString();
      } finally {
        provider.disconnect();
      }
    },
    { room, url, expected, options },
  );
}

test("given two servers, a provider joins one; when that one is killed it moves to the other and syncs the document to its replica", async (t) => {
  const [a, b] = await servers(t, 2);
  const writer = await client(t);
  const r = room("move");
  const first = await join(writer, { room: r, signalingUrl: [a.signalingUrl, b.signalingUrl], text: "written on one server" });
  assert.ok(first === a.signalingUrl || first === b.signalingUrl, `on ${first}`);
  const [dead, alive] = first === a.signalingUrl ? [a, b] : [b, a];
  assert.deepEqual((await syncedWith(writer, first)).peers, [{ peer: "server", via: "server", url: first }]);

  await dead.kill();
  // Typed while it moves: the new session's Hello carries it as well.
  await writer.evaluate((ctx) => ctx.doc.insert(ctx.doc.length, ", then on the other"));
  const { log, peers } = await syncedWith(writer, alive.signalingUrl);
  assert.deepEqual(peers, [{ peer: "server", via: "server", url: alive.signalingUrl }]);
  assert.deepEqual(log.joins, [
    { peer: "server", via: "server", url: dead.signalingUrl },
    { peer: "server", via: "server", url: alive.signalingUrl },
  ]);
  assert.deepEqual(log.leaves, [{ peer: "server", via: "server", url: dead.signalingUrl }]);
  assert.ok(log.errors.length > 0, "the lost server is reported");
  for (const e of log.errors) {
    assert.equal(e.code, "SIGNALING_UNAVAILABLE", e.message);
    assert.equal(e.url, dead.signalingUrl, e.message);
  }

  // The other server's replica has all of it, though it only ever met the writer after the move.
  const reader = await client(t);
  assert.equal(await readFrom(reader, { room: r, url: alive.signalingUrl, expected: "written on one server, then on the other" }), "written on one server, then on the other");
  assert.ok(writer.alive && reader.alive);
});

test("providers start at a random server of the list, so clients spread over them", async (t) => {
  const [a, b] = await servers(t, 2);
  const c = await client(t);
  // All on one server by chance: 2 in 2^24.
  const urls = await c.evaluate(
    async (ctx, signalingUrl) => {
      const providers = Array.from({ length: 25 }, (_, i) => ctx.weft.connect(new ctx.weft.Doc(), { room: `spread-${i}-${Math.random()}`, signalingUrl }));
      await ctx.until(() => providers.every((p) => p.serverUrl !== null), "every provider to join");
      const urls = providers.map((p) => p.serverUrl);
      for (const p of providers) p.disconnect();
      return urls;
    },
    [a.signalingUrl, b.signalingUrl],
  );
  assert.deepEqual(new Set(urls), new Set([a.signalingUrl, b.signalingUrl]));
});

test("the clients of a server that dies spread over the others", async (t) => {
  const all = await servers(t, 3);
  const signalingUrl = all.map((s) => s.signalingUrl);
  const c = await client(t);
  const moved = await c.evaluate(
    async (ctx, { signalingUrl }) => {
      const providers = Array.from({ length: 45 }, (_, i) => ctx.weft.connect(new ctx.weft.Doc(), { room: `herd-${i}-${Math.random()}`, signalingUrl }));
      await ctx.until(() => providers.every((p) => p.server?.synced), "every provider in sync with a server");
      ctx.providers = providers;
      ctx.started = providers.map((p) => p.serverUrl);
      return null;
    },
    { signalingUrl },
  );
  assert.equal(moved, null);
  const started = await c.evaluate((ctx) => ctx.started);
  // The one with the most clients: at least 15 of 45.
  const count = (s) => started.filter((u) => u === s.signalingUrl).length;
  const dead = all.reduce((most, s) => (count(s) > count(most) ? s : most));
  assert.ok(count(dead) >= 15, JSON.stringify(started));
  await dead.kill();
  const after = await c.evaluate(
    async (ctx, deadUrl) => {
      const movers = ctx.providers.filter((_, i) => ctx.started[i] === deadUrl);
      await ctx.until(() => movers.every((p) => p.serverUrl !== deadUrl && p.server?.synced), "the dead server's clients in sync elsewhere");
      const urls = movers.map((p) => p.serverUrl);
      for (const p of ctx.providers) p.disconnect();
      return urls;
    },
    dead.signalingUrl,
  );
  // Both others take some: all on one by chance is 2 in 2^15 at worst.
  const others = all.filter((s) => s !== dead).map((s) => s.signalingUrl);
  assert.deepEqual(new Set(after), new Set(others), JSON.stringify(after));
});

test("a URL that refuses connections, first in the list, is skipped for the next", async (t) => {
  const [a] = await servers(t, 1);
  const refused = await refusingUrl();
  const c = await client(t);
  const on = await join(c, { room: room("refused"), signalingUrl: [refused, a.signalingUrl], text: "hello", first: true });
  assert.equal(on, a.signalingUrl);
  const { log } = await syncedWith(c, a.signalingUrl);
  // It was tried first, and said so.
  assert.ok(log.errors.length > 0);
  for (const e of log.errors) assert.deepEqual([e.code, e.url], ["SIGNALING_UNAVAILABLE", refused], e.message);
});

test("a server that accepts connections but never answers is left for the next", async (t) => {
  const [a] = await servers(t, 1);
  const sockets = new Set();
  const silent = createServer((s) => sockets.add(s));
  silent.listen(0, "127.0.0.1");
  await once(silent, "listening");
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const silentUrl = `ws://127.0.0.1:${silent.address().port}/signal`;
  const c = await client(t);
  const on = await join(c, { room: room("silent"), signalingUrl: [silentUrl, a.signalingUrl], first: true });
  assert.equal(on, a.signalingUrl);
  assert.ok(sockets.size > 0, "the silent server was tried");
  const { log } = await syncedWith(c, a.signalingUrl);
  assert.deepEqual(
    log.errors.map((e) => [e.code, e.url]),
    [["SIGNALING_UNAVAILABLE", silentUrl]],
  );
  assert.match(log.errors[0].message, /no answer/);
});

test("once every server failed it keeps trying them all: a server back on its port is found, and its replica gets the document", async (t) => {
  const [a, b] = await servers(t, 2);
  const writer = await client(t);
  const r = room("all-down");
  await join(writer, { room: r, signalingUrl: [a.signalingUrl, b.signalingUrl], text: "kept while every server was down" });
  await Promise.all([a.kill(), b.kill()]);
  // Each server failed, more than once: tried again after a backoff.
  await writer.evaluate(async (ctx, urls) => {
    const failures = (url) => ctx.log.errors.filter((e) => e.url === url).length;
    await ctx.until(() => urls.every((url) => failures(url) >= 2), "each server to fail twice");
    ctx.doc.insert(0, "> ");
  }, [a.signalingUrl, b.signalingUrl]);
  const back = await startServer({ port: b.port });
  t.after(() => back.kill());
  assert.equal(back.signalingUrl, b.signalingUrl);
  await syncedWith(writer, b.signalingUrl);
  const reader = await client(t);
  assert.equal(await readFrom(reader, { room: r, url: b.signalingUrl, expected: "> kept while every server was down" }), "> kept while every server was down");
});

test("a single URL works as before: after its server restarts, the provider reconnects and syncs the new replica", async (t) => {
  const [a] = await servers(t, 1);
  const writer = await client(t);
  const r = room("single");
  assert.equal(await join(writer, { room: r, signalingUrl: a.signalingUrl, text: "one server" }), a.signalingUrl);
  await a.kill();
  await writer.evaluate((ctx) => ctx.until(() => ctx.provider.serverUrl === null && ctx.provider.status === "connecting", "the provider to see it gone"));
  const back = await startServer({ port: a.port });
  t.after(() => back.kill());
  const { log, peers } = await syncedWith(writer, a.signalingUrl);
  assert.deepEqual(peers, [{ peer: "server", via: "server", url: a.signalingUrl }]);
  assert.equal(log.joins.length, 2);
  assert.ok(log.errors.length > 0);
  for (const e of log.errors) assert.deepEqual([e.code, e.url], ["SIGNALING_UNAVAILABLE", a.signalingUrl], e.message);
  const reader = await client(t);
  assert.equal(await readFrom(reader, { room: r, url: a.signalingUrl, expected: "one server" }), "one server");
});

test("with a token function, each server the provider moves to is joined with a token from it", async (t) => {
  const dir = mkdtempSync(joinPath(tmpdir(), "weft-auth-"));
  const secretFile = joinPath(dir, "secret");
  writeFileSync(secretFile, "a secret of at least thirty-two bytes, for the tests");
  const [a, b] = await servers(t, 2, { authSecretFile: secretFile });
  const r = room("token");
  const tokens = Array.from({ length: 20 }, () => mintToken(secretFile, r));
  const writer = await client(t);
  await writer.evaluate((ctx, tokens) => {
    ctx.calls = 0;
    ctx.token = () => Promise.resolve(tokens[ctx.calls++]);
  }, tokens);
  const first = await writer.evaluate(
    async (ctx, { room, signalingUrl }) => {
      ctx.doc = new ctx.weft.Doc();
      ctx.doc.insert(0, "with tokens");
      ctx.provider = ctx.weft.connect(ctx.doc, { room, signalingUrl, token: ctx.token });
      ctx.log = ctx.record(ctx.provider);
      await ctx.until(() => ctx.provider.server?.synced, "the server's replica in sync");
      return ctx.provider.serverUrl;
    },
    { room: r, signalingUrl: [a.signalingUrl, b.signalingUrl] },
  );
  const [dead, alive] = first === a.signalingUrl ? [a, b] : [b, a];
  await dead.kill();
  const { log } = await syncedWith(writer, alive.signalingUrl);
  assert.deepEqual(
    await writer.evaluate((ctx) => [ctx.calls, ctx.provider.role]),
    [2, "write"],
  );
  assert.deepEqual([...new Set(log.errors.map((e) => e.code))], ["SIGNALING_UNAVAILABLE"]);
  const reader = await client(t);
  assert.equal(await readFrom(reader, { room: r, url: alive.signalingUrl, expected: "with tokens", token: mintToken(secretFile, r, "read") }), "with tokens");
});

test("an encrypted room moves too: the other server gets the sealed records from the start", async (t) => {
  const [a, b] = await servers(t, 2);
  const writer = await client(t);
  const r = room("sealed");
  const secret = "a room password";
  const first = await join(writer, { room: r, signalingUrl: [a.signalingUrl, b.signalingUrl], text: "sealed", secret });
  assert.deepEqual(await writer.evaluate((ctx) => ctx.provider.server), { synced: true, sealed: true });
  const [dead, alive] = first === a.signalingUrl ? [a, b] : [b, a];
  await dead.kill();
  await writer.evaluate((ctx) => ctx.doc.insert(ctx.doc.length, " and moved"));
  await syncedWith(writer, alive.signalingUrl);
  const reader = await client(t);
  assert.equal(await readFrom(reader, { room: r, url: alive.signalingUrl, expected: "sealed and moved", secret }), "sealed and moved");
});
