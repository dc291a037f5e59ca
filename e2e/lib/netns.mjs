// WebRTC tests run only inside a network namespace with nothing but
// loopback (ICE would otherwise probe the machine's real interfaces).
import { networkInterfaces } from "node:os";

export function assertLoopbackOnly() {
  const others = Object.keys(networkInterfaces()).filter((name) => name !== "lo");
  if (others.length > 0) {
    throw new Error(
      `WebRTC tests must run in a loopback-only network namespace, but these interfaces exist: ${others.join(", ")}. ` +
        "Run them with `npm run test:rtc` (unshare -n, as root).",
    );
  }
}
