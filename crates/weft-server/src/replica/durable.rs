//! Reports of what is stored (`Durable`) after each commit: at once to the
//! connections whose changes it covers (their "saved on server" waits on
//! it), and at most once per [`LATE_REPORT`] to the others, which only
//! learn that what they received is stored too. In a busy room every
//! commit would otherwise send one message per connection: as many as the
//! edits forwarded.

use super::{lock, Replica, Replicas, Slot};
use std::sync::Arc;
use std::time::Duration;

/// How long a connection that changed nothing may wait to hear that what
/// it received is stored.
const LATE_REPORT: Duration = Duration::from_millis(500);

impl Replicas {
    /// After a commit (or a reload): reports what is stored to the
    /// sessions whose last change it covers, and schedules the others'.
    pub(super) fn acknowledge(self: &Arc<Self>, slot: &Arc<Slot>, replica: &mut Replica) {
        let saved = replica.journal.saved().clone();
        let mut late = false;
        for attached in replica.sessions.values_mut() {
            match &attached.merged {
                Some(merged) if saved.includes(merged) => {
                    attached.merged = None;
                    attached.late = false;
                    let frames = attached.session.durable(&saved);
                    attached.send(&frames);
                }
                // A later commit covers it, and reports it then.
                Some(_) => {}
                None => {
                    attached.late = true;
                    late = true;
                }
            }
        }
        if late && !replica.reporting {
            replica.reporting = true;
            let (replicas, slot) = (self.clone(), slot.clone());
            tokio::spawn(async move { replicas.report_late(&slot).await });
        }
    }

    /// After [`LATE_REPORT`], reports what is stored to the sessions whose
    /// report is due.
    async fn report_late(self: Arc<Self>, slot: &Slot) {
        tokio::time::sleep(LATE_REPORT).await;
        let Some(mutex) = slot.replica.get() else {
            return;
        };
        let mut replica = lock(mutex);
        replica.reporting = false;
        if !self.current(&replica) {
            // Reopened or failed since: the reload reports.
            return;
        }
        let saved = replica.journal.saved().clone();
        for attached in replica.sessions.values_mut() {
            if std::mem::take(&mut attached.late) {
                let frames = attached.session.durable(&saved);
                attached.send(&frames);
            }
        }
    }
}
