// Durability across a crash: edits reported durable survive a SIGKILL of the
// whole browser, reopened with the same profile (real IndexedDB on disk).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "../lib/serve.mjs";
import { E2E, installPackedWeft } from "../lib/package.mjs";
import { launchPersistent } from "../lib/browser.mjs";

let server;
let url;

before(async () => {
  installPackedWeft();
  // One server (one port, so one storage origin) for the whole file.
  server = await serve(join(E2E, "store-app"));
  url = server.url;
});

after(async () => server?.close());

async function openPage(context) {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(url);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

test("every edit reported durable survives SIGKILL of the browser", async () => {
  const profile = mkdtempSync(join(tmpdir(), "weft-profile-"));
  const first = await launchPersistent(profile);
  const page = await openPage(first);
  const durable = await page.evaluate(async () => {
    window.store = await window.weft.Store.open("crash");
    const done = [];
    for (let i = 0; i < 40; i++) {
      const word = `w${i} `;
      window.store.doc.insert(window.store.doc.length, word);
      await window.store.whenDurable();
      done.push(word);
    }
    // More edits in flight when the browser dies: they may or may not land.
    for (let i = 40; i < 60; i++) window.store.doc.insert(window.store.doc.length, `w${i} `);
    return done;
  });
  // Kill every process of this browser at once, with no chance to flush.
  execFileSync("pkill", ["-9", "-f", profile]);
  await first.close().catch(() => {});
  const second = await launchPersistent(profile);
  try {
    const again = await openPage(second);
    const text = await again.evaluate(async () => (await window.weft.Store.open("crash")).doc.toString());
    for (const word of durable) assert.ok(text.includes(word), `${word.trim()} was reported durable but is missing`);
    // Whatever survived is a prefix of what was typed, never garbage.
    const words = text.split(" ").filter(Boolean);
    assert.deepEqual(words, words.map((_, i) => `w${i}`));
  } finally {
    await second.close();
  }
});
