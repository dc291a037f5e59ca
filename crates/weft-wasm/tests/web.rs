#![cfg(target_arch = "wasm32")]
//! The binding in a real browser (headless Chromium through
//! `wasm-pack test --headless --chrome`).

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use weft_wasm::RawDoc;

wasm_bindgen_test_configure!(run_in_browser);

fn prop(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

#[wasm_bindgen_test]
fn edits_use_utf16_indices() {
    let mut d = RawDoc::new(1);
    d.insert(0.0, "a\u{1F600}b".into()).unwrap();
    assert_eq!(d.length(), 4.0);
    d.insert(3.0, "c".into()).unwrap();
    assert_eq!(d.to_text(), "a\u{1F600}cb");
    d.delete(1.0, 2.0).unwrap();
    assert_eq!(d.to_text(), "acb");
}

#[wasm_bindgen_test]
fn bad_indices_are_range_errors_with_codes() {
    let mut d = RawDoc::new(1);
    d.insert(0.0, "a\u{1F600}".into()).unwrap();
    let e = d.insert(2.0, "x".into()).unwrap_err();
    assert!(e.is_instance_of::<js_sys::RangeError>());
    assert_eq!(prop(&e, "code").as_string().unwrap(), "NOT_CHAR_BOUNDARY");
    let e = d.insert(f64::NAN, "x".into()).unwrap_err();
    assert_eq!(prop(&e, "code").as_string().unwrap(), "INVALID_ARGUMENT");
    let e = d.delete(1.0, 1e12).unwrap_err();
    assert!(e.is_instance_of::<js_sys::RangeError>());
    assert_eq!(d.to_text(), "a\u{1F600}");
}

#[wasm_bindgen_test]
fn text_that_is_not_a_string_is_a_type_error() {
    let mut d = RawDoc::new(1);
    for text in [
        JsValue::from(123),
        JsValue::NULL,
        JsValue::TRUE,
        js_sys::Object::new().into(),
        js_sys::BigInt::from(5).into(),
        js_sys::Symbol::for_("s").into(),
    ] {
        let e = d.insert(0.0, text).unwrap_err();
        assert!(e.is_instance_of::<js_sys::TypeError>());
        assert_eq!(prop(&e, "code").as_string().unwrap(), "INVALID_ARGUMENT");
    }
    d.insert(0.0, "still fine".into()).unwrap();
    assert_eq!(d.to_text(), "still fine");
}

#[wasm_bindgen_test]
fn garbage_updates_fail_without_changing_anything() {
    let mut d = RawDoc::new(1);
    d.insert(0.0, "keep".into()).unwrap();
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
    a.insert(0.0, "hello".into()).unwrap();
    let patches: Array = b
        .apply_update(&a.encode_update(None).unwrap())
        .unwrap()
        .unchecked_into();
    assert_eq!(patches.length(), 1);
    let p = patches.get(0);
    assert_eq!(prop(&p, "index").as_f64(), Some(0.0));
    assert_eq!(prop(&p, "insert").as_string().unwrap(), "hello");
    b.insert(5.0, "!".into()).unwrap();
    a.apply_update(&b.encode_update(Some(a.version())).unwrap())
        .unwrap();
    assert_eq!(a.to_text(), "hello!");
    let c = RawDoc::load(&a.encode_state().unwrap(), 3).unwrap();
    assert_eq!(c.to_text(), "hello!");
}

#[wasm_bindgen_test]
fn sticky_indices_resolve_after_edits() {
    let mut d = RawDoc::new(1);
    d.insert(0.0, "ab".into()).unwrap();
    let s = d.sticky_index(1.0, true).unwrap();
    d.insert(0.0, "\u{1F600}".into()).unwrap();
    assert_eq!(d.resolve_sticky(&s).unwrap(), 3.0);
}
