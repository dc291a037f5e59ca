//! The WebAssembly binding of Weft: thin newtype wrappers over the core that
//! convert types and errors. No logic of its own.
//!
//! The binding never calls into user JavaScript: methods that change the
//! document return the changes they made, and the TypeScript layer in `web/`
//! delivers events after the call has returned, so no callback can run while
//! Rust holds the document.

#![deny(missing_docs)]

mod doc;
mod error;
mod idb;
// No hook where panics abort at once (the npm package): see panic.rs.
#[cfg(not(panic = "immediate-abort"))]
mod panic;
mod sealed;
mod session;
mod store;
mod undo;
mod values;

pub use doc::RawDoc;
pub use error::take_error;
pub use idb::JournalDb;
pub use session::RawSession;
pub use store::RawStore;
pub use undo::RawUndoManager;
