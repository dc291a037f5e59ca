//! Framing: messages split into frames of at most `MAX_FRAME` bytes, and
//! reassembled on the other side.

use crate::encoding::{Reader, Writer};
use crate::DecodeError;

/// The protocol version, the first byte of every frame.
pub const PROTOCOL_VERSION: u8 = 1;

/// Largest frame: 16 KiB, which every WebRTC implementation accepts.
pub const MAX_FRAME: usize = 16 * 1024;

/// Frame header: version, flags, then (first frame only) the message length.
const FIRST: u8 = 1;
const LAST: u8 = 2;

/// Splits a message into frames. The first frame carries the message length
/// so the receiver can refuse oversized messages before buffering them.
pub fn split(message: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut rest = message;
    let mut first = true;
    loop {
        let mut w = Writer::default();
        let mut flags = 0;
        if first {
            flags |= FIRST;
        }
        let header_room = 2 + if first { 10 } else { 0 };
        let take = rest.len().min(MAX_FRAME - header_room);
        if take == rest.len() {
            flags |= LAST;
        }
        w.bytes(&[PROTOCOL_VERSION, flags]);
        if first {
            w.uvar(message.len() as u64);
        }
        w.bytes(&rest[..take]);
        frames.push(w.into_bytes());
        rest = &rest[take..];
        first = false;
        if flags & LAST != 0 {
            return frames;
        }
    }
}

/// Reassembles frames into messages.
#[derive(Debug, Default)]
pub struct Reassembly {
    buf: Vec<u8>,
    expected: Option<usize>,
}

impl Reassembly {
    /// Adds a frame; returns a complete message when this frame ends one.
    pub fn push(
        &mut self,
        frame: &[u8],
        max_message: usize,
    ) -> Result<Option<Vec<u8>>, DecodeError> {
        if frame.len() > MAX_FRAME {
            return Err(DecodeError::LengthTooLarge {
                declared: frame.len() as u64,
                max: MAX_FRAME as u64,
            });
        }
        let mut r = Reader::new(frame);
        let version = r.u8()?;
        if version != PROTOCOL_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let flags = r.u8()?;
        if flags & !(FIRST | LAST) != 0 {
            return Err(DecodeError::InvalidValue("frame flags"));
        }
        match (flags & FIRST != 0, self.expected) {
            (true, None) => {
                let len = r.uvar()?;
                if len > max_message as u64 {
                    return Err(DecodeError::LengthTooLarge {
                        declared: len,
                        max: max_message as u64,
                    });
                }
                self.expected = Some(len as usize);
                self.buf.clear();
            }
            (false, Some(_)) => {}
            _ => return Err(DecodeError::InvalidValue("frame out of sequence")),
        }
        let expected = self.expected.expect("set above");
        let chunk = r.take(r.remaining())?;
        if self.buf.len() + chunk.len() > expected {
            return Err(DecodeError::InvalidValue(
                "frames longer than their message",
            ));
        }
        self.buf.extend_from_slice(chunk);
        if flags & LAST == 0 {
            return Ok(None);
        }
        if self.buf.len() != expected {
            return Err(DecodeError::InvalidValue(
                "frames shorter than their message",
            ));
        }
        self.expected = None;
        Ok(Some(std::mem::take(&mut self.buf)))
    }
}
