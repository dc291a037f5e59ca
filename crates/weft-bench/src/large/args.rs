//! The large-document benchmark's command line.

use std::path::PathBuf;
use weft_bench::harness::flags::count;

pub const USAGE: &str = "usage: weft-bench --large [--trace FILE] [--times N] [--runs N] [--json]";

pub struct Args {
    /// A sequential trace; automerge-paper unless given.
    pub trace: PathBuf,
    /// Passes over the trace, each appending after the last.
    pub times: usize,
    /// Timed replays of each implementation (their median is printed).
    pub runs: usize,
    pub json: bool,
}

/// Parses the flags after `--large`.
pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut parsed = Args {
        trace: crate_dir.join("../weft-traces/traces/automerge-paper.json.gz"),
        times: 100,
        runs: 3,
        json: false,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--large" => {}
            "--trace" => parsed.trace = value()?.into(),
            "--times" => parsed.times = count(&flag, &value()?)?,
            "--runs" => parsed.runs = count(&flag, &value()?)?,
            "--json" => parsed.json = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    Ok(parsed)
}
