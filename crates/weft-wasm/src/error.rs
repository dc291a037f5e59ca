//! Core errors as JavaScript errors with a stable `code`: a `RangeError` for
//! indices and ranges, an `Error` named `WeftError` otherwise.

use js_sys::{Error as JsErr, RangeError, Reflect};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use weft::{DecodeError, Error};

/// The stable code of an error, for programs to test.
fn code(e: &Error) -> &'static str {
    match e {
        Error::IndexOutOfBounds { .. } => "INDEX_OUT_OF_BOUNDS",
        Error::NotCharBoundary { .. } => "NOT_CHAR_BOUNDARY",
        Error::InvalidRange { .. } => "INVALID_RANGE",
        Error::LineOutOfBounds { .. } => "LINE_OUT_OF_BOUNDS",
        Error::DocumentTooLarge => "DOCUMENT_TOO_LARGE",
        Error::UnknownAnchor => "UNKNOWN_ANCHOR",
        Error::UnknownVersion => "UNKNOWN_VERSION",
        Error::DeletedTextUnknown => "DELETED_TEXT_UNKNOWN",
        Error::InvalidAuthor => "INVALID_AUTHOR",
        Error::AuthorAfterEdits => "AUTHOR_AFTER_EDITS",
        Error::Decode(_) => "INVALID_ENCODING",
        _ => "WEFT_ERROR",
    }
}

fn decode_detail(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::UnexpectedEnd => "UNEXPECTED_END",
        DecodeError::BadMagic => "BAD_MAGIC",
        DecodeError::UnsupportedVersion(_) => "UNSUPPORTED_VERSION",
        DecodeError::WrongKind(_) => "WRONG_KIND",
        DecodeError::ChecksumMismatch { .. } => "CHECKSUM_MISMATCH",
        DecodeError::VarintOverflow => "VARINT_OVERFLOW",
        DecodeError::LengthTooLarge { .. } => "LENGTH_TOO_LARGE",
        DecodeError::InvalidUtf8 => "INVALID_UTF8",
        DecodeError::InvalidValue(_) => "INVALID_VALUE",
        DecodeError::InvalidReference => "INVALID_REFERENCE",
        DecodeError::TrailingBytes => "TRAILING_BYTES",
        _ => "INVALID_ENCODING",
    }
}

/// Converts a core error to a JavaScript error object.
pub fn to_js(e: Error) -> JsValue {
    let message = e.to_string();
    let err: JsValue = match e {
        Error::IndexOutOfBounds { .. }
        | Error::NotCharBoundary { .. }
        | Error::InvalidRange { .. }
        | Error::LineOutOfBounds { .. } => RangeError::new(&message).into(),
        _ => {
            let err = JsErr::new(&message);
            err.set_name("WeftError");
            err.into()
        }
    };
    set(&err, "code", code(&e));
    if let Error::Decode(d) = &e {
        set(&err, "reason", decode_detail(d));
    }
    err
}

/// An error for invalid arguments found by the binding itself.
pub fn range_error(message: &str, code: &str) -> JsValue {
    let err: JsValue = RangeError::new(message).into();
    set(&err, "code", code);
    err
}

fn set(target: &JsValue, key: &str, value: &str) {
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), &JsValue::from_str(value));
}

thread_local! {
    /// The error of the last call that answered with a plain number.
    static KEPT: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
}

/// `result`'s value, or `None` with its error kept for [`take_error`]: for
/// calls made per keystroke, whose `Result` would come back to JavaScript
/// as an array to allocate.
pub fn kept_aside<T>(result: Result<T, JsValue>) -> Option<T> {
    result.map_err(|e| KEPT.with(|k| *k.borrow_mut() = e)).ok()
}

/// The error the last failed `insert` or `delete` kept aside.
#[wasm_bindgen(js_name = takeError)]
pub fn take_error() -> JsValue {
    KEPT.with(|k| k.replace(JsValue::UNDEFINED))
}
