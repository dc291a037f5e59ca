// Randomized: editors that only see change events (deltas) stay identical to
// their documents through local edits and concurrent remote merges, with
// astral characters so UTF-16 indices and surrogate pairs are exercised.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Doc, applyDelta } from "weft";

function rng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

const PIECES = ["a", "b", " ", "\n", "é", "😀", "中", "𝄞x", "xyz"];

/** A random UTF-16 index on a code point boundary. */
function boundary(s, r) {
  const cps = [...s];
  const k = r(cps.length + 1);
  return cps.slice(0, k).join("").length;
}

test("editors fed only deltas match their documents", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const r = rng(seed);
    const docs = [0, 1, 2].map((i) => new Doc({ replica: BigInt(seed * 10 + i) }));
    const mirrors = docs.map(() => "");
    docs.forEach((d, i) => d.on("change", (e) => { mirrors[i] = applyDelta(mirrors[i], e.delta); }));
    for (let step = 0; step < 150; step++) {
      const i = r(3);
      const d = docs[i];
      const text = d.toString();
      if (r(10) < 6 || text.length === 0) {
        d.insert(boundary(text, r), PIECES[r(PIECES.length)]);
      } else if (r(10) < 8) {
        const a = boundary(text, r);
        const b = boundary(text, r);
        d.delete(Math.min(a, b), Math.abs(a - b));
      } else {
        // Merge another replica's changes since what we last saw of it.
        const j = (i + 1 + r(2)) % 3;
        d.applyUpdate(docs[j].encodeUpdate(d.version()));
      }
      assert.equal(mirrors[i], d.toString(), `seed ${seed} step ${step}`);
    }
    for (const d of docs) for (const e of docs) e.applyUpdate(d.encodeUpdate(e.version()));
    for (let i = 0; i < 3; i++) {
      assert.equal(docs[i].toString(), docs[0].toString());
      assert.equal(mirrors[i], docs[i].toString());
    }
    docs.forEach((d) => d.free());
  }
});
