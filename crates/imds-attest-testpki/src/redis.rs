//! A real `redis-server` on a free loopback port, in its own temporary directory, killed when
//! dropped. The one harness for every test and benchmark that needs Redis: the store's, the
//! CLI's, the service's, and the Python package's (through this crate's `redis_server`
//! example).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::loopback::free_port;
use crate::temp::{self, TempDir};

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts one with `extra` arguments, or `None` if `redis-server` is not installed and `CI`
    /// is not `true` (a message says the caller is skipped). Under `CI=true` a missing server
    /// fails: the one place that rule is written.
    pub fn start(extra: &[&str]) -> Option<RedisServer> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("redis-server is missing and CI=true: install it (apt-get install redis-server)");
            }
            eprintln!("skipped: redis-server is not installed (apt-get install redis-server)");
            return None;
        }
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            dir: temp::dir(),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        server.restart();
        Some(server)
    }

    /// Starts one with `extra` arguments for a test that needs it, failing the test when
    /// `redis-server` is missing. Such a test is marked
    /// `#[cfg_attr(no_redis_server, ignore = "...")]`: its crate's build script sets that cfg
    /// when no server is on `PATH` and `CI` is not `true`, so a missing server shows as
    /// "ignored" in cargo's summary, never as a silent "ok".
    pub fn required(extra: &[&str]) -> RedisServer {
        match RedisServer::start(extra) {
            Some(server) => server,
            None => panic!(
                "redis-server is not on PATH, although it was when this test was built: \
                 install it (apt-get install redis-server) or rebuild to mark the test ignored"
            ),
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills it and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port and directory, and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--save", "", "--appendonly", "no"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        wait_until_listening(self.port);
    }
}

fn wait_until_listening(port: u16) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("redis-server did not listen on port {port} within 10 s");
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
