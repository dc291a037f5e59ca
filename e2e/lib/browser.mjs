// Launching Debian's Chromium with playwright-core (never a downloaded browser).
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
