//! A panic hook that reports clearly. Every input is validated at the
//! boundary, so it should never fire; if it does, the instance is poisoned and
//! the message says so.

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
            "weft: internal error (a bug; please report it). This WebAssembly instance can no longer be used: {info}"
        ));
    }));
}
