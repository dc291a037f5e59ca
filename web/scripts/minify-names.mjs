// Shortens the names the wasm module imports and exports, and the glue's
// references to them. wasm-bindgen names each import after its function
// and a hash (`__wbg_close_70d38255291ae4c8`, all in module
// "./weft_wasm_bg.js"): about a hundred names of random hex that gzip
// cannot squeeze, 2.2 KB of the module gzipped. wasm-opt renames them (and
// the exports, and the module) to one or two letters and prints the
// mapping; this applies it to the glue, and fails the build if the glue
// does not hold a name exactly where it is expected.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

/**
 * Minifies `wasmPath`'s import and export names in place (wasm-opt at
 * `wasmOpt`, with `features`) and rewrites the glue at `gluePath` to match.
 */
export function minifyNames(wasmOpt, features, wasmPath, gluePath) {
  const out = execFileSync(wasmOpt, ["--minify-imports-and-exports-and-modules", ...features, wasmPath, "-o", wasmPath]).toString();
  const map = JSON.parse(out.slice(out.indexOf("{"), out.lastIndexOf("}") + 1));
  const modules = new Set(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmPath))).map((i) => i.module));
  if (modules.size !== 1) throw new Error(`expected the imports in one module, found ${[...modules]}`);
  const [module] = modules;
  let glue = readFileSync(gluePath, "utf8");
  const replace = (pattern, to, what) => {
    const before = glue;
    glue = glue.replace(pattern, to);
    if (glue === before) throw new Error(`minify-names: ${what} not found in the glue`);
  };
  for (const [from, name, to] of map.imports) {
    if (from !== "./weft_wasm_bg.js") throw new Error(`unexpected import module ${from}`);
    // A key of the imports object: `        name: function(`.
    replace(new RegExp(`^(\\s+)${name}(?=:)`, "m"), `$1${JSON.stringify(to)}`, `import ${name}`);
  }
  replace(/"\.\/weft_wasm_bg\.js": import0/, `${JSON.stringify(module)}: import0`, "the imports' module");
  for (const [name, to] of map.exports) {
    // Every use: `wasm.name`, not a longer name that starts with it (some
    // exports, such as the abort handler, the glue never uses).
    glue = glue.replace(new RegExp(`\\bwasm\\.${name.replace(/\$/g, "\\$")}(?![\\w$])`, "g"), `wasm[${JSON.stringify(to)}]`);
  }
  const left = glue.match(/\bwasm\.[A-Za-z_$][\w$]*/);
  if (left) throw new Error(`minify-names: the glue uses ${left[0]}, which the module no longer exports`);
  writeFileSync(gluePath, glue);
}
