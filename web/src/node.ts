// Node entry: reads the WebAssembly module from the package and initialises
// it synchronously during import, so `Doc` is ready to use at once.

import { readFile } from "node:fs/promises";
import { initSync } from "../wasm/weft_wasm.js";

initSync({ module: await readFile(new URL("../wasm/weft_wasm_bg.wasm", import.meta.url)) });

export * from "./api.js";
