// Mints Weft access tokens the way an app's backend would: an HS256 JWT
// made with nothing but node:crypto (the README shows the same code).
import { createHmac } from "node:crypto";

const base64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A token granting `role` in `room` (or a prefix ending in `*`) until `exp` (seconds since the epoch). */
export function mintToken(secret, { room, role, exp = Math.floor(Date.now() / 1000) + 3600 }) {
  const unsigned = `${base64url({ alg: "HS256", typ: "JWT" })}.${base64url({ room, role, exp })}`;
  const signature = createHmac("sha256", secret).update(unsigned).digest("base64url");
  return `${unsigned}.${signature}`;
}
