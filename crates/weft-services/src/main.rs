//! `weft-services [--postgres] [--redis]`: starts throwaway servers for a
//! test written in another language (the end-to-end tests in Node), prints
//! one JSON line with their URLs, e.g.
//! `{"postgres":"postgres://weft@127.0.0.1:5433/weft","redis":"redis://127.0.0.1:6390/"}`,
//! and stops them when its standard input closes (the test ended, or died).

use std::io::Read;

const USAGE: &str = "usage: weft-services [--postgres] [--redis]\n\
    Starts throwaway servers on free loopback ports, prints their URLs as one JSON line,\n\
    and stops them when standard input closes.";

fn main() {
    let mut postgres = false;
    let mut redis = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--postgres" => postgres = true,
            "--redis" => redis = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return;
            }
            other => {
                eprintln!("weft-services: unknown argument {other:?}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let cluster = postgres.then(weft_services::postgres::Cluster::start);
    let database = cluster.as_ref().map(|c| c.create_database("weft"));
    let server = redis.then(weft_services::redis::Redis::start);
    let mut fields = Vec::new();
    if let Some(url) = &database {
        fields.push(format!("\"postgres\":\"{url}\""));
    }
    if let Some(server) = &server {
        fields.push(format!("\"redis\":\"{}\"", server.url()));
    }
    println!("{{{}}}", fields.join(","));
    // Until the test closes our standard input; dropping stops the servers.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(server);
    drop(cluster);
}
