// Browser (and bundler) entry: importing the package initialises the
// WebAssembly module with top-level await, so `Doc` is ready to use at once.

import init from "../wasm/weft_wasm.js";

await init({ module_or_path: new URL("../wasm/weft_wasm_bg.wasm", import.meta.url) });

export * from "./api.js";
