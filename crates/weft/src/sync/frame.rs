//! Framing: messages split into frames of at most `MAX_FRAME` bytes, and
//! reassembled on the other side.

use super::budget::Budget;
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

/// Why a frame was refused.
#[derive(Debug)]
pub enum FrameError {
    /// Not a valid frame, or out of sequence.
    Invalid(DecodeError),
    /// Buffering it would exceed the budget (or the whole it is a share
    /// of) whose limit this is.
    OverBudget(usize),
}

impl From<DecodeError> for FrameError {
    fn from(e: DecodeError) -> Self {
        FrameError::Invalid(e)
    }
}

/// Reassembles frames into messages, holding what it buffers against a
/// shared budget.
#[derive(Debug, Default)]
pub struct Reassembly {
    buf: Vec<u8>,
    expected: Option<usize>,
    budget: Budget,
    /// Bytes taken from `budget`: the buffer's capacity.
    charged: usize,
}

impl Reassembly {
    /// A reassembly buffering against `budget`.
    pub fn new(budget: Budget) -> Reassembly {
        Reassembly {
            buf: Vec::new(),
            expected: None,
            budget,
            charged: 0,
        }
    }

    /// Adds a frame; returns a complete message when this frame ends one.
    /// After an error, whatever was buffered is dropped.
    pub fn push(
        &mut self,
        frame: &[u8],
        max_message: usize,
    ) -> Result<Option<Vec<u8>>, FrameError> {
        let pushed = self.push_inner(frame, max_message);
        if pushed.is_err() {
            self.reset();
        }
        pushed
    }

    fn push_inner(
        &mut self,
        frame: &[u8],
        max_message: usize,
    ) -> Result<Option<Vec<u8>>, FrameError> {
        if frame.len() > MAX_FRAME {
            return Err(DecodeError::LengthTooLarge {
                declared: frame.len() as u64,
                max: MAX_FRAME as u64,
            }
            .into());
        }
        let mut r = Reader::new(frame);
        let version = r.u8()?;
        if version != PROTOCOL_VERSION {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        let flags = r.u8()?;
        if flags & !(FIRST | LAST) != 0 {
            return Err(DecodeError::InvalidValue("frame flags").into());
        }
        match (flags & FIRST != 0, self.expected) {
            (true, None) => {
                let len = r.uvar()?;
                if len > max_message as u64 {
                    return Err(DecodeError::LengthTooLarge {
                        declared: len,
                        max: max_message as u64,
                    }
                    .into());
                }
                self.expected = Some(len as usize);
            }
            (false, Some(_)) => {}
            _ => return Err(DecodeError::InvalidValue("frame out of sequence").into()),
        }
        let expected = self.expected.expect("set above");
        let chunk = r.take(r.remaining())?;
        let needed = self.buf.len() + chunk.len();
        if needed > expected {
            return Err(DecodeError::InvalidValue("frames longer than their message").into());
        }
        if flags & LAST != 0 && needed != expected {
            return Err(DecodeError::InvalidValue("frames shorter than their message").into());
        }
        if flags & LAST != 0 && self.buf.is_empty() {
            // A message in one frame: no buffering.
            self.expected = None;
            return Ok(Some(chunk.to_vec()));
        }
        if needed > self.buf.capacity() {
            // Grows by doubling up to the declared length, and only as
            // bytes arrive: a declared length alone holds nothing.
            let capacity = needed.max(2 * self.buf.capacity()).min(expected);
            let more = capacity - self.charged;
            self.budget.take(more).map_err(FrameError::OverBudget)?;
            self.charged = capacity;
            self.buf.reserve_exact(capacity - self.buf.len());
        }
        self.buf.extend_from_slice(chunk);
        if flags & LAST == 0 {
            return Ok(None);
        }
        let message = std::mem::take(&mut self.buf);
        self.reset();
        Ok(Some(message))
    }

    /// Drops what is buffered and gives its budget back.
    fn reset(&mut self) {
        self.buf = Vec::new();
        self.expected = None;
        self.budget.give(self.charged);
        self.charged = 0;
    }
}

impl Drop for Reassembly {
    fn drop(&mut self) {
        self.budget.give(self.charged);
    }
}
