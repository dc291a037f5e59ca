// End-to-end encryption of sync frames with a room secret: AES-GCM with a
// key derived by PBKDF2 from the secret and the room name. A frame on the
// wire is a 12-byte random IV followed by the ciphertext and its tag.

const ITERATIONS = 200_000;
const IV_BYTES = 12;

/** The room's key, and a fingerprint naming it without revealing it. */
export interface RoomKey {
  key: CryptoKey;
  /** Hex; the same for everyone with the same secret and room. */
  fingerprint: string;
}

/** Derives the key for `room` from `secret`. */
export async function deriveRoomKey(secret: string, room: string): Promise<RoomKey> {
  const subtle = globalThis.crypto.subtle;
  const text = new TextEncoder();
  const material = await subtle.importKey("raw", text.encode(secret), "PBKDF2", false, ["deriveBits"]);
  const bits = new Uint8Array(
    await subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: text.encode(`weft-room:${room}`), iterations: ITERATIONS },
      material,
      512,
    ),
  );
  const key = await subtle.importKey("raw", bits.slice(0, 32), "AES-GCM", false, ["encrypt", "decrypt"]);
  const fingerprint = Array.from(bits.slice(32, 48), (b) => b.toString(16).padStart(2, "0")).join("");
  return { key, fingerprint };
}

/** Encrypts one frame. */
export async function seal(key: CryptoKey, frame: Uint8Array): Promise<Uint8Array> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, frame as BufferSource));
  const out = new Uint8Array(IV_BYTES + sealed.length);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return out;
}

/** Decrypts one frame; rejects when it was not sealed with this key. */
export async function open(key: CryptoKey, bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.length < IV_BYTES + 16) throw new Error("too short to be an encrypted frame");
  const iv = bytes.subarray(0, IV_BYTES) as BufferSource;
  return new Uint8Array(await globalThis.crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, bytes.subarray(IV_BYTES) as BufferSource));
}
