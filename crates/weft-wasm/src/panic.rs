//! A panic hook that reports clearly. Every input is validated at the
//! boundary, so it should never fire. If it does, the panic traps: the
//! object in use stays borrowed for good, and the TypeScript `Doc` reports
//! itself broken (code `DOCUMENT_BROKEN`, a `broken` event) so the
//! application can open the document again from storage.

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
