//! What the server benchmarks (`server-bench`: one server of each kind;
//! `scale-bench`: three nodes of each kind on PostgreSQL and Redis) share:
//! native clients that behave like browsers of each server, what they
//! type, edit-to-other-clients latency, the servers' processes and their
//! CPU and memory, and the printed tables.

pub mod client;
pub mod delivery;
pub mod flags;
pub mod process;
pub mod procfs;
pub mod rng;
pub mod stats;
pub mod table;
pub mod typing;
