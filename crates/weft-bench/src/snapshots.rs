//! Each library's snapshot decoded again and checked against the trace, so
//! a wrong encoding cannot pass as a small one: its text must be the trace's
//! final text and, in one said to keep deleted text, that text must be there.

use crate::report::Encoded;
use diamond_types::list::operation::OpKind;
use diamond_types::list::{ListCRDT, OpLog};
use weft_bench::diamond;
use weft_bench::impls::{YrsDoc, YrsKeepDoc};
use weft_traces::{merge_all, replay_concurrent, Patch, ReplayDoc, Trace};

/// Weft's snapshot, loaded: its text, and its text at earlier versions
/// (which needs the deleted text) as `doc`'s.
pub fn weft(doc: &mut weft::Doc, snapshot: &[u8], trace: &Trace) -> Encoded {
    let mut loaded = weft::Doc::from_snapshot(snapshot, 9).expect("own snapshot loads");
    let n = doc.operation_count();
    let past_ok = [10, 50, 90].iter().all(|percent| {
        let version = doc.version_at_operation(n * percent / 100).unwrap();
        let text = doc.text_at(&version).expect("a version of its own");
        loaded.text_at(&version).ok() == Some(text)
    });
    Encoded {
        bytes: snapshot.len(),
        ok: past_ok && loaded.to_string() == trace.end,
    }
}

/// yrs's update as it comes (GC on), loaded into a fresh document.
pub fn yrs_gc(update: &[u8], trace: &Trace) -> Encoded {
    Encoded {
        bytes: update.len(),
        ok: YrsDoc::load_v2(update).text() == trace.end,
    }
}

/// yrs with GC off, replayed as the timed yrs replay is (`txns`, in UTF-16,
/// for a sequential trace; `replay_concurrent`'s updates merged for a
/// concurrent one: `None`) and encoded the same way (v2); loaded again:
/// its text, and every character the trace ever inserted.
pub fn yrs_keeping(trace: &Trace, txns: Option<&[Vec<Patch>]>) -> Encoded {
    let y = match txns {
        Some(txns) => {
            let mut y = YrsKeepDoc::new(1);
            for t in txns {
                y.apply_txn(t);
            }
            y
        }
        None => merge_all::<YrsKeepDoc>(&replay_concurrent::<YrsKeepDoc>(trace).updates),
    };
    let update = y.encode_v2();
    let loaded = YrsKeepDoc::load_v2(&update);
    let all_kept = loaded.text_ever_inserted().chars().count() == inserted_chars(trace);
    Encoded {
        bytes: update.len(),
        ok: all_kept && loaded.text() == trace.end,
    }
}

/// diamond-types' log in its encoder's two settings (see `diamond`), each
/// loaded again (`load_from` merges the whole log): its text, and its text
/// at earlier versions (which needs the deleted text) as the replayed log's;
/// with deleted content, also the operations as the replayed log's, with
/// the text of every deleted character.
pub fn diamond(dt: &ListCRDT, trace: &Trace) -> (Encoded, Encoded) {
    let check = |with_deleted_content: bool| {
        let opts = if with_deleted_content {
            diamond::WITH_DELETED_CONTENT
        } else {
            diamond::DEFAULT
        };
        let bytes = dt.oplog.encode(opts);
        let ok = ListCRDT::load_from(&bytes).is_ok_and(|loaded| {
            let n = dt.oplog.len();
            let past_ok = [10, 50, 90].iter().all(|percent| {
                let version = [n * percent / 100];
                let text = |log: &OpLog| log.checkout(&version).content().to_string();
                text(&loaded.oplog) == text(&dt.oplog)
            });
            let deleted: usize = loaded
                .oplog
                .iter()
                .filter(|op| op.kind == OpKind::Del)
                .filter_map(|op| op.content.map(|c| c.chars().count()))
                .sum();
            let ops_ok = deleted == deleted_chars(trace) && loaded.oplog.iter().eq(dt.oplog.iter());
            past_ok
                && loaded.branch.content().to_string() == trace.end
                && (!with_deleted_content || ops_ok)
        });
        Encoded {
            bytes: bytes.len(),
            ok,
        }
    };
    (check(false), check(true))
}

/// Characters the trace inserts, its start text included.
fn inserted_chars(trace: &Trace) -> usize {
    let patches = trace.txns.iter().flat_map(|t| &t.patches);
    trace.start.chars().count() + patches.map(|p| p.ins.chars().count()).sum::<usize>()
}

/// Characters the trace deletes (one deleted by two agents at once twice).
fn deleted_chars(trace: &Trace) -> usize {
    trace
        .txns
        .iter()
        .flat_map(|t| &t.patches)
        .map(|p| p.del)
        .sum()
}
