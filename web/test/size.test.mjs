// The wasm module's size budget: 128 KiB gzipped (level 9, as
// scripts/budgets.sh reports it). A change that grows the module past it
// must pay for itself elsewhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET = 128 * 1024;

test("the wasm module is within its gzipped size budget", () => {
  const wasm = readFileSync(new URL("../wasm/weft_wasm_bg.wasm", import.meta.url));
  const gzipped = gzipSync(wasm, { level: 9 }).length;
  assert.ok(gzipped <= BUDGET, `${gzipped} bytes gzipped, over the budget of ${BUDGET}`);
});
