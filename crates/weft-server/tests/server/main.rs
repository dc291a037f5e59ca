//! The server over real sockets on loopback: signaling, and sync with its
//! replicas.

mod auth;
mod caps;
mod client;
mod config;
mod relay;
mod sealed;
mod shutdown;
mod slow_readers;
mod sync;
