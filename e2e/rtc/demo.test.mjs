// The demo app (www/) as a person uses it: two browser processes open the
// same room URL, type with the keyboard, see each other's text and cursor,
// reload, go offline and back. Screenshots go to e2e/artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { E2E } from "../lib/package.mjs";
import { launch } from "../lib/browser.mjs";
import { editorText, startDemo, typeAtEnd, until } from "../lib/demo.mjs";

const ARTIFACTS = join(E2E, "artifacts");
let demo;
let server;
let browsers;
const person = (...args) => demo.person(...args);

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  demo = await startDemo();
  ({ server, browsers } = demo);
});

after(async () => {
  await demo?.stop();
});

test("two people edit together in the demo", async () => {
  const room = `demo-${Date.now()}`;
  const ada = await person("Ada", "#d1495b", room);
  const grace = await person("Grace", "#2e86ab", room);
  await until(
    async () => (await grace.getByTestId("sync-status").textContent()) === "synced" && (await grace.locator("#peer-count").textContent()) === "1 peer",
    "connected",
    20_000,
    async () => JSON.stringify(await Promise.all([ada, grace].map((p) => p.evaluate(() => ({ status: window.weft.provider.status, peers: window.weft.provider.peers, errors: document.getElementById("errors").innerText, log: window.weftLog }))))),
  );

  await typeAtEnd(ada, "Hello from Ada.");
  await until(async () => (await editorText(grace)).includes("Hello from Ada."), "Ada's typing reaches Grace");
  await typeAtEnd(grace, " Hi Ada!");
  await until(async () => (await editorText(ada)).includes("Hello from Ada. Hi Ada!"), "Grace's typing reaches Ada");

  // Presence: names in the panel and a labelled caret in the text.
  await until(async () => (await grace.getByTestId("people").innerText()).includes("Ada"), "Grace sees Ada in the list");
  await until(async () => (await grace.locator(".cm-weft-name").allInnerTexts()).includes("Ada"), "Grace sees Ada's cursor");
  await ada.screenshot({ path: join(ARTIFACTS, "demo-ada.png") });
  await grace.screenshot({ path: join(ARTIFACTS, "demo-grace.png") });

  // A reload shows the text from IndexedDB.
  await ada.reload();
  await ada.waitForFunction(() => window.weftReady === true);
  assert.equal(await editorText(ada), "Hello from Ada. Hi Ada!");
  await until(async () => (await ada.getByTestId("storage-status").textContent()) === "saved", "stored");
  // Both persistence states: this browser's, and the server's.
  await until(async () => (await ada.getByTestId("server-storage").textContent()) === "saved on server", "saved on server");
  assert.equal(await ada.getByTestId("server-status").textContent(), "server in sync");

  // Offline: both edit, then back online, they converge.
  await until(async () => (await ada.locator("#peer-count").textContent()) === "1 peer", "reconnected after reload");
  await ada.getByTestId("offline").check();
  await until(async () => (await grace.locator("#peer-count").textContent()) === "0 peers", "Grace sees Ada leave");
  assert.equal(await grace.locator(".cm-weft-name").count(), 0, "Ada's cursor went with her");
  await typeAtEnd(ada, " [Ada offline]");
  await typeAtEnd(grace, " [Grace alone]");
  await ada.screenshot({ path: join(ARTIFACTS, "demo-offline.png") });
  await ada.getByTestId("offline").uncheck();
  await until(async () => {
    const [a, g] = [await editorText(ada), await editorText(grace)];
    return a === g && a.includes("[Ada offline]") && a.includes("[Grace alone]");
  }, "converged after going back online", 20_000, async () => {
    const state = (p) => p.evaluate(() => ({ text: window.weft.doc.toString(), status: window.weft.provider?.status, peers: window.weft.provider?.peers, errors: document.getElementById("errors").innerText }));
    return JSON.stringify([await state(ada), await state(grace), await editorText(ada), await editorText(grace)]);
  });
  await grace.screenshot({ path: join(ARTIFACTS, "demo-converged.png") });
  for (const p of [ada, grace]) {
    assert.deepEqual(p.errors, []);
    assert.equal(await p.getByTestId("errors").innerText(), "");
    assert.equal(await p.evaluate(() => window.weft.doc.toString()), await editorText(p));
  }
});

test("undo in the demo reverts this person's typing and leaves the other's alone", async () => {
  const room = `undo-${Date.now()}`;
  const ada = await person("Ada", "#d1495b", room);
  const grace = await person("Grace", "#2e86ab", room);
  await until(async () => (await grace.locator("#peer-count").textContent()) === "1 peer", "connected");
  await typeAtEnd(ada, "local ");
  await until(async () => (await editorText(grace)) === "local ", "Ada's word reaches Grace");
  await typeAtEnd(grace, "REMOTE");
  await until(async () => (await editorText(ada)) === "local REMOTE", "Grace's word reaches Ada");
  await ada.keyboard.press("Control+z");
  for (const p of [ada, grace]) await until(async () => (await editorText(p)) === "REMOTE", "only Ada's word is undone, everywhere");
  await ada.keyboard.press("Control+z");
  assert.equal(await editorText(ada), "REMOTE", "nothing of Grace's is Ada's to undo");
  await ada.keyboard.press("Control+y");
  for (const p of [ada, grace]) await until(async () => (await editorText(p)) === "local REMOTE", "redo brings it back, everywhere");
  // Grace's own undo takes her word, and Ada's stays.
  await grace.locator("[data-testid=editor]").click();
  await grace.keyboard.press("Control+z");
  for (const p of [ada, grace]) await until(async () => (await editorText(p)) === "local ", "Grace undoes her own word");
  for (const p of [ada, grace]) assert.deepEqual(p.errors, []);
});

test("the demo names a peer of an incompatible version, and text persists with every window closed", async () => {
  const room = `versions-${Date.now()}`;
  const ada = await person("Ada", "#d1495b", room);
  await typeAtEnd(ada, "kept");
  await until(async () => (await ada.getByTestId("storage-status").textContent()) === "saved", "stored");
  const future = await person("Future", "#000", `other-${Date.now()}`);
  await future.addScriptTag({ path: join(E2E, "lib/raw-peer.js") });
  // Sync protocol version 2: a first and last frame with a Hello.
  await future.evaluate(([url, room]) => window.rawPeer(url, room, [[2, 3, 2, 1, 0]]), [`${server.signalingUrl}`, room]);
  await until(async () => (await ada.getByTestId("errors").innerText()).includes("SYNC_VERSION"), "incompatible peer shown");
  assert.match(await ada.getByTestId("errors").innerText(), /protocol version 2/);
  await ada.screenshot({ path: join(ARTIFACTS, "demo-incompatible.png") });

  // Close every window of the room, then open one again.
  const context = ada.context();
  await ada.close();
  const again = await context.newPage();
  await again.goto(`${server.url}#room=${room}`);
  await again.waitForFunction(() => window.weftReady === true);
  assert.equal(await editorText(again), "kept");
});

test("the demo shows an unreachable signaling server as an error, and keeps working", async () => {
  const browser = await launch();
  browsers.push(browser);
  const page = await browser.newPage();
  await page.goto(`${server.url}#room=lonely-${Date.now()}&signal=ws://127.0.0.1:9/signal`);
  await page.waitForFunction(() => window.weftReady === true);
  await until(async () => (await page.getByTestId("errors").innerText()).includes("SIGNALING_UNAVAILABLE"), "error shown");
  assert.equal(await page.getByTestId("sync-status").textContent(), "connecting");
  await typeAtEnd(page, "still editable");
  assert.equal(await page.evaluate(() => window.weft.doc.toString()), "still editable");
  await until(async () => (await page.getByTestId("storage-status").textContent()) === "saved", "and stored");
});

test("the demo without IndexedDB says so, and edits in memory", async () => {
  const browser = await launch();
  browsers.push(browser);
  const context = await browser.newContext();
  // As in some private modes: no IndexedDB at all.
  await context.addInitScript(() => delete window.indexedDB);
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  await page.goto(`${server.url}#room=private-${Date.now()}`);
  await page.waitForFunction(() => window.weftReady === true);
  assert.match(await page.getByTestId("errors").innerText(), /STORAGE_UNAVAILABLE: storage unavailable/);
  assert.equal(await page.getByTestId("storage-status").textContent(), "error");
  await typeAtEnd(page, "in memory");
  assert.equal(await page.evaluate(() => window.weft.doc.toString()), "in memory");
  assert.deepEqual(page.errors, []);
});

test("two windows of one browser edit together, with cursors", async () => {
  const room = `windows-${Date.now()}`;
  const first = await person("Ada", "#d1495b", room);
  // A second window of the same browser: synced through BroadcastChannel.
  const second = await first.context().newPage();
  await second.goto(`${server.url}#room=${room}`);
  await second.waitForFunction(() => window.weftReady === true);
  await typeAtEnd(first, "from the first window");
  await until(async () => (await editorText(second)) === "from the first window", "text reaches the other window");
  await until(async () => (await second.locator(".cm-weft-name").allInnerTexts()).includes("Ada"), "cursor of the first window shown");
  assert.deepEqual(await second.evaluate(() => window.weft.provider.peers.map((p) => p.via).sort()), ["server", "tab"]);
  await second.screenshot({ path: join(ARTIFACTS, "demo-two-windows.png") });
});
