//! The implementations the benchmarks measure, behind the trace replay
//! interface, shared by the `weft-bench` binary and the profiling examples;
//! and the harness the server benchmarks share.

pub mod harness;
pub mod impls;
