//! Undo and redo of one user's own edits, leaving everyone else's alone.
//!
//! A step names items, not indices: the items its edits inserted and the
//! items they deleted. Undoing it deletes the inserted items still visible
//! and inserts the deleted items' text again right after their tombstones,
//! so it lands where it was whatever others typed since; the new items
//! make the step that redo applies. Both are ordinary local edits that
//! other replicas merge like any other.
//!
//! Text inserted again has new items, yet an older step may still name the
//! old ones (type "abc", delete "b", undo the delete, undo the typing: "b"
//! must go too). The manager remembers which items took the place of which
//! (`moved`) and follows that chain when it deletes.
//!
//! The manager learns of edits from the document's local clock: after each
//! local change, its owner calls [`UndoManager::record`] for a change of
//! this user's, or [`UndoManager::skip`] for one made otherwise (another
//! manager, an origin not tracked). Changes merged from other replicas do
//! not move the local clock and need no call.

use crate::item_edits::ItemRun;
use crate::{Doc, Error, IndexUnit, OpId, Patch, StickyIndex};

/// A selection kept with a step, as sticky positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// Where the selection starts (stays put when extending).
    pub anchor: StickyIndex,
    /// Where the caret is.
    pub head: StickyIndex,
}

/// What an undo or redo did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// What it did to the text, as sequential patches in the unit asked for.
    pub patches: Vec<Patch>,
    /// The selection to restore: the one before the undone change, or the
    /// one when it was undone (for redo), if the caller gave it.
    pub selection: Option<Selection>,
}

/// One undoable change: what it inserted and deleted.
#[derive(Debug, Clone, Default)]
struct Step {
    inserted: Vec<ItemRun>,
    deleted: Vec<ItemRun>,
    selection: Option<Selection>,
}

/// Items inserted again (from `first` on, one per character) in place of
/// the deleted items of `old`.
#[derive(Debug, Clone, Copy)]
struct Move {
    old: ItemRun,
    first: u32,
}

/// Undo and redo stacks of one user's edits of one document (see the
/// module's documentation). Use it with one document only.
///
/// ```
/// use weft::{Doc, IndexUnit::Utf16, UndoManager};
/// let mut doc = Doc::new(1);
/// let mut undo = UndoManager::new(&doc, 500.0, 100);
/// doc.insert(0, "hello", Utf16)?;
/// undo.record(&doc, 0.0, None);
/// doc.insert(5, " world", Utf16)?;
/// undo.record(&doc, 1000.0, None); // a new step: past the capture window
/// undo.undo(&mut doc, None, Utf16)?;
/// assert_eq!(doc.to_string(), "hello");
/// undo.redo(&mut doc, None, Utf16)?;
/// assert_eq!(doc.to_string(), "hello world");
/// # Ok::<(), weft::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct UndoManager {
    /// Oldest first.
    undo: Vec<Step>,
    redo: Vec<Step>,
    /// Changes recorded within this many milliseconds of the last one join
    /// its step.
    capture_ms: f64,
    max_steps: usize,
    /// When the last change was recorded; NaN once capturing stopped.
    last_at: f64,
    /// The local clock up to which edits were recorded or skipped.
    seen: u32,
    moved: Vec<Move>,
}

impl UndoManager {
    /// A manager of `doc`'s edits from now on that groups changes recorded
    /// within `capture_ms` milliseconds of each other into one step and
    /// keeps at most `max_steps` steps (the oldest are forgotten).
    pub fn new(doc: &Doc, capture_ms: f64, max_steps: usize) -> UndoManager {
        UndoManager {
            undo: Vec::new(),
            redo: Vec::new(),
            capture_ms,
            max_steps: max_steps.max(1),
            last_at: f64::NAN,
            seen: doc.local_clock(),
            moved: Vec::new(),
        }
    }

    /// Whether there is a step to undo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether there is a step to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Makes the next recorded change a step of its own.
    pub fn stop_capturing(&mut self) {
        self.last_at = f64::NAN;
    }

    /// Forgets every step.
    pub fn clear(&mut self) {
        self.undo.clear();
        self.redo.clear();
        self.moved.clear();
        self.stop_capturing();
    }

    /// Records the local edits made since the last call as a change of this
    /// manager's user at time `now` (milliseconds), with the selection it
    /// was made from. It joins the last step if that was recorded within
    /// the capture window, else starts a step; either way the redo stack is
    /// cleared. Nothing happens if no local edit was made. Returns whether
    /// a step started.
    pub fn record(&mut self, doc: &Doc, now: f64, selection: Option<Selection>) -> bool {
        let clock = doc.local_clock();
        if clock <= self.seen {
            return false;
        }
        let join = now - self.last_at < self.capture_ms && !self.undo.is_empty();
        if !join {
            self.undo.push(Step {
                selection,
                ..Step::default()
            });
            if self.undo.len() > self.max_steps {
                self.undo.remove(0); // a few hundred steps at most
            }
        }
        let step = self.undo.last_mut().expect("a step was just ensured");
        doc.local_edits(self.seen, clock, &mut step.inserted, &mut step.deleted);
        self.seen = clock;
        self.last_at = now;
        self.redo.clear();
        !join
    }

    /// Passes over the local edits made since the last call: they are not
    /// this manager's user's to undo.
    pub fn skip(&mut self, doc: &Doc) {
        self.seen = doc.local_clock();
    }

    /// Undoes the last step that still changes something, if any, and makes
    /// it redoable with `selection` (the one to restore on redo). Patches
    /// are in `unit`.
    ///
    /// # Errors
    /// [`Error::DocumentTooLarge`] past the size limit; a decoding error of
    /// a lazily loaded document's pages. What was undone before the error
    /// stays, and is redoable.
    pub fn undo(
        &mut self,
        doc: &mut Doc,
        selection: Option<Selection>,
        unit: IndexUnit,
    ) -> Result<Option<Applied>, Error> {
        self.apply(doc, selection, unit, true)
    }

    /// Redoes the last undone step, as [`UndoManager::undo`] does.
    ///
    /// # Errors
    /// As [`UndoManager::undo`].
    pub fn redo(
        &mut self,
        doc: &mut Doc,
        selection: Option<Selection>,
        unit: IndexUnit,
    ) -> Result<Option<Applied>, Error> {
        self.apply(doc, selection, unit, false)
    }

    fn apply(
        &mut self,
        doc: &mut Doc,
        selection: Option<Selection>,
        unit: IndexUnit,
        undo: bool,
    ) -> Result<Option<Applied>, Error> {
        // Edits made and not reported are nobody's to undo.
        self.skip(doc);
        self.stop_capturing();
        loop {
            let popped = if undo {
                self.undo.pop()
            } else {
                self.redo.pop()
            };
            let Some(step) = popped else {
                return Ok(None);
            };
            let mut inverse = Step {
                selection,
                ..Step::default()
            };
            let mut patches = Vec::new();
            let result = self.revert(doc, &step, &mut inverse, unit, &mut patches);
            self.seen = doc.local_clock();
            let changed = !inverse.inserted.is_empty() || !inverse.deleted.is_empty();
            if changed {
                if undo {
                    self.redo.push(inverse);
                } else {
                    self.undo.push(inverse);
                }
            }
            result?;
            if changed {
                let selection = step.selection.map(|s| Selection {
                    anchor: self.follow(doc, s.anchor),
                    head: self.follow(doc, s.head),
                });
                return Ok(Some(Applied { patches, selection }));
            }
        }
    }

    /// `sticky` held on to the character that took its anchor's place, if
    /// undo or redo inserted it again.
    fn follow(&self, doc: &Doc, sticky: StickyIndex) -> StickyIndex {
        let Some((mut agent, mut seq)) = sticky
            .anchor()
            .and_then(|id| Some((doc.history.agent_of(id.replica)?, id.seq)))
        else {
            return sticky;
        };
        let mut moved = false;
        while let Some(m) = self
            .moved
            .iter()
            .find(|m| m.old.agent == agent && (m.old.seq..m.old.end()).contains(&seq))
        {
            (agent, seq, moved) = (doc.me, m.first + (seq - m.old.seq), true);
        }
        if !moved {
            return sticky;
        }
        sticky.with_anchor(OpId {
            replica: doc.history.replica(agent),
            seq,
        })
    }

    /// Reverts `step`: deletes what it inserted (following moves), inserts
    /// again what it deleted (but for what it inserted itself). Collects
    /// what that did into `inverse`.
    fn revert(
        &mut self,
        doc: &mut Doc,
        step: &Step,
        inverse: &mut Step,
        unit: IndexUnit,
        patches: &mut Vec<Patch>,
    ) -> Result<(), Error> {
        let mut work = step.inserted.clone();
        while let Some(run) = work.pop() {
            doc.delete_items(run, &mut inverse.deleted, unit, patches)?;
            for m in &self.moved {
                if let Some(part) = m.old.overlap(&run) {
                    work.push(ItemRun {
                        agent: doc.me,
                        seq: m.first + (part.seq - m.old.seq),
                        len: part.len,
                    });
                }
            }
        }
        let me = doc.me;
        for &run in &step.deleted {
            for part in subtract(run, &step.inserted) {
                let moved = &mut self.moved;
                let inserted = &mut inverse.inserted;
                doc.reinsert_items(
                    part,
                    &mut |old, first| {
                        moved.push(Move { old, first });
                        ItemRun {
                            agent: me,
                            seq: first,
                            len: old.len,
                        }
                        .push_to(inserted);
                    },
                    unit,
                    patches,
                )?;
            }
        }
        Ok(())
    }
}

/// The parts of `run` that none of `runs` covers.
fn subtract(run: ItemRun, runs: &[ItemRun]) -> Vec<ItemRun> {
    let mut parts = vec![run];
    for r in runs {
        let mut rest = Vec::with_capacity(parts.len());
        for p in parts {
            match p.overlap(r) {
                None => rest.push(p),
                Some(o) => {
                    if o.seq > p.seq {
                        rest.push(ItemRun {
                            len: o.seq - p.seq,
                            ..p
                        });
                    }
                    if o.end() < p.end() {
                        rest.push(ItemRun {
                            seq: o.end(),
                            len: p.end() - o.end(),
                            ..p
                        });
                    }
                }
            }
        }
        parts = rest;
    }
    parts
}
