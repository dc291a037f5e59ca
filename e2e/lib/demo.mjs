// The demo app (www/) for the tests that drive it as people do: built and
// served by weft-server, each person a browser process of their own.
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildApp } from "./serve.mjs";
import { E2E } from "./package.mjs";
import { launchRtcContext } from "./browser.mjs";
import { startSignal } from "./signal.mjs";
import { assertLoopbackOnly } from "./netns.mjs";

/**
 * Builds the demo (so it cannot rot) and serves it with the signaling
 * server. `person(name, color, room)` opens it in a new browser as someone
 * with that identity (uncaught page errors in `page.errors`); `stop()`
 * closes every browser and the server.
 */
export async function startDemo() {
  assertLoopbackOnly();
  const server = await startSignal({ staticDir: await buildApp(join(E2E, "..", "www")) });
  const browsers = [];
  return {
    server,
    browsers,
    async person(name, color, room) {
      const { browser, context } = await launchRtcContext({ viewport: { width: 1100, height: 700 } });
      browsers.push(browser);
      await context.addInitScript((me) => sessionStorage.setItem("weft-demo:identity", JSON.stringify(me)), { name, color });
      const page = await context.newPage();
      page.errors = [];
      page.on("pageerror", (e) => page.errors.push(String(e)));
      await page.goto(`${server.url}#room=${room}`);
      await page.waitForFunction(() => window.weftReady === true);
      return page;
    },
    async stop() {
      await Promise.all(browsers.map((b) => b.close()));
      await server.stop();
    },
  };
}

/** The text on screen in the editor, without other people's name labels (run in the page). */
export function editorTextInPage() {
  return [...document.querySelectorAll("[data-testid=editor] .cm-line")]
    .map((line) => {
      const copy = line.cloneNode(true);
      copy.querySelectorAll(".cm-weft-caret").forEach((c) => c.remove());
      return copy.textContent;
    })
    .join("\n");
}

/** The text on screen in the editor of `p`. */
export const editorText = (p) => p.evaluate(editorTextInPage);

export async function typeAtEnd(page, text) {
  await page.locator("[data-testid=editor]").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type(text, { delay: 10 });
}

export async function until(check, message, timeoutMs = 20_000, explain = async () => "") {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${message} ${await explain()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
