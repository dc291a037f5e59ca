//! Plain log lines on stderr: `LEVEL message`. `WEFT_SERVER_LOG=debug`
//! shows every connection's requests; the default `info` shows connections
//! opening and closing and anything refused; `warn` and `error` show less.

use std::sync::OnceLock;

/// How much to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Every request.
    Debug,
    /// Connections refused or closed for a reason, start and shutdown.
    Info,
    /// Only what needs attention.
    Warn,
    /// Only what stops the server from doing its job (the storage failed).
    Error,
}

/// The level set by `WEFT_SERVER_LOG` (default `info`).
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| match std::env::var("WEFT_SERVER_LOG").as_deref() {
        Ok("debug") => Level::Debug,
        Ok("warn") => Level::Warn,
        Ok("error") => Level::Error,
        _ => Level::Info,
    })
}

/// Logs at a level: `log!(Info, "connection {id} opened")`.
#[macro_export]
macro_rules! log {
    ($level:ident, $($arg:tt)*) => {
        if $crate::log::Level::$level >= $crate::log::level() {
            eprintln!("{:5} {}", stringify!($level).to_uppercase(), format_args!($($arg)*));
        }
    };
}
