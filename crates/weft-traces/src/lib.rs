//! Loading and replaying editing traces in the format of the public
//! `josephg/editing-traces` collection (copies in `crates/weft-traces/traces`, see its `README.md`), for
//! any implementation: the core's tests replay them through Weft and the
//! benchmarks through Weft, yrs and plain ropes.
//!
//! Sequential traces are a list of patches applied in order. Concurrent
//! traces are transactions with parents; [`replay_concurrent`] keeps one
//! replica per agent, brings it to the merge of a transaction's parents by
//! applying the recorded updates of every missing ancestor, then applies the
//! transaction's patches and records its update.

#![deny(missing_docs)]

mod mixed;

pub use mixed::code_editing;
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// One edit: at `pos` (in code points) delete `del` code points, then insert `ins`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// Position in Unicode code points.
    pub pos: usize,
    /// Code points deleted at `pos`.
    pub del: usize,
    /// Text inserted at `pos` after the deletion.
    pub ins: String,
}

/// A transaction: patches made by one agent on top of its parents' versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// Indices of the transactions it was made on top of (merged).
    pub parents: Vec<usize>,
    /// The agent that made it.
    pub agent: usize,
    /// Its patches, applied in order.
    pub patches: Vec<Patch>,
}

/// A loaded trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// File name without the `.json.gz`.
    pub name: String,
    /// Text before the first transaction.
    pub start: String,
    /// Text after every transaction.
    pub end: String,
    /// Whether transactions were concurrent (several agents, a DAG).
    pub concurrent: bool,
    /// Number of agents (1 for sequential traces).
    pub agents: usize,
    /// The transactions; for sequential traces each has the previous as parent.
    pub txns: Vec<Txn>,
}

impl Trace {
    /// Total patches over all transactions.
    pub fn patch_count(&self) -> usize {
        self.txns.iter().map(|t| t.patches.len()).sum()
    }

    /// Whether any inserted text has characters outside the BMP (where code
    /// points and UTF-16 units differ).
    pub fn has_astral(&self) -> bool {
        let astral = |s: &str| s.chars().any(|c| c as u32 > 0xFFFF);
        astral(&self.start)
            || self
                .txns
                .iter()
                .flat_map(|t| &t.patches)
                .any(|p| astral(&p.ins))
    }
}

/// Loads a trace from a `.json.gz` (or plain `.json`) file.
///
/// # Errors
/// A message naming what is wrong with the file.
pub fn load(path: impl AsRef<Path>) -> Result<Trace, String> {
    let path = path.as_ref();
    let raw = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut json = String::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut json)
            .map_err(|e| format!("{}: not gzip JSON: {e}", path.display()))?;
    } else {
        json = String::from_utf8(raw).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let v: Value = serde_json::from_str(&json).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("trace")
        .trim_end_matches(".gz")
        .trim_end_matches(".json")
        .to_owned();
    parse(name, &v).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse(name: String, v: &Value) -> Result<Trace, String> {
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let end = text("endContent").ok_or("missing endContent")?;
    let concurrent = v.get("kind").and_then(Value::as_str) == Some("concurrent");
    let raw_txns = v
        .get("txns")
        .and_then(Value::as_array)
        .ok_or("missing txns")?;
    let mut txns = Vec::with_capacity(raw_txns.len());
    for (i, t) in raw_txns.iter().enumerate() {
        let patches = t
            .get("patches")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("txn {i}: missing patches"))?
            .iter()
            .map(|p| parse_patch(p).ok_or_else(|| format!("txn {i}: bad patch {p}")))
            .collect::<Result<Vec<_>, _>>()?;
        let (parents, agent) = if concurrent {
            let parents = t
                .get("parents")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("txn {i}: missing parents"))?
                .iter()
                .map(|p| p.as_u64().map(|p| p as usize).filter(|&p| p < i))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("txn {i}: parents must be earlier transactions"))?;
            let agent = t
                .get("agent")
                .and_then(Value::as_u64)
                .ok_or_else(|| format!("txn {i}: missing agent"))?;
            (parents, agent as usize)
        } else {
            (i.checked_sub(1).into_iter().collect(), 0)
        };
        txns.push(Txn {
            parents,
            agent,
            patches,
        });
    }
    let agents = if concurrent {
        v.get("numAgents")
            .and_then(Value::as_u64)
            .map(|n| n as usize)
            .unwrap_or_else(|| txns.iter().map(|t| t.agent + 1).max().unwrap_or(1))
    } else {
        1
    };
    if txns.iter().any(|t| t.agent >= agents) {
        return Err("an agent number exceeds numAgents".into());
    }
    Ok(Trace {
        name,
        start: text("startContent").unwrap_or_default(),
        end,
        concurrent,
        agents,
        txns,
    })
}

fn parse_patch(p: &Value) -> Option<Patch> {
    let a = p.as_array()?;
    Some(Patch {
        pos: a.first()?.as_u64()? as usize,
        del: a.get(1)?.as_u64()? as usize,
        ins: a.get(2)?.as_str()?.to_owned(),
    })
}

/// What a replay needs from an implementation.
pub trait ReplayDoc {
    /// A version to compute updates from.
    type Mark;
    /// Bytes (or any form) carrying operations between replicas.
    type Update;
    /// A fresh replica for `agent`.
    fn new_replica(agent: usize) -> Self;
    /// Applies one patch locally (positions in code points).
    fn apply_patch(&mut self, patch: &Patch);
    /// The current version.
    fn mark(&self) -> Self::Mark;
    /// Everything made since `mark`.
    fn update_since(&mut self, mark: &Self::Mark) -> Self::Update;
    /// Merges an update from another replica.
    fn apply_update(&mut self, update: &Self::Update);
    /// The current text.
    fn text(&self) -> String;
}

/// Replays a sequential trace (or a concurrent one flattened in file order,
/// which is only meaningful for sequential traces) into one replica.
pub fn replay_sequential<D: ReplayDoc>(trace: &Trace) -> D {
    let mut d = D::new_replica(0);
    if !trace.start.is_empty() {
        d.apply_patch(&Patch {
            pos: 0,
            del: 0,
            ins: trace.start.clone(),
        });
    }
    for t in &trace.txns {
        for p in &t.patches {
            d.apply_patch(p);
        }
    }
    d
}

/// The result of a concurrent replay.
pub struct Concurrent<D: ReplayDoc> {
    /// One replica per agent, each at its last transaction's version.
    pub replicas: Vec<D>,
    /// The start text's operations (if any), then each transaction's, in
    /// transaction order (a causal order).
    pub updates: Vec<D::Update>,
}

/// Replays a trace with one replica per agent, merging where a transaction
/// has several parents. Works for sequential traces too (one agent).
pub fn replay_concurrent<D: ReplayDoc>(trace: &Trace) -> Concurrent<D> {
    let n = trace.txns.len();
    let mut replicas: Vec<D> = (0..trace.agents).map(D::new_replica).collect();
    let mut applied = vec![vec![false; n]; trace.agents];
    let mut updates: Vec<D::Update> = Vec::with_capacity(n);
    let mut start = None;
    if !trace.start.is_empty() {
        // The start text is a shared ancestor: agent 0 types it first.
        let m = replicas[0].mark();
        replicas[0].apply_patch(&Patch {
            pos: 0,
            del: 0,
            ins: trace.start.clone(),
        });
        let u = replicas[0].update_since(&m);
        for r in replicas.iter_mut().skip(1) {
            r.apply_update(&u);
        }
        start = Some(u);
    }
    for (t, txn) in trace.txns.iter().enumerate() {
        let a = txn.agent;
        let mut missing = Vec::new();
        let mut stack = txn.parents.clone();
        while let Some(p) = stack.pop() {
            if !applied[a][p] {
                applied[a][p] = true;
                missing.push(p);
                stack.extend_from_slice(&trace.txns[p].parents);
            }
        }
        missing.sort_unstable();
        for p in missing {
            replicas[a].apply_update(&updates[p]);
        }
        let mark = replicas[a].mark();
        for p in &txn.patches {
            replicas[a].apply_patch(p);
        }
        updates.push(replicas[a].update_since(&mark));
        applied[a][t] = true;
    }
    Concurrent {
        replicas,
        updates: start.into_iter().chain(updates).collect(),
    }
}

/// Applies every update, in order, to a fresh replica: the merge of all
/// branches.
pub fn merge_all<D: ReplayDoc>(updates: &[D::Update]) -> D {
    let mut d = D::new_replica(usize::MAX >> 1);
    for u in updates {
        d.apply_update(u);
    }
    d
}
