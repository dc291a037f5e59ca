// Launching Debian's Chromium with playwright-core (never a downloaded browser).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Flags for a headless Chromium on these machines (see shared notes). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launch(options = {}) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, ...options });
}

/** A browser with a profile that survives restarts (and SIGKILL). */
export function launchPersistent(userDataDir) {
  return chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * A browser process of its own and a context in it where WebRTC works on
 * loopback (see shared notes): the flag, and capture permission, without
 * which ICE gathers no candidates. Run inside a loopback-only namespace.
 */
export async function launchRtcContext(contextOptions = {}) {
  const browser = await launch({ args: [...CHROMIUM_ARGS, "--allow-loopback-in-peer-connection"] });
  const context = await browser.newContext({ permissions: ["camera", "microphone"], ...contextOptions });
  return { browser, context };
}

/**
 * A page of the sync app at `url` in a browser process (and profile) of its
 * own, ready; `noWebRtc` removes WebRTC from it. Uncaught page errors are
 * collected in `page.errors`.
 */
export async function openSyncPage(url, { noWebRtc = false } = {}) {
  const { browser, context } = await launchRtcContext();
  if (noWebRtc) await context.addInitScript(() => delete window.RTCPeerConnection);
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.ready === true);
  return { page, browser };
}

/** Whether `text` is in a file of `dir` (a server's database and its write-ahead log). */
export function inFiles(dir, text) {
  return readdirSync(dir).some((f) => readFileSync(join(dir, f)).includes(text));
}
