//! What can go wrong on the bus. Messages name the Redis server by its
//! address only: a URL may hold a password.

use std::time::Duration;

/// A failed bus operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The Redis URL does not parse (it is not repeated: it may hold a
    /// password).
    #[error("the Redis URL is not valid: {reason}")]
    Url {
        /// What is wrong with it.
        reason: String,
    },
    /// Redis refused the command, or the connection to it failed.
    #[error("Redis at {address}: {source}")]
    Redis {
        /// `host:port` (or a socket's path).
        address: String,
        /// What the client reported.
        #[source]
        source: redis::RedisError,
    },
    /// Redis did not answer in time (down, or cut off).
    #[error("Redis at {address} did not answer within {timeout:?}")]
    Timeout {
        /// `host:port` (or a socket's path).
        address: String,
        /// How long the bus waited.
        timeout: Duration,
    },
    /// The data is larger than the bus carries.
    #[error("{len} bytes is more than the bus carries ({max})")]
    TooLarge {
        /// The data's size.
        len: usize,
        /// The most the bus carries (`BusConfig::max_entry_bytes`).
        max: usize,
    },
    /// The bus was closed.
    #[error("the bus is closed")]
    Closed,
}
