// Throwaway PostgreSQL and Redis servers on free loopback ports (the
// weft-services binary), for servers that run as several nodes.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { workspaceBinary } from "./cargo.mjs";

/**
 * Starts them; returns their URLs (`postgres`, `redis`) and `stop()`. They
 * stop when the binary's standard input closes: at `stop()`, or when this
 * process ends, however it ends.
 */
export async function startServices({ postgres = true, redis = true } = {}) {
  const args = [];
  if (postgres) args.push("--postgres");
  if (redis) args.push("--redis");
  const child = spawn(workspaceBinary("weft-services"), args, { stdio: ["pipe", "pipe", "inherit"] });
  // Closing the pipe, not a signal: the binary then stops PostgreSQL and
  // Redis itself (killed, it would leave them running).
  const closeInput = () => child.stdin.destroy();
  process.once("exit", closeInput);
  const lines = createInterface({ input: child.stdout });
  const [line] = await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(([code]) => { throw new Error(`weft-services exited with ${code}`); }),
  ]);
  return {
    ...JSON.parse(line),
    async stop() {
      process.off("exit", closeInput);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      closeInput();
      await exited;
    },
  };
}
