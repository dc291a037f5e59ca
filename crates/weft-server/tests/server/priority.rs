//! SQLite's threads in the server run after everything else ready to run
//! (`storage/priority.rs`): the write connection's and the readers'.

#![cfg(target_os = "linux")]

use crate::binary::Serving;
use crate::peer::Peer;
use std::time::Duration;

/// The nice value of each of `pid`'s SQLite worker threads.
fn sqlite_thread_nice_values(pid: u32) -> Vec<i64> {
    let mut nice = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let path = task.unwrap().path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !comm.starts_with("sqlx-sqlite") {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap();
        // After the name in parentheses: field 3 (state) onwards; nice is 19.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        nice.push(fields[19 - 3].parse().unwrap());
    }
    nice
}

#[tokio::test]
async fn sqlite_threads_run_at_the_lowest_priority() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let server = Serving::start(&["--port", "0", "--data", dir], &[]);
    let mut ada = Peer::join(server.addr(), "room", "ada", 1).await;
    ada.append("stored").await;
    ada.until_durable(Duration::from_secs(10)).await;
    let nice = sqlite_thread_nice_values(server.pid());
    assert!(nice.len() >= 2, "a writer and a reader at least: {nice:?}");
    assert!(nice.iter().all(|&n| n == 19), "{nice:?}");
}
