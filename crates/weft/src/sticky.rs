//! Sticky positions: cursors anchored to a character, not to an index.

use crate::encoding::{Reader, Writer};
use crate::{DecodeError, Doc, Error, IndexUnit, OpId};

/// Which neighbour a sticky position holds on to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bias {
    /// Sticks to the character on its left: text inserted at the position
    /// appears after it.
    Left,
    /// Sticks to the character on its right: text inserted at the position
    /// appears before it (the position moves right).
    Right,
}

/// A position that survives concurrent edits: it names a character and a
/// side, and resolves to the matching index in any later version, even after
/// that character is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StickyIndex {
    anchor: Option<OpId>,
    bias: Bias,
}

const STICKY_VERSION: u8 = 1;

impl StickyIndex {
    /// The side it sticks to.
    pub fn bias(&self) -> Bias {
        self.bias
    }

    /// The character it holds on to (`None`: an end of the document).
    pub(crate) fn anchor(&self) -> Option<OpId> {
        self.anchor
    }

    /// The same position held on to `anchor` instead.
    pub(crate) fn with_anchor(self, anchor: OpId) -> StickyIndex {
        StickyIndex {
            anchor: Some(anchor),
            ..self
        }
    }

    /// Encodes to bytes: version, bias, then the anchor's replica and counter.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(&[STICKY_VERSION, self.bias as u8]);
        match self.anchor {
            None => w.bytes(&[0]),
            Some(id) => {
                w.bytes(&[1]);
                w.u64_le(id.replica);
                w.uvar(u64::from(id.seq));
            }
        }
        w.into_bytes()
    }

    /// Decodes bytes made by [`StickyIndex::encode`].
    ///
    /// # Errors
    /// A [`DecodeError`] for anything else.
    pub fn decode(bytes: &[u8]) -> Result<StickyIndex, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = r.u8()?;
        if v != STICKY_VERSION {
            return Err(DecodeError::UnsupportedVersion(v));
        }
        let bias = match r.u8()? {
            0 => Bias::Left,
            1 => Bias::Right,
            _ => return Err(DecodeError::InvalidValue("sticky bias")),
        };
        let anchor = match r.u8()? {
            0 => None,
            1 => Some(OpId {
                replica: r.u64_le()?,
                seq: r.u32var()?,
            }),
            _ => return Err(DecodeError::InvalidValue("sticky anchor flag")),
        };
        r.finish()?;
        Ok(StickyIndex { anchor, bias })
    }
}

impl Doc {
    /// A sticky position at `index` (in `unit`).
    ///
    /// # Errors
    /// As [`Doc::insert`] for `index`.
    pub fn sticky_index(
        &mut self,
        index: usize,
        bias: Bias,
        unit: IndexUnit,
    ) -> Result<StickyIndex, Error> {
        let c = self.unit_to_chars(index, unit)?;
        let anchor_char = match bias {
            Bias::Left => c.checked_sub(1),
            Bias::Right => (c < self.total().text.chars).then_some(c),
        };
        let mut anchor_loc = anchor_char.map(|c| self.tree.locate_visible(c));
        if let Some(loc) = anchor_loc.filter(|loc| self.tree.is_cold(loc.leaf)) {
            // A page not decoded yet: decode it (in place, once).
            self.thaw(loc.leaf)?;
            anchor_loc = anchor_char.map(|c| self.tree.locate_visible(c));
        }
        let anchor = anchor_loc.map(|loc| {
            let id = self.id_at(loc);
            OpId {
                replica: self.history.replica(id.agent()),
                seq: id.seq(),
            }
        });
        Ok(StickyIndex { anchor, bias })
    }

    /// Where `sticky` is now, in `unit`.
    ///
    /// O(log n).
    ///
    /// # Errors
    /// [`Error::UnknownAnchor`] when its character has not reached this
    /// document yet.
    pub fn resolve_sticky(
        &mut self,
        sticky: &StickyIndex,
        unit: IndexUnit,
    ) -> Result<usize, Error> {
        let Some(id) = sticky.anchor else {
            return Ok(match sticky.bias {
                Bias::Left => 0,
                Bias::Right => self.len(unit),
            });
        };
        if !self.history.has(id.replica, id.seq) {
            return Err(Error::UnknownAnchor);
        }
        let find = |doc: &Doc| {
            doc.history
                .agent_of(id.replica)
                .and_then(|a| doc.tree.locate(a, id.seq))
        };
        let loc = match find(self) {
            Some(loc) => loc,
            None => {
                // Its character is on a page not decoded yet: decode the
                // pages (in place, once); the id index then holds it.
                self.thaw_all()?;
                find(self).ok_or(Error::UnknownAnchor)?
            }
        };
        let visible = !self.tree.span_at(loc).deleted();
        let chars = self.tree.offset_of(loc).1 + u32::from(visible && sticky.bias == Bias::Left);
        self.try_chars_to_unit(chars, unit)
    }
}
