//! Giving memory back to the system after the rare big jobs (loading or
//! compacting a room, answering a new client with a whole document): the
//! SQLite write connection's page cache (PostgreSQL's is the database
//! server's), and the allocator's free pages.
//!
//! glibc's malloc keeps what is freed in per-thread arenas, and raises its
//! mmap threshold after the first big buffer is freed, so the buffers of
//! a room's load end up in an arena too: a server that loaded one big room
//! would keep megabytes it no longer uses. So the threshold is fixed
//! (buffers of 128 KiB and more are mapped and unmapped on their own), and
//! after a big job the arenas' free pages are returned, at most once per
//! [`PAUSE`] whatever the number of jobs. Elsewhere both are no-ops.

#![allow(unsafe_code)]

use crate::storage::Storage;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Allocations at least this large get their own mapping, returned on free.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// How long after a big job its memory is returned: jobs that come
/// together are returned together.
const PAUSE: Duration = Duration::from_millis(500);

/// A return is due.
static SCHEDULED: AtomicBool = AtomicBool::new(false);

/// Fixes the allocator's mmap threshold; called once at start-up by the
/// binary ([`crate::tune_allocator`]).
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of the allocator; it has no
    // precondition and is thread safe.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// After a big job: shortly, the storage's write connection frees its
/// page cache, then the allocator returns its free pages to the system (in
/// a blocking task: it walks every arena).
pub fn release_soon(storage: Option<&Storage>) {
    if SCHEDULED.swap(true, Ordering::AcqRel) {
        return;
    }
    let storage = storage.cloned();
    tokio::spawn(async move {
        tokio::time::sleep(PAUSE).await;
        SCHEDULED.store(false, Ordering::Release);
        if let Some(storage) = storage {
            storage.release_memory().await;
        }
        let _ = tokio::task::spawn_blocking(release).await;
    });
}

fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; it has no
    // precondition and is thread safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
