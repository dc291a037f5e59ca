//! `weft-signal [--bind ADDR] [--port N] [--static DIR]`: runs the signaling
//! server until SIGINT or SIGTERM. The port defaults to `$PORT`, else 8080;
//! the address to 127.0.0.1. The last line printed at start-up is the URL.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;
use weft_signal::{log, Config};

const USAGE: &str = "usage: weft-signal [--bind ADDR] [--port N] [--static DIR] \
[--max-message-bytes N] [--max-rooms N] [--max-peers-per-room N] \
[--messages-per-second N] [--idle-timeout-secs N]";

fn parse(args: &[String]) -> Result<(SocketAddr, Config), String> {
    let mut bind = "127.0.0.1".to_owned();
    let mut port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let mut config = Config::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} needs a number, not {value:?}"))
        };
        let limits = &mut config.limits;
        match flag.as_str() {
            "--bind" => bind = value.clone(),
            "--port" => port = value.clone(),
            "--static" => config.static_dir = Some(value.into()),
            "--max-message-bytes" => limits.max_message_bytes = number()? as usize,
            "--max-rooms" => limits.max_rooms_per_connection = number()? as usize,
            "--max-peers-per-room" => limits.max_peers_per_room = number()? as usize,
            "--messages-per-second" => {
                limits.messages_per_second = number()? as f64;
                limits.message_burst = limits.message_burst.max(limits.messages_per_second);
            }
            "--idle-timeout-secs" => limits.idle_timeout = Duration::from_secs(number()?),
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("the port must be a number from 0 to 65535, not {port:?}"))?;
    let ip = bind
        .parse()
        .map_err(|_| format!("--bind needs an IP address, not {bind:?}"))?;
    Ok((SocketAddr::new(ip, port), config))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, config) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    if let Some(dir) = &config.static_dir {
        log!(Info, "serving files from {}", dir.display());
    }
    log!(
        Info,
        "signaling on ws://{local}/signal, health on http://{local}/health"
    );
    println!("http://{local}/");
    match weft_signal::serve(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
