// Builds the package: the wasm binding with wasm-pack (release, wasm-opt),
// then the TypeScript layer with tsc.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { rmSync } from "node:fs";
import { minifyNames } from "./minify-names.mjs";

const web = dirname(dirname(fileURLToPath(import.meta.url)));
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: "inherit", cwd: web, ...opts });

const env = { ...process.env };
// Use the toolchain that can build wasm32 (see scripts/wasm-toolchain.sh).
const toolchain = execFileSync("bash", ["-c", `source ${join(web, "../scripts/wasm-env.sh")}; echo -n "$RUSTUP_TOOLCHAIN"`]).toString();
if (toolchain) env.RUSTUP_TOOLCHAIN = toolchain;
// The standard library is built from source for this build (cargo's
// build-std, into the target directory; its source is the toolchain's, see
// scripts/wasm-toolchain.sh) with panics that abort at once: no panic
// messages, locations or hook, so none of Rust's panic formatting is in the
// module (about 16 KB less gzipped). A panic still traps, as it did, and the
// TypeScript Doc reports itself broken (DOCUMENT_BROKEN); `wasm-pack test`
// keeps the prebuilt library, panic messages and the hook (src/panic.rs).
// The first build in a target directory compiles the library too (about a
// minute more, its dependencies fetched from crates.io). These are unstable
// options of the stable toolchain (Rust 1.92 or later), hence
// RUSTC_BOOTSTRAP, as in scripts/wasm-toolchain.sh's library build. With it
// rustc also takes nightly's default of v0 symbol names, which wasm-bindgen
// puts in export names: legacy ones are shorter. The flags go to the wasm32
// crates only (cargo gives no build script or proc macro RUSTFLAGS when
// given --target), after any the caller set.
//
// `-Zlocation-detail=none` drops the source paths of panic locations from
// the data (about 0.7 KB less gzipped): nothing reads them when panics
// abort at once. The library's `optimize_for_size` feature picks its
// smaller variants of the same functions (integer formatting for error
// messages, mostly): about 0.9 KB less gzipped, the same results.
//
// The inliner's threshold, given explicitly: at opt-level "z" LLVM inlines
// a call only if it costs under 5 (its minimum-size cap), which an explicit
// threshold replaces. At 12, calls to small helpers (a summary's add, a
// span's accessors, a text measure) go away: the module is ~300 B smaller
// gzipped, and the same code built natively at "z" replays the traces
// about 20% faster (measured 6 to 40: 12 is the smallest module and as
// fast as 40; 25 and over grow it by 1.3 KB and more).
env.RUSTC_BOOTSTRAP = "1";
const rustflags = ["-Zunstable-options", "-Cpanic=immediate-abort", "-Csymbol-mangling-version=legacy", "-Cllvm-args=-inline-threshold=12", "-Zlocation-detail=none"];
const callerFlags = env.CARGO_ENCODED_RUSTFLAGS
  ? env.CARGO_ENCODED_RUSTFLAGS.split("\x1f")
  : (env.RUSTFLAGS ?? "").split(/\s+/).filter(Boolean);
env.CARGO_ENCODED_RUSTFLAGS = [...callerFlags, ...rustflags].join("\x1f");
delete env.RUSTFLAGS;
run("wasm-pack", ["build", "--profile", "wasm", "--no-opt", "--target", "web", "--no-pack", "--out-dir", join(web, "wasm"), join(web, "../crates/weft-wasm"),
  "--", "-Zbuild-std=std,panic_abort", "-Zbuild-std-features=optimize_for_size"], { env });
// wasm-pack writes a ".gitignore" of "*" into its output, which npm would
// apply to wasm/snippets (inline JavaScript) and leave it out of the package.
rmSync(join(web, "wasm/.gitignore"), { force: true });
// wasm-opt from binaryen on npm (Debian's is too old for the reference-type
// tables wasm-bindgen emits), told which features rustc's wasm32 target
// uses (its defaults), shrinks the module by about a third. `--converge`
// repeats the passes while they gain; `--low-memory-unused` lets it fold
// constant offsets into loads and stores, true of rustc's wasm32 layout
// (the stack comes first and grows down from 1 MiB towards address 0, so
// the low 1 KiB is only reached past a 1 MiB stack). Together with
// dropping the producers section: about 1.9 KB less gzipped. Flattening
// and re-running the relooper first, then -Oz twice, rebuilds the control
// flow rustc emitted into smaller code: about 0.9 KB less again, for a
// minute more of wasm-opt.
const wasm = join(web, "wasm/weft_wasm_bg.wasm");
const wasmOpt = join(web, "node_modules/.bin/wasm-opt");
const features = ["--enable-reference-types", "--enable-bulk-memory", "--enable-sign-ext", "--enable-mutable-globals", "--enable-nontrapping-float-to-int", "--enable-multivalue"];
const optimize = (...more) =>
  run(wasmOpt, ["--flatten", "--rereloop", "-Oz", "-Oz", ...more, "--low-memory-unused", "--strip-producers", ...features, wasm, "-o", wasm]);
optimize("--converge");
// Then the names of imports and exports, one or two letters each (see
// minify-names.mjs): about 2.2 KB less gzipped; and the passes once more,
// which then find about 0.8 KB more (half a minute), without `--converge`
// this time: its smallest module gzips larger.
minifyNames(wasmOpt, features, wasm, join(web, "wasm/weft_wasm.js"));
optimize();
run(process.execPath, [join(web, "node_modules/typescript/bin/tsc"), "-p", join(web, "tsconfig.json")]);
