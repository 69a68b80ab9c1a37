//! The tests' Redis harness ([`imds_attest_testpki::redis`]) for tests outside Rust (the Python
//! package's): starts a real `redis-server` on a free loopback port in a temporary directory,
//! prints `redis://127.0.0.1:PORT/0` on one line, and keeps it running until its standard input
//! closes; then stops it, waits for it to be gone, and exits 0.
//!
//! When `redis-server` is not installed it prints one line starting `skipped:` and exits 0,
//! except under `CI=true`, where it fails: the same rule as every Rust test that needs Redis.
//!
//! `cargo run -p imds-attest-testpki --features kit --example redis_server`

use std::io::{Read, Write};

use imds_attest_testpki::redis::RedisServer;

fn main() -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let Some(server) = RedisServer::start(&[]) else {
        writeln!(
            out,
            "skipped: redis-server is not installed (apt-get install redis-server)"
        )?;
        return Ok(());
    };
    writeln!(out, "{}", server.url())?;
    out.flush()?;
    // Until the caller closes the pipe (or dies, which closes it too).
    let mut sink = [0_u8; 64];
    while std::io::stdin().lock().read(&mut sink)? != 0 {}
    drop(server);
    Ok(())
}
