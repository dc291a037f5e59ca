//! Randomized and example tests. They live inside the crate so they run with
//! the small `cfg(test)` node sizes that make small inputs build deep trees.

mod authors;
mod convergence;
pub(crate) mod decode;
mod deleted;
mod fugue;
mod lazy;
mod oracle;
mod origins;
mod paged_text;
mod past;
pub(crate) mod rng;
mod roundtrip;
mod typing;
mod undo;
