#![cfg(target_arch = "wasm32")]
//! The binding in a real browser (headless Chromium through
//! `wasm-pack test --headless --chrome`).

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use weft_wasm::{take_error, RawDoc};

wasm_bindgen_test_configure!(run_in_browser);

/// Asserts an edit succeeded (the binding answers with a plain value and
/// keeps the error aside).
fn ok(done: bool) {
    assert!(done, "{:?}", take_error());
}

fn prop(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

#[wasm_bindgen_test]
fn edits_use_utf16_indices() {
    let mut d = RawDoc::new(1);
    ok(d.insert(0.0, "a\u{1F600}b"));
    assert_eq!(d.length(), 4.0);
    ok(d.insert_unit(3.0, 'c' as u32));
    assert_eq!(d.to_text(), "a\u{1F600}cb");
    assert_eq!(d.delete(1.0, 2.0), 2.0);
    assert_eq!(d.to_text(), "acb");
}

#[wasm_bindgen_test]
fn bad_indices_are_range_errors_with_codes() {
    let mut d = RawDoc::new(1);
    ok(d.insert(0.0, "a\u{1F600}"));
    assert!(!d.insert(2.0, "x"));
    let e = take_error();
    assert!(e.is_instance_of::<js_sys::RangeError>());
    assert_eq!(prop(&e, "code").as_string().unwrap(), "NOT_CHAR_BOUNDARY");
    assert!(!d.insert(f64::NAN, "x"));
    let e = take_error();
    assert_eq!(prop(&e, "code").as_string().unwrap(), "INVALID_ARGUMENT");
    assert!(
        !d.insert_unit(1.0, 0xD800),
        "a surrogate is not a character"
    );
    assert_eq!(
        prop(&take_error(), "code").as_string().unwrap(),
        "INVALID_ARGUMENT"
    );
    assert_eq!(d.delete(1.0, 1e12), -1.0);
    let e = take_error();
    assert!(e.is_instance_of::<js_sys::RangeError>());
    assert_eq!(d.to_text(), "a\u{1F600}");
}

#[wasm_bindgen_test]
fn garbage_updates_fail_without_changing_anything() {
    let mut d = RawDoc::new(1);
    ok(d.insert(0.0, "keep"));
    for bytes in [
        &b"WEFT\x01\x01\x00garbage!"[..],
        &[0u8; 3][..],
        &[0xff; 64][..],
    ] {
        let e = d.apply_update(bytes).unwrap_err();
        assert_eq!(prop(&e, "name").as_string().unwrap(), "WeftError");
        assert_eq!(prop(&e, "code").as_string().unwrap(), "INVALID_ENCODING");
    }
    assert_eq!(d.to_text(), "keep");
}

#[wasm_bindgen_test]
fn updates_merge_and_report_patches() {
    let mut a = RawDoc::new(1);
    let mut b = RawDoc::new(2);
    ok(a.insert(0.0, "hello"));
    let patches: Array = b
        .apply_update(&a.encode_update(None).unwrap())
        .unwrap()
        .unchecked_into();
    assert_eq!(patches.length(), 1);
    let p = patches.get(0);
    assert_eq!(prop(&p, "index").as_f64(), Some(0.0));
    assert_eq!(prop(&p, "insert").as_string().unwrap(), "hello");
    ok(b.insert(5.0, "!"));
    a.apply_update(&b.encode_update(Some(a.version())).unwrap())
        .unwrap();
    assert_eq!(a.to_text(), "hello!");
    let c = RawDoc::load(&a.encode_state().unwrap(), 3).unwrap();
    assert_eq!(c.to_text(), "hello!");
}

#[wasm_bindgen_test]
fn sticky_indices_resolve_after_edits() {
    let mut d = RawDoc::new(1);
    ok(d.insert(0.0, "ab"));
    let s = d.sticky_index(1.0, true).unwrap();
    ok(d.insert(0.0, "\u{1F600}"));
    assert_eq!(d.resolve_sticky(&s).unwrap(), 3.0);
}
