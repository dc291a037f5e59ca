//! The implementations the benchmarks measure, behind the trace replay
//! interface, shared by the `weft-bench` binary and the profiling examples.

pub mod impls;
