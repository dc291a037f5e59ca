//! Throwaway PostgreSQL and Redis servers: started on free loopback ports
//! in temporary folders, stopped when dropped. Never a server the machine
//! runs. Used by the server's tests, by the benchmarks and (through the
//! `weft-services` binary) by the end-to-end tests in Node.

pub mod postgres;
pub mod redis;

/// A port nothing listens on now (the kernel's pick for port 0).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().unwrap().port()
}
