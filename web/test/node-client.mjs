// Shared by the Node tests that connect to a real server: a Node process of
// its own to run providers in, driven by the test. Of its own because
// providers of one process sync with each other as tabs of one browser
// (over BroadcastChannel), never through the server; and Node 20 has a
// WebSocket only behind --experimental-websocket. No tests of its own.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(condition, what, ms = 20_000) {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** What a provider reports, kept as plain data (to be sent to the test). */
function record(provider) {
  const log = { errors: [], statuses: [], joins: [], leaves: [] };
  const peer = (e) => ({ peer: e.peer, via: e.via, ...(e.url !== undefined ? { url: e.url } : {}) });
  provider.on("error", (e) => log.errors.push({ code: e.code, message: e.message, url: e.url }));
  provider.on("status", (s) => log.statuses.push(s));
  provider.on("peerJoin", (e) => log.joins.push(peer(e)));
  provider.on("peerLeave", (e) => log.leaves.push(peer(e)));
  return log;
}

/**
 * Starts a client process. `evaluate(fn, arg)` runs `fn(ctx, arg)` there
 * (its source: it sees nothing of the test's scope) and resolves with what
 * it returns (structured-cloned). `ctx` lasts as long as the process: `weft`
 * (the package), `until(condition, what, ms)`, `sleep(ms)`,
 * `record(provider)` (its events as plain data), and whatever the test
 * keeps on it.
 */
export async function nodeClient() {
  const execArgv = typeof WebSocket === "function" ? [] : ["--experimental-websocket", "--no-warnings"];
  const child = fork(fileURLToPath(import.meta.url), ["--node-client"], { execArgv, serialization: "advanced", stdio: ["ignore", "pipe", "pipe", "ipc"] });
  let output = "";
  for (const stream of [child.stdout, child.stderr]) stream.setEncoding("utf8").on("data", (text) => (output = (output + text).slice(-20_000)));
  const pending = new Map();
  let nextId = 0;
  let exited;
  const ready = new Promise((resolve, reject) => {
    child.on("message", (m) => {
      if (m.ready) return resolve();
      const call = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) call?.reject(new Error(`in the client process: ${m.error}`));
      else call?.resolve(m.value);
    });
    child.on("exit", (code, signal) => {
      exited = new Error(`the client process exited (${signal ?? code}): ${output}`);
      reject(exited);
      for (const call of pending.values()) call.reject(exited);
      pending.clear();
    });
  });
  await ready;
  return {
    evaluate(fn, arg) {
      if (exited) return Promise.reject(exited);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, source: fn.toString(), arg });
      });
    },
    /** Whether it still runs (nothing the package did ended it). */
    get alive() {
      return exited === undefined;
    },
    async close() {
      if (exited) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await gone;
    },
  };
}

if (process.argv[2] === "--node-client" && process.send) {
  const weft = await import("weft");
  const ctx = { weft, until, sleep, record };
  process.on("message", async ({ id, source, arg }) => {
    try {
      const fn = (0, eval)(`(${source})`);
      process.send({ id, value: await fn(ctx, arg) });
    } catch (err) {
      process.send({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  });
  process.send({ ready: true });
}
