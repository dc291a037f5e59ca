//! The implementations the benchmarks measure, behind the trace replay
//! interface (diamond-types beside it, for snapshot sizes), shared by the
//! `weft-bench` binary and the profiling examples; and the harness the
//! server benchmarks share.

pub mod diamond;
pub mod harness;
pub mod impls;
pub mod repeated;

/// Patches of each code-editing trace at most: the size of a long session
/// on a source file (yrs scans from the start at each jump: longer ones
/// take it many minutes).
const CODE_EDITING_PATCHES: usize = 40_000;

/// The code-editing trace the benchmark makes of sequential trace
/// `source` (pastes, replacements, jumps: see `weft_traces::code_editing`).
pub fn code_editing_trace(source: &weft_traces::Trace) -> weft_traces::Trace {
    let patches = source.patch_count().min(CODE_EDITING_PATCHES);
    weft_traces::code_editing(source, 1, patches)
}
