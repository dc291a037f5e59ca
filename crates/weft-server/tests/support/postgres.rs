//! Each test in a PostgreSQL database of its own, on the throwaway server
//! this test binary shares (`weft_services::postgres`).

#![allow(dead_code)] // Each test binary uses part of it.

use sqlx::postgres::PgConnection;
use sqlx::Connection;
use std::sync::atomic::{AtomicUsize, Ordering};
pub use weft_services::postgres::{shared, Cluster};

/// A database of its own on a server, for one test.
pub struct Database {
    pub url: String,
    pub name: String,
}

impl Database {
    /// A fresh database on `cluster`, named after `test` and numbered.
    pub async fn create(cluster: &Cluster, test: &str) -> Database {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name: String = format!("{test}_{n}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let name = name.to_ascii_lowercase();
        let url = cluster.create_database(&name);
        Database { url, name }
    }

    /// Waits until no `weft-server` session is connected to it: a killed
    /// server's session ends, and its lock is released, once the database
    /// reads the closed socket.
    pub async fn until_no_server(&self) {
        let mut conn = PgConnection::connect(&self.url).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let sessions: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity \
                 WHERE datname = $1 AND application_name = 'weft-server'",
            )
            .bind(&self.name)
            .fetch_one(&mut conn)
            .await
            .unwrap();
            if sessions == 0 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "a session stayed");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        conn.close().await.unwrap();
    }
}
