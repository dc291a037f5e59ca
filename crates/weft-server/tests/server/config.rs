//! Limits out of range are refused before anything is served.

use std::time::Duration;
use tokio::net::TcpListener;
use weft_server::{Config, Limits};

#[tokio::test]
async fn serve_refuses_limits_out_of_range() {
    let limits = Limits {
        idle_timeout: Duration::from_secs(u64::MAX),
        ..Limits::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        limits,
        ..Config::default()
    };
    let served = weft_server::serve(listener, config, std::future::pending());
    let error = tokio::time::timeout(Duration::from_secs(5), served)
        .await
        .expect("refused at once")
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("--idle-timeout-secs"), "{error}");
}
