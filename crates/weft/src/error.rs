//! The error type of every fallible operation in the core.

use crate::IndexUnit;
use std::fmt;

/// Everything that can go wrong when editing, reading, encoding or decoding a
/// document. Errors never leave the document half-changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An index (or the end of a range) lies past the end of the document.
    IndexOutOfBounds {
        /// The offending index.
        index: usize,
        /// The document length in the same unit.
        len: usize,
        /// The unit both are measured in.
        unit: IndexUnit,
    },
    /// An index falls inside a character: between the two halves of a UTF-16
    /// surrogate pair, or inside a multi-byte UTF-8 sequence.
    NotCharBoundary {
        /// The offending index.
        index: usize,
        /// The unit it is measured in.
        unit: IndexUnit,
    },
    /// A range whose start lies after its end.
    InvalidRange {
        /// Start of the range.
        start: usize,
        /// End of the range.
        end: usize,
    },
    /// A line number past the last line.
    LineOutOfBounds {
        /// The offending line (0-based).
        line: usize,
        /// The number of lines in the document.
        lines: usize,
    },
    /// The document would grow past the largest size Weft supports (2^31 - 1
    /// items including tombstones, bytes of text, or operations of one replica).
    DocumentTooLarge,
    /// A sticky position names a character this document has not received.
    UnknownAnchor,
    /// A version names operations this document has not received.
    UnknownVersion,
    /// The text of a deleted character never reached this replica (it
    /// arrived already deleted), so the past text it belongs to is unknown.
    DeletedTextUnknown,
    /// An author id that is empty or longer than
    /// [`MAX_AUTHOR_BYTES`](crate::MAX_AUTHOR_BYTES).
    InvalidAuthor,
    /// An author id given after this replica made an edit or got one.
    AuthorAfterEdits,
    /// Bytes given to a decoder are not a valid Weft encoding.
    Decode(DecodeError),
}

/// Why a byte sequence failed to decode. Decoding checks everything before any
/// of it is applied, so a decode error means nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the structure it describes.
    UnexpectedEnd,
    /// The first bytes are not the Weft magic.
    BadMagic,
    /// A format version this build does not understand.
    UnsupportedVersion(u8),
    /// The kind byte names neither an update nor a snapshot (nor the expected kind).
    WrongKind(u8),
    /// The stored checksum does not match the content.
    ChecksumMismatch {
        /// Checksum recorded in the bytes.
        stored: u32,
        /// Checksum computed over the bytes.
        computed: u32,
    },
    /// A variable-length integer is longer than its type allows.
    VarintOverflow,
    /// A count or length exceeds what the input could possibly hold.
    LengthTooLarge {
        /// The declared length.
        declared: u64,
        /// The most the remaining input allows.
        max: u64,
    },
    /// Text is not valid UTF-8.
    InvalidUtf8,
    /// A field has a value outside its allowed range; the name says which field.
    InvalidValue(&'static str),
    /// An operation refers to a character that does not exist (for example an
    /// origin that names a deletion rather than an inserted character).
    InvalidReference,
    /// Bytes remain after the structure ended.
    TrailingBytes,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::IndexOutOfBounds { index, len, unit } => write!(
                f,
                "index {index} is out of bounds: the document is {len} {} long",
                unit.name()
            ),
            Error::NotCharBoundary { index, unit } => write!(
                f,
                "index {index} ({}) falls inside a character",
                unit.name()
            ),
            Error::InvalidRange { start, end } => {
                write!(f, "range start {start} is after its end {end}")
            }
            Error::LineOutOfBounds { line, lines } => {
                write!(
                    f,
                    "line {line} is out of bounds: the document has {lines} lines"
                )
            }
            Error::DocumentTooLarge => f.write_str("the document would exceed the maximum size"),
            Error::UnknownAnchor => {
                f.write_str("the sticky position's character is not in this document yet")
            }
            Error::UnknownVersion => {
                f.write_str("the version names operations this document has not received")
            }
            Error::DeletedTextUnknown => f.write_str(
                "the text of a deleted character never reached this replica (it arrived already deleted)",
            ),
            Error::InvalidAuthor => f.write_str("an author id must be 1 to 128 bytes of UTF-8"),
            Error::AuthorAfterEdits => f.write_str(
                "the author id must be set before the first edit, and only once",
            ),
            Error::Decode(e) => write!(f, "cannot decode: {e}"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnexpectedEnd => f.write_str("the input ended early"),
            DecodeError::BadMagic => f.write_str("not Weft data (bad magic)"),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            DecodeError::WrongKind(k) => write!(f, "unexpected kind byte {k}"),
            DecodeError::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            DecodeError::VarintOverflow => f.write_str("a variable-length integer overflows"),
            DecodeError::LengthTooLarge { declared, max } => {
                write!(f, "declared length {declared} exceeds the {max} available")
            }
            DecodeError::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            DecodeError::InvalidValue(field) => write!(f, "invalid value in field `{field}`"),
            DecodeError::InvalidReference => {
                f.write_str("an operation refers to a character that does not exist")
            }
            DecodeError::TrailingBytes => f.write_str("unexpected bytes after the end"),
        }
    }
}

impl std::error::Error for Error {}
impl std::error::Error for DecodeError {}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}
