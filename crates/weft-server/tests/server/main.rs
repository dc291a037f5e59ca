//! The server over real sockets on loopback: signaling, sync with its
//! replicas, their storage failing and their idle timers, and the server
//! on a throwaway PostgreSQL, alone or beside others through Redis.

mod auth;
mod budget;
mod caps;
mod client;
mod config;
mod idle;
mod nodes;
mod peer;
mod postgres;
mod priority;
mod relay;
mod sealed;
mod shutdown;
mod slow_readers;
mod storage_failure;
mod sync;

#[path = "../support/binary.rs"]
mod binary;
#[path = "../support/postgres.rs"]
mod pg;
