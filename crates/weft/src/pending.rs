//! Remote operations waiting for operations they depend on, capped in
//! bytes.

use crate::remote::{RemoteKind, RemoteOp};

/// Most memory operations waiting for their dependencies may hold (their
/// text plus a fixed cost per run): a peer that sends operations whose
/// dependencies never come cannot grow memory without bound, whether with
/// many runs or with long texts. Runs beyond it are discarded (and counted);
/// they are not lost, as this document's version does not include them, so
/// the next version handshake brings them again.
pub(crate) const MAX_PENDING_BYTES: usize = if cfg!(test) { 16 << 10 } else { 32 << 20 };

/// The waiting operations, oldest first, and how many were discarded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pending {
    ops: Vec<RemoteOp>,
    /// Their cost (see `waiting_cost`), kept so reading it costs nothing.
    bytes: usize,
    discarded: usize,
}

/// What an operation costs while it waits, in bytes.
fn waiting_cost(op: &RemoteOp) -> usize {
    let text = match &op.kind {
        RemoteKind::Insert { text, .. } => text.heap_bytes(),
        _ => 0,
    };
    std::mem::size_of::<RemoteOp>() + text
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Memory the waiting operations hold.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Waiting operations discarded so far for want of memory.
    pub fn discarded(&self) -> usize {
        self.discarded
    }

    /// Adds to the count of discarded operations (a document replaced by
    /// a snapshot keeps its count).
    pub fn count_discarded(&mut self, n: usize) {
        self.discarded += n;
    }

    /// Adds an operation to wait; `discard_over_budget` enforces the cap
    /// once a batch is through.
    pub fn push(&mut self, op: RemoteOp) {
        self.bytes += waiting_cost(&op);
        self.ops.push(op);
    }

    /// Takes every waiting operation out, to retry them.
    pub fn take(&mut self) -> Vec<RemoteOp> {
        self.bytes = 0;
        std::mem::take(&mut self.ops)
    }

    /// Keeps the oldest waiting operations that fit in `MAX_PENDING_BYTES`.
    pub fn discard_over_budget(&mut self) {
        if self.bytes <= MAX_PENDING_BYTES {
            return;
        }
        let mut bytes = 0usize;
        let keep = self
            .ops
            .iter()
            .take_while(|op| {
                let fits = bytes + waiting_cost(op) <= MAX_PENDING_BYTES;
                if fits {
                    bytes += waiting_cost(op);
                }
                fits
            })
            .count();
        self.discarded += self.ops.len() - keep;
        self.ops.truncate(keep);
        self.ops.shrink_to_fit();
        self.bytes = bytes;
    }
}
