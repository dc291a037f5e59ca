// Hostile peers, against the built package: bytes crafted to exhaust memory
// or to split replicas get coded errors (or are refused alike everywhere),
// and the document stays usable.
import { test } from "node:test";
import assert from "node:assert/strict";
import { deflateRawSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { Doc } from "weft";

// ---- the update format (docs/format.md), just enough to craft updates ----

/** Unsigned LEB128. */
function uvar(n) {
  const out = [];
  let v = BigInt(n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function u64le(n) {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return [...b];
}

const CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});

/** CRC-32C, as the envelope's checksum. */
function crc32c(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** An update envelope around `body`. */
function seal(body) {
  const head = [0x57, 0x45, 0x46, 0x54, 1, 1];
  const all = Uint8Array.from([...head, ...body]);
  const crc = new Uint8Array(4);
  new DataView(crc.buffer).setUint32(0, crc32c(all), true);
  return Uint8Array.from([...all, ...crc]);
}

/** A stored column. */
const stored = (bytes) => [...uvar(bytes.length * 2), ...bytes];

/** A deflated column declaring `declared` bytes around `stream`. */
function deflated(declared, stream) {
  const inner = [...uvar(declared), ...stream];
  return [...uvar(inner.length * 2 + 1), ...inner];
}

/**
 * An update of one insert run of `text` (replica `replica`, its first
 * operation) with the given left and right references (already encoded, see
 * `ref` in docs/format.md), and a table listing `others` after it.
 */
function insertUpdate({ replica, text, left = [0], right = [0], others = [] }) {
  const len = [...text].length;
  const body = [
    ...uvar(1 + others.length),
    ...u64le(replica), ...uvar(0), ...uvar(len),
    ...others.flatMap((r) => [...u64le(r), ...uvar(0), ...uvar(0)]),
    ...uvar(1),
    ...stored([0, 1]), // replica column: table index 0, one run
    ...stored(uvar(len * 4)), // length column: kind 0, insert with text
    ...stored(left),
    ...stored(right),
    ...stored([]),
    ...stored([...new TextEncoder().encode(text)]),
  ];
  return seal(body);
}

/** An update whose length column declares `declared` bytes around `stream`. */
function bomb(declared, stream) {
  const body = [
    ...uvar(1), ...u64le(7), ...uvar(0), ...uvar(1),
    ...uvar(1),
    ...stored([0, 1]),
    ...deflated(declared, stream),
    ...stored([0]), ...stored([0]), ...stored([]), ...stored([0x78]),
  ];
  return seal(body);
}

const coded = (code) => (e) => {
  assert.equal(e.code, code, `${e.name}: ${e.message}`);
  return true;
};

/** The document still edits and reads normally. */
function usable(doc, expected) {
  assert.equal(doc.state, "open");
  assert.equal(doc.toString(), expected);
  doc.insert(doc.length, "!");
  assert.equal(doc.toString(), expected + "!");
  doc.delete(doc.length - 1, 1);
}

test("a column declaring gigabytes is refused before anything is allocated", () => {
  const doc = new Doc();
  doc.insert(0, "keep");
  const before = process.memoryUsage().rss;
  // Garbage deflate bytes claiming 2 GiB, and real zeros claiming as much.
  const garbage = bomb(2 ** 31 - 1, randomBytes(1_900_000));
  const zeros = bomb(2 ** 31 - 1, deflateRawSync(Buffer.alloc(64 << 20)));
  for (const update of [garbage, zeros, garbage]) {
    assert.throws(() => doc.applyUpdate(update), coded("INVALID_ENCODING"));
  }
  usable(doc, "keep");
  // The old decoder grew the process by about 2 GB here, and trapped.
  const grown = process.memoryUsage().rss - before;
  assert.ok(grown < 256 << 20, `the process grew by ${grown} bytes`);
  doc.free();
});

test("a column deflating far better than any honest one is refused", () => {
  const doc = new Doc();
  // 16 MiB of zeros in about 16 KB: a ratio no writer produces.
  const zeros = Buffer.alloc(16 << 20);
  assert.throws(() => doc.applyUpdate(bomb(zeros.length, deflateRawSync(zeros))), coded("INVALID_ENCODING"));
  usable(doc, "");
  doc.free();
});

test("honest documents that compress extremely well still sync", () => {
  // A megabyte of one character, and a bot that types and deletes forever:
  // whatever the writer produces, the reader accepts.
  const a = new Doc();
  a.insert(0, "a".repeat(1 << 20));
  for (let i = 0; i < 2000; i++) {
    a.insert(i % 7, "x");
    a.delete(i % 7, 1);
  }
  const b = new Doc();
  b.applyUpdate(a.encodeUpdate());
  assert.equal(b.toString(), a.toString());
  const c = Doc.load(a.encodeState());
  assert.equal(c.toString(), a.toString());
  for (const d of [a, b, c]) d.free();
});

test("crafted origins cannot make replicas disagree at the same version", () => {
  // The report's example: on "abc", X inserts "x" with neither origin and Y
  // inserts "y" between the start and 'b' (skipping 'a', which Y's author
  // must have known).
  const base = new Doc({ replica: 10n });
  base.insert(0, "abc");
  const x = insertUpdate({ replica: 20, text: "x" });
  // Left: none. Right: another replica's item (table index 1), seq 1 ('b').
  const y = insertUpdate({ replica: 21, text: "y", right: [3 + 1, ...uvar(1)], others: [10] });
  const results = [[x, y], [y, x]].map((order) => {
    const d = new Doc();
    d.applyUpdate(base.encodeUpdate());
    for (const u of order) {
      try {
        d.applyUpdate(u);
      } catch (e) {
        assert.ok(e.code, `an uncoded error: ${e}`);
      }
    }
    const out = { text: d.toString(), version: [...d.version()].join(",") };
    d.free();
    return out;
  });
  assert.deepEqual(results[0], results[1]);
  // The honest-looking one was taken, the crafted one refused.
  assert.equal(results[0].text, "abcx");
  base.free();
});
