//! `weft-server [OPTIONS]`: runs the server until SIGINT or SIGTERM. The
//! port defaults to `$PORT`, else 8080; the address to 127.0.0.1. The last
//! line printed at start-up is the URL. `--help` lists every limit; a value
//! out of range stops it with exit code 2. `weft-server token ...` prints
//! an access token instead.

mod cli;

use clap::{error::ErrorKind, CommandFactory, Parser};
use cli::Cli;
use std::process::ExitCode;
use weft_server::log;

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

/// Connections the kernel queues before they are accepted. Tokio's default
/// (128) overflows when the clients of a server that died all move to
/// this one at once, and each dropped attempt waits a second to retry.
const LISTEN_BACKLOG: u32 = 4096;

fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As std's and tokio's own bind: a restart may listen again at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[tokio::main]
async fn main() -> ExitCode {
    // Clap's own errors, a limit out of range and an unusable secret exit
    // with code 2.
    let cli = Cli::parse();
    let auth = match cli.auth() {
        Ok(auth) => auth,
        Err(e) => Cli::command().error(ErrorKind::ValueValidation, e).exit(),
    };
    if let Some(request) = cli.token_request() {
        let Some(auth) = auth else {
            let needed = "printing a token needs --auth-secret-file (or WEFT_AUTH_SECRET_FILE)";
            Cli::command()
                .error(ErrorKind::MissingRequiredArgument, needed)
                .exit()
        };
        println!("{}", auth.mint(request.room, request.role, request.ttl));
        return ExitCode::SUCCESS;
    }
    weft_server::tune_allocator();
    let (addr, mut config) = match cli.into_config() {
        Ok(served) => served,
        Err(e) => Cli::command().error(ErrorKind::ValueValidation, e).exit(),
    };
    if auth.is_none() {
        log!(Info, "rooms are open: no --auth-secret-file");
    }
    config.auth = auth;
    let listener = match listen(addr) {
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
    match weft_server::serve(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
