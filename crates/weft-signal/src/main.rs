//! `weft-signal [OPTIONS]`: runs the signaling server until SIGINT or
//! SIGTERM. The port defaults to `$PORT`, else 8080; the address to
//! 127.0.0.1. The last line printed at start-up is the URL. `--help` lists
//! every limit; a value out of range stops it with exit code 2.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;
use weft_signal::{log, Config, Limits};

fn help() -> String {
    let d = Limits::default();
    format!(
        "usage: weft-signal [OPTIONS]

Signaling server for Weft: WebSocket at /signal, JSON counts and caps at
/health. Stops on Ctrl-C or SIGTERM: every connection is closed with 1001
and the process exits within 3 seconds whatever clients do.

  --bind ADDR                 IP address to listen on [127.0.0.1]
  --port N                    port [$PORT, else 8080]
  --static DIR                also serve the files in DIR

Limits (defaults in brackets; a value out of range is refused at start-up):
  --max-message-bytes N       largest message a client may send, 1024 to
                              16777216 [{}]
  --max-rooms N               rooms one connection may be in, 1 to 1024 [{}]
  --max-peers-per-room N      peers in one room, 2 to 100000 [{}]
  --max-peers-per-address N   peers in one room from one address (an IPv4
                              address or an IPv6 /64; behind a proxy every
                              client has the proxy's), 1 to 100000 [{}]
  --max-connections N         open connections; more are closed with 1013,
                              1 to 1000000 [{}]
  --max-total-rooms N         rooms on the server; joining more is refused
                              with server-full, 1 to 10000000 [{}]
  --messages-per-second R     messages a connection may send per second on
                              average, above 0 to 1000000 [{}]
  --message-burst N           ...and in a burst, 1 to 1000000 [{}, or the
                              rate if higher]
  --idle-timeout-secs N       close a connection that sends nothing for this
                              long (4000), 1 to 86400 [{}]
  --write-timeout-secs N      close a connection that takes longer than this
                              to accept one message: it stopped reading
                              (4001), 1 to 86400 [{}]
  --queue-messages N          messages waiting for one client before more
                              are refused (peer-not-reading), 1 to 1000000
                              [{}]
  --queue-bytes N             ...and bytes, 2 x max-message-bytes to
                              1073741824 [{}]
  --max-queued-bytes N        bytes waiting for all clients together before
                              more are refused (server-busy), queue-bytes to
                              1099511627776 [{}]

Memory for queues is at most max-queued-bytes, plus per connection one
message being written and up to 2 x max-message-bytes being read.",
        d.max_message_bytes,
        d.max_rooms_per_connection,
        d.max_peers_per_room,
        d.max_peers_per_address,
        d.max_connections,
        d.max_rooms,
        d.messages_per_second,
        d.message_burst,
        d.idle_timeout.as_secs(),
        d.write_timeout.as_secs(),
        d.queue_messages,
        d.queue_bytes,
        d.max_queued_bytes,
    )
}

/// What the command line asks for.
enum Command {
    Help,
    Serve(SocketAddr, Config),
}

fn parse(args: &[String]) -> Result<Command, String> {
    let mut bind = "127.0.0.1".to_owned();
    let mut port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let mut config = Config::default();
    let mut burst = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(Command::Help);
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value (see --help)"))?;
        let limits = &mut config.limits;
        match flag.as_str() {
            "--bind" => bind = value.clone(),
            "--port" => port = value.clone(),
            "--static" => config.static_dir = Some(value.into()),
            "--max-message-bytes" => limits.max_message_bytes = number(flag, value)?,
            "--max-rooms" => limits.max_rooms_per_connection = number(flag, value)?,
            "--max-peers-per-room" => limits.max_peers_per_room = number(flag, value)?,
            "--max-peers-per-address" => limits.max_peers_per_address = number(flag, value)?,
            "--max-connections" => limits.max_connections = number(flag, value)?,
            "--max-total-rooms" => limits.max_rooms = number(flag, value)?,
            "--messages-per-second" => limits.messages_per_second = number(flag, value)?,
            "--message-burst" => burst = Some(number(flag, value)?),
            "--idle-timeout-secs" => limits.idle_timeout = seconds(flag, value)?,
            "--write-timeout-secs" => limits.write_timeout = seconds(flag, value)?,
            "--queue-messages" => limits.queue_messages = number(flag, value)?,
            "--queue-bytes" => limits.queue_bytes = number(flag, value)?,
            "--max-queued-bytes" => limits.max_queued_bytes = number(flag, value)?,
            _ => return Err(format!("unknown option {flag} (see --help)")),
        }
    }
    let limits = &mut config.limits;
    // A burst smaller than the rate would make the rate unreachable.
    limits.message_burst = burst.unwrap_or(limits.message_burst.max(limits.messages_per_second));
    limits.validate().map_err(|e| e.to_string())?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("the port must be a number from 0 to 65535, not {port:?}"))?;
    let ip = bind
        .parse()
        .map_err(|_| format!("--bind needs an IP address, not {bind:?}"))?;
    Ok(Command::Serve(SocketAddr::new(ip, port), config))
}

fn number<T: FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} needs a number, not {value:?}"))
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    number(flag, value).map(Duration::from_secs)
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
        Ok(Command::Serve(addr, config)) => (addr, config),
        Ok(Command::Help) => {
            println!("{}", help());
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("weft-signal: {message}");
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
