// Access control end to end: a weft-server that checks tokens, real
// Chromium processes, in a loopback-only network namespace
// (`npm run test:rtc`). Tokens are minted as an app's backend would.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "../lib/serve.mjs";
import { E2E, installPackedWeft } from "../lib/package.mjs";
import { inFiles, openSyncPage } from "../lib/browser.mjs";
import { startSignal } from "../lib/signal.mjs";
import { assertLoopbackOnly } from "../lib/netns.mjs";
import { mintToken } from "../lib/token.mjs";

const SECRET = "the secret of this test server, 32 bytes or more";
let server;

before(async () => {
  assertLoopbackOnly();
  installPackedWeft();
  const dir = mkdtempSync(join(tmpdir(), "weft-auth-"));
  const authSecretFile = join(dir, "secret");
  writeFileSync(authSecretFile, `${SECRET}\n`);
  server = await startSignal({ staticDir: await buildApp(join(E2E, "sync-app")), authSecretFile });
});

after(async () => {
  await server?.stop();
});

/** A page of the sync app in a browser of its own. */
const newPeer = (options) => openSyncPage(server.url, options);

const stored = (text) => inFiles(server.dataDir, text);

const token = (room, role, exp) => mintToken(SECRET, { room, role, ...(exp ? { exp } : {}) });

test("a join without a valid token for its room is refused with a code, and nothing is stored", async () => {
  const room = `guarded-${Date.now()}`;
  const ada = await newPeer();
  const cases = [
    [undefined, "SIGNALING_TOKEN_MISSING"],
    [token(room, "write", Math.floor(Date.now() / 1000) - 3600), "SIGNALING_TOKEN_EXPIRED"],
    [token("another-room", "write"), "SIGNALING_TOKEN_WRONG_ROOM"],
    [mintToken("not the server's secret, but long enough", { room, role: "write" }), "SIGNALING_TOKEN_INVALID"],
  ];
  for (const [t, code] of cases) {
    await ada.page.evaluate(([room, token]) => window.join(room, token ? { token } : {}), [room, t]);
    await ada.page.evaluate(() => window.peer.doc.insert(0, "REFUSED-MARKER"));
    await ada.page.waitForFunction((code) => window.peer.log.errors.some((e) => e.code === code), code, { timeout: 10_000 });
    const { status, role } = await ada.page.evaluate(() => ({ status: window.peer.provider.status, role: window.peer.provider.role }));
    assert.notEqual(status, "synced");
    assert.equal(role, undefined);
    await ada.page.evaluate(() => window.peer.provider.disconnect());
  }
  // A good token: in sync with the server, which says the role.
  await ada.page.evaluate(([room, token]) => window.join(room, { token }), [room, token(room, "write")]);
  await ada.page.waitForFunction(() => window.peer.provider.status === "synced" && window.peer.provider.peers.some((p) => p.via === "server"));
  assert.equal(await ada.page.evaluate(() => window.peer.provider.role), "write");
  assert.equal(stored("REFUSED-MARKER"), false);
  assert.deepEqual(ada.page.errors, []);
  await ada.browser.close();
});

test("a reader receives the room; what it writes is refused by the server and by the other browser", async () => {
  const room = `team/readers-${Date.now()}`;
  const ada = await newPeer();
  const bob = await newPeer();
  await ada.page.evaluate(([room, token]) => window.join(room, { token }), [room, token(room, "write")]);
  // A function fetching the token, as an app would from its backend; a prefix grants the team's rooms.
  await bob.page.evaluate(([room, t]) => window.join(room, { token: async () => t }), [room, token("team/*", "read")]);
  await ada.page.evaluate(() => window.peer.doc.insert(0, "Ada's plan"));
  await bob.page.waitForFunction(() => window.peer.doc.toString() === "Ada's plan", null, { timeout: 20_000 });
  await bob.page.waitForFunction(() => window.people().some((p) => p.via === "webrtc"), null, { timeout: 20_000 });
  assert.equal(await bob.page.evaluate(() => window.peer.provider.role), "read");

  // An honest reader's own edits stay with it.
  await bob.page.evaluate(() => window.peer.doc.insert(0, "BOB-DRAFT "));
  await ada.page.evaluate(() => window.peer.doc.insert(window.peer.doc.length, ", revised"));
  await bob.page.waitForFunction(() => window.peer.doc.toString().endsWith("Ada's plan, revised"), null, { timeout: 20_000 });

  // A reader that writes anyway, over WebRTC to Ada and to the server.
  const mallory = await newPeer();
  await mallory.page.addScriptTag({ path: join(E2E, "lib/raw-peer.js") });
  const readToken = token(room, "read");
  const result = await mallory.page.evaluate(
    async ([url, room, token]) => {
      const forged = new window.weft.Doc();
      forged.insert(0, "FORGED-BY-READER");
      const frames = [window.syncFrame(1, [0]), window.syncFrame(2, [...forged.encodeState()])];
      const channels = await window.rawPeer(url, room, frames, token);
      const closed = await window.rawServerPeer(url, room, frames, token);
      return { channels, closed };
    },
    [server.signalingUrl, room, readToken],
  );
  assert.ok(result.channels >= 1);
  assert.equal(result.closed.code, 4003);
  assert.match(result.closed.reason, /^read-only/);
  await ada.page.waitForFunction(() => window.peer.log.errors.some((e) => e.code === "PEER_READ_ONLY" && e.peer === "0".repeat(32)), null, { timeout: 20_000 });

  // A writer who comes later gets Ada's text only.
  const cy = await newPeer();
  await cy.page.evaluate(([room, token]) => window.join(room, { token }), [room, token(room, "write")]);
  await cy.page.waitForFunction(() => window.peer.doc.toString() === "Ada's plan, revised", null, { timeout: 20_000 });
  for (const p of [ada, cy]) {
    const t = await p.page.evaluate(() => window.peer.doc.toString());
    assert.equal(t, "Ada's plan, revised");
  }
  // Stored as text (so a forged edit would be found), once the server says so.
  await ada.page.waitForFunction(() => window.peer.provider.savedOnServer, null, { timeout: 20_000 });
  assert.equal(stored("Ada's plan"), true);
  assert.equal(stored("FORGED-BY-READER"), false);
  assert.equal(stored("BOB-DRAFT"), false);
  for (const p of [ada, bob, mallory, cy]) {
    assert.deepEqual(p.page.errors, []);
    await p.browser.close();
  }
});
