//! The implementations the benchmarks measure, behind the trace replay
//! interface (diamond-types beside it, for snapshot sizes), shared by the
//! `weft-bench` binary and the profiling examples; and the harness the
//! server benchmarks share.

pub mod diamond;
pub mod harness;
pub mod impls;
