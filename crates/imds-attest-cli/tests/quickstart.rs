//! The README's quick start, with exactly its files: the emulator on 127.0.0.1:8080 with its
//! PKI in `target/quickstart/pki`, `serve --config examples/quickstart/serve.toml`, then
//! `attest` printing VERIFIED and exiting 0; then the README's "try next": a replayed document
//! is `nonce_already_used`. It binds the quick start's fixed ports, so a quick start left
//! running by hand makes it fail, saying so.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const EMULATOR: &str = "127.0.0.1:8080";
const SERVICE: &str = "127.0.0.1:8700";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `imds-attest serve`, killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(addr: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listens on {addr}");
}

/// One HTTP/1.1 POST with `Connection: close`: the status and the JSON body.
fn post(path: &str, body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(SERVICE).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {SERVICE}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let json = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

#[test]
fn the_readme_quick_start_verifies_then_refuses_a_replay() {
    for addr in [EMULATOR, SERVICE] {
        assert!(
            TcpStream::connect(addr).is_err(),
            "{addr} is in use (a quick start left running?): stop it, then run this test"
        );
    }
    let root = workspace();
    // Command 1: the emulator, its PKI where the config looks for it (a fresh one each run).
    let pki = root.join("target/quickstart/pki");
    let _ = std::fs::remove_dir_all(&pki);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let addr: SocketAddr = EMULATOR.parse().unwrap();
    let emulator = runtime
        .block_on(imds_emulator::Emulator::bind(
            imds_emulator::Config::new(pki),
            addr,
        ))
        .unwrap();
    runtime.spawn(emulator.serve());

    // Command 2: the service, with the quick start's config as it is, from the repository.
    let _service = Killed(
        Command::new(env!("CARGO_BIN_EXE_imds-attest"))
            .current_dir(&root)
            .args(["serve", "--config", "examples/quickstart/serve.toml"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(SERVICE);

    // Command 3: the VM's side.
    let out = Command::new(env!("CARGO_BIN_EXE_imds-attest"))
        .current_dir(&root)
        .args([
            "attest",
            "--server",
            "http://127.0.0.1:8700",
            "--endpoint",
            "http://127.0.0.1:8080",
        ])
        .env_remove("IMDS_ENDPOINT")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("VERIFIED"), "{stdout}");
    assert!(stdout.contains("rule            emulator-vm"), "{stdout}");

    // Try next: a challenge, a document carrying it, sent twice.
    let (status, challenge) = post("/v1/challenges", b"");
    assert_eq!(status, 201, "{challenge}");
    let nonce = challenge["nonce"].as_str().unwrap();
    let fetched = Command::new(env!("CARGO_BIN_EXE_imds-attest"))
        .args([
            "fetch",
            "--endpoint",
            "http://127.0.0.1:8080",
            "--nonce",
            nonce,
        ])
        .output()
        .unwrap();
    assert_eq!(fetched.status.code(), Some(0));
    let (status, first) = post("/v1/verify", &fetched.stdout);
    assert_eq!(status, 200, "{first}");
    let (status, replay) = post("/v1/verify", &fetched.stdout);
    assert_eq!(status, 422, "{replay}");
    assert_eq!(replay["error"]["kind"], "nonce_already_used", "{replay}");
}
