//! diamond-types, the other reference CRDT, for snapshot sizes: a trace
//! replayed into its operation log, and the two settings of its own encoder
//! that keep the text of deleted characters.

use diamond_types::list::encoding::{EncodeOptions, ENCODE_FULL};
use diamond_types::list::{Branch, ListCRDT, OpLog};
use diamond_types::{AgentId, LocalVersion};
use weft_traces::{Patch, Trace};

/// diamond-types' recommended encoding, `ENCODE_FULL` (what
/// `EncodeOptions::default()` gives): the log with the text of every insert
/// operation, LZ4-compressed. That text includes the characters deleted
/// since (any version can be checked out), so this keeps the same content
/// as Weft's snapshot. diamond-types has no encoding dropping only that
/// text: without inserted content (`store_inserted_content: false`) it
/// keeps no text at all.
pub const DEFAULT: EncodeOptions<'static> = ENCODE_FULL;

/// The same also storing the content of delete operations
/// (`store_deleted_content`): a second copy of the deleted text, which a
/// peer receiving a patch without its history could use.
pub const WITH_DELETED_CONTENT: EncodeOptions<'static> = EncodeOptions {
    store_deleted_content: true,
    ..ENCODE_FULL
};

/// Replays `trace` as `weft_traces::replay_concurrent` drives the other
/// libraries: one branch per agent over one shared log, each brought to the
/// merge of a transaction's parents before that transaction's patches (a
/// sequential trace is one agent whose parents it already has). Deletions go
/// through a branch, which records the deleted text in the delete operations
/// (for `WITH_DELETED_CONTENT`).
pub fn replay(trace: &Trace) -> ListCRDT {
    let mut oplog = OpLog::new();
    let agents: Vec<AgentId> = (0..trace.agents)
        .map(|a| oplog.get_or_create_agent_id(&format!("agent{a}")))
        .collect();
    let mut branches: Vec<Branch> = (0..trace.agents).map(|_| Branch::new()).collect();
    if !trace.start.is_empty() {
        // The start text is a shared ancestor: agent 0 types it first.
        branches[0].insert(&mut oplog, agents[0], 0, &trace.start);
        let start = branches[0].local_version();
        for b in &mut branches[1..] {
            b.merge(&oplog, &start);
        }
    }
    // Each transaction's version, for the transactions made on top of it.
    let mut versions: Vec<LocalVersion> = Vec::new();
    for txn in &trace.txns {
        let b = &mut branches[txn.agent];
        if trace.concurrent {
            for &p in &txn.parents {
                b.merge(&oplog, &versions[p]);
            }
        }
        for p in &txn.patches {
            apply(b, &mut oplog, agents[txn.agent], p);
        }
        if trace.concurrent {
            versions.push(b.local_version());
        }
    }
    let branch = if trace.concurrent {
        oplog.checkout_tip()
    } else {
        branches.swap_remove(0)
    };
    ListCRDT { branch, oplog }
}

fn apply(b: &mut Branch, oplog: &mut OpLog, agent: AgentId, p: &Patch) {
    if p.del > 0 {
        b.delete(oplog, agent, p.pos..p.pos + p.del);
    }
    if !p.ins.is_empty() {
        b.insert(oplog, agent, p.pos, &p.ins);
    }
}
