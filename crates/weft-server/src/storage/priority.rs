//! SQLite's threads run after everything else that is ready to run.
//!
//! sqlx runs each SQLite connection on a thread of its own, and a group
//! commit (statements, B-tree pages, checksums) takes that thread a
//! millisecond or more of CPU. Relaying an edit to the room's other clients
//! is what people wait for; the commit is not (it is acknowledged when
//! done, and commits group what arrives meanwhile). On a busy core the
//! scheduler shared it fairly, so relays queued behind commits: the server
//! benchmark's p99 from an edit to the other clients fell from 5-11 ms to
//! 2-3.5 ms once those threads ran at the lowest priority (nice 19).
//!
//! The threads are found by the name sqlx gives them, after each SQLite
//! connection opens. Linux only; elsewhere nothing changes.

#![allow(unsafe_code)]

/// The start of the name sqlx gives SQLite's worker threads, as the
/// kernel keeps it (15 bytes).
#[cfg(target_os = "linux")]
const SQLITE_WORKER: &str = "sqlx-sqlite-wor";

/// The lowest priority (the highest nice value).
#[cfg(target_os = "linux")]
const LOWEST: libc::c_int = 19;

/// Lowers the priority of every SQLite worker thread of this process;
/// called after each SQLite connection opens (a new connection is a new
/// thread). Failing to is harmless: commits then compete as before.
pub fn lower_sqlite_threads() {
    #[cfg(target_os = "linux")]
    {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return;
        };
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            let tid = task.file_name().to_string_lossy().parse::<libc::id_t>();
            if let (true, Ok(tid)) = (comm.starts_with(SQLITE_WORKER), tid) {
                // SAFETY: setpriority only changes the scheduling priority
                // of thread `tid` of this process; it reads no memory of ours.
                unsafe {
                    libc::setpriority(libc::PRIO_PROCESS, tid, LOWEST);
                }
            }
        }
    }
}
