//! A panic hook that reports clearly. Every input is validated at the
//! boundary, so it should never fire. If it does, the panic traps: the
//! object in use stays borrowed for good, and the TypeScript `Doc` reports
//! itself broken (code `DOCUMENT_BROKEN`, a `broken` event) so the
//! application can open the document again from storage.
//!
//! Not in the npm package's module, built with panics that abort at once
//! (`-Cpanic=immediate-abort`, see `web/scripts/build.mjs`): there a panic
//! traps straight away, with the same outcome, and no hook would run. Other
//! builds (`wasm-pack test`) keep the hook and its message.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!(
            "weft: internal error (a bug; please report it). The document in use is broken: open it again from storage. {info}"
        ));
    }));
}
