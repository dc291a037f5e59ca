//! The sync protocol, without I/O: each connection between two replicas has
//! a [`Session`]; bytes that arrive go in, frames to send come out.
//!
//! 1. On connecting, each side sends `Hello` with its version vector.
//! 2. On a `Hello`, a side answers with an `Update` holding exactly what the
//!    other lacks (possibly nothing: the answer itself says "in sync").
//!    Nothing comes before a side's `Hello`; a repeated `Hello` gets only
//!    what was not sent yet.
//! 3. From then on, after every change to the document (local, or merged from
//!    any peer), each session sends what its peer may still lack, so changes
//!    also travel through peers that are not directly connected.
//! 4. Either side may send its `Presence` (opaque bytes: who is there, where
//!    their cursor is) at any time after its `Hello`.
//! 5. Either side may report a version as `Durable` (stored on its disk)
//!    at any time after its `Hello`: tabs sharing one database learn that
//!    another tab wrote an edit, clients learn that a server stored it.
//!
//! Messages are split into frames of at most [`MAX_FRAME`] bytes, so any
//! update size works over channels that limit message size (WebRTC data
//! channels). A session accepts messages up to [`DEFAULT_MAX_MESSAGE`], and
//! the sessions sharing a [`Budget`] buffer at most its limit between them. Everything is idempotent: duplicates change nothing, and after
//! a reconnect a new session's handshake resumes where things were.
//!
//! An encrypted room is kept on a server that cannot read it with the
//! sealed-room protocol instead ([`SealedChannel`]): opaque records and
//! checkpoints, stored and replayed.
//!
//! The bytes are described in `docs/format.md`.

mod budget;
pub(crate) mod frame;
mod sealed;
mod sealed_client;
mod session;

#[cfg(test)]
mod tests;

pub use budget::{Budget, DEFAULT_BUDGET};
pub use frame::{MAX_FRAME, PROTOCOL_VERSION};
pub use sealed::{SealedChannel, SealedMessage};
pub use sealed_client::{SealedClient, SealedEvent};
pub use session::{
    Received, Session, SharedOutgoing, SyncError, DEFAULT_MAX_MESSAGE, MAX_PRESENCE,
};
