//! The signaling server over real sockets on loopback.

mod caps;
mod client;
mod config;
mod relay;
mod shutdown;
mod slow_readers;
