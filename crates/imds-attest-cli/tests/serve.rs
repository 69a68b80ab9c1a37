//! `imds-attest serve` and `imds-attest attest` as processes, over real HTTP on loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{repo, run};
use imds_attest_testpki::loopback::free_port;
use imds_attest_testpki::redis::RedisServer;
use imds_attest_testpki::temp::{self, TempDir};
use imds_emulator::Background;
use serde_json::Value;

/// An emulator and its PKI folder, which goes when dropped.
fn emulator() -> (Background, TempDir) {
    let pki = temp::dir();
    let emulator = Background::start(imds_emulator::Config::new(pki.path().to_path_buf())).unwrap();
    (emulator, pki)
}

/// A config trusting the emulator's PKI (or the built-in roots), listening on `port`.
fn config(dir: &Path, port: u16, emulator: Option<&Background>, extra: &str) -> PathBuf {
    let trust = match emulator {
        Some(e) => format!(
            "[trust]\nroots = [{:?}]\nintermediates = [{:?}]\n",
            e.pki_dir().join("root.pem"),
            e.pki_dir().join("intermediate.pem")
        ),
        None => String::new(),
    };
    let path = dir.join(format!("service-{port}.toml"));
    std::fs::write(
        &path,
        format!("listen = \"127.0.0.1:{port}\"\n{extra}\n{trust}"),
    )
    .unwrap();
    path
}

/// A running `imds-attest serve`, killed when dropped.
struct Served {
    child: Child,
    port: u16,
}

impl Served {
    fn start(config: &Path, port: u16) -> Served {
        Served::start_with(config, port, &[], Stdio::null())
    }

    fn start_with(config: &Path, port: u16, args: &[&str], stderr: Stdio) -> Served {
        let child = Command::new(env!("CARGO_BIN_EXE_imds-attest"))
            .args(["serve", "--config"])
            .arg(config)
            .args(args)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let served = Served { child, port };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return served;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("imds-attest serve did not listen on {port}");
    }

    /// Started with `--log-format json`, writing its log to `dir/log.txt`: the service and
    /// the log's path.
    fn start_json_logged(config: &Path, port: u16, dir: &Path) -> (Served, PathBuf) {
        let log = dir.join("log.txt");
        let file = std::fs::File::create(&log).unwrap();
        let served = Served::start_with(config, port, &["--log-format", "json"], file.into());
        (served, log)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn call(&self, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
        http(self.port, method, path, body)
    }

    fn challenge(&self) -> String {
        let (status, body) = self.call("POST", "/v1/challenges", b"");
        assert_eq!(status, 201, "{body}");
        body["nonce"].as_str().unwrap().to_owned()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; the status and the JSON body.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {text}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn fetch(emulator: &Background, nonce: &str) -> String {
    let mut options = imds_attest::imds::FetchOptions::default();
    options.endpoint = emulator.url().to_owned();
    options.nonce = Some(nonce.to_owned());
    options.backoff = Duration::from_millis(50);
    imds_attest::imds::fetch_blocking(&options, |_| {})
        .unwrap()
        .body
}

#[test]
fn bad_configs_stop_startup_with_one_line_naming_the_kind_and_the_key_exit_2() {
    let dir = temp::dir();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
    // A trust directory with a root of its own, which given roots must not be widened by.
    let widening = dir.path().join("widening/roots/public");
    std::fs::create_dir_all(&widening).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../certs/public/roots/baltimore_cybertrust_root.pem"
        ),
        widening.join("extra.pem"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.rules.toml"),
        "[[allow]]\nname = \"x\"\nsku = 3\n",
    )
    .unwrap();
    // The kinds of a trust file, a rules file and a store URL are those `verify --json` and
    // Python's ConfigError give the same mistake.
    let cases = [
        (
            write("unknown.toml", "[limits]\nmax_bodybytes = 1\n"),
            "config",
            "line 2: unknown field `max_bodybytes`",
        ),
        (
            dir.path().join("missing.toml").to_str().unwrap().to_owned(),
            "config",
            "(file): cannot read it",
        ),
        (
            write("pem.toml", "[trust]\nroots = [\"junk.pem\"]\n"),
            "trust_file",
            "trust.roots:",
        ),
        (
            write("nopem.toml", "[trust]\nintermediates = [\"absent.pem\"]\n"),
            "trust_file",
            "trust.intermediates: cannot read",
        ),
        (
            write("nodir.toml", "[trust]\ndir = \"absent\"\n"),
            "trust_file",
            "trust.dir: ",
        ),
        (
            write(
                "widen.toml",
                &format!(
                    "[trust]\nroots = [{:?}]\ndir = \"widening\"\n",
                    concat!(
                        env!("CARGO_MANIFEST_DIR"),
                        "/../../certs/public/roots/digicert_global_root_g2.pem"
                    )
                ),
            ),
            "trust_file",
            "widening/roots/public/extra.pem is a root of the trust directory, but roots were given",
        ),
        (
            write("rules.toml", "policy = \"bad.rules.toml\"\n"),
            "rules_file",
            "policy: ",
        ),
        (
            write("norules.toml", "policy = \"absent.rules.toml\"\n"),
            "rules_file",
            "policy: cannot read",
        ),
        (
            write(
                "nodbdir.toml",
                "[store]\nurl = \"sqlite:absent-dir/state.db\"\n",
            ),
            "store_unavailable",
            "absent-dir does not exist; create it",
        ),
        (
            write("store.toml", "[store]\nurl = \"postgres://x\"\n"),
            "store_url",
            "store.url:",
        ),
        (
            write(
                "tls.toml",
                "[tls]\ncert = \"junk.pem\"\nkey = \"junk.pem\"\n",
            ),
            "config",
            "tls.cert:",
        ),
        (
            write("halftls.toml", "[tls]\ncert = \"junk.pem\"\n"),
            "config",
            "tls.key: tls.cert is set without it",
        ),
        (
            write("tokens.toml", "[auth]\ntokens_file = \"absent.txt\"\n"),
            "config",
            "auth.tokens_file: cannot read",
        ),
        (
            write("listen.toml", "listen = \"localhost\"\n"),
            "config",
            "listen:",
        ),
        // Loaded, then a panic in the semaphore (exit 101), before numbers had ranges.
        (
            write(
                "permits.toml",
                "[limits]\nmax_concurrent_requests = 9223372036854775807\n",
            ),
            "config",
            "limits.max_concurrent_requests: line 2: 9223372036854775807 is out of range; give \
             a whole number from 1 to 65536",
        ),
        (
            write(
                "empty-rules.toml",
                &format!("policy = {:?}\n", write("empty.rules.toml", "# none\n")),
            ),
            "rules_file",
            "policy: cannot use rules file",
        ),
        (
            write("zero.toml", "[auth]\ntokens_file = \"/dev/zero\"\n"),
            "config",
            "auth.tokens_file: /dev/zero is larger than 1048576 bytes",
        ),
    ];
    for (file, kind, expected) in cases {
        let out = run(&["serve", "--config", &file], b"");
        assert_eq!(out.code, 2, "{file}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{file}: {}", out.stderr);
        assert!(
            out.stderr
                .starts_with(&format!("imds-attest: {kind}: config ")),
            "{file}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(expected), "{file}: {}", out.stderr);
    }
}

#[test]
fn every_malformed_file_gets_the_kind_verify_gives() {
    let dir = temp::dir();
    let port = free_port();
    let service = Served::start(&config(dir.path(), port, None, ""), port);
    let malformed = repo().join("testdata/malformed");
    let mut checked = 0;
    for entry in std::fs::read_dir(&malformed).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if matches!(ext, "about" | "md" | "py") {
            continue;
        }
        let cli = run(
            &[
                "verify",
                "--json",
                "--store",
                "memory:",
                path.to_str().unwrap(),
            ],
            b"",
        );
        let cli_kind = serde_json::from_str::<Value>(&cli.stdout).unwrap()["error"]["kind"].clone();
        let (status, body) = service.call("POST", "/v1/verify", &std::fs::read(&path).unwrap());
        assert_eq!(status, 422, "{}: {body}", path.display());
        assert_eq!(body["verified"], false);
        assert_eq!(body["error"]["kind"], cli_kind, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}

/// Sends `head` and the first `body` bytes of a request in one write (so that the service
/// reads them all and nothing it left unread turns its close into a reset), then reads the
/// answer to the end.
fn partial_request(port: u16, head: &str, body: usize) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request = head.as_bytes().to_vec();
    request.resize(head.len() + body, b'A');
    stream.write_all(&request).unwrap();
    let mut response = Vec::new();
    let read = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    assert!(read.is_ok() || !text.is_empty(), "{read:?}");
    text
}

/// The peak resident set size of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in\n{status}"))
}

#[test]
fn bodies_of_100_mb_are_refused_413_unread_and_the_service_memory_stays_bounded() {
    if !Path::new("/proc/self/status").exists() {
        return; // no procfs: the memory cannot be read
    }
    let dir = temp::dir();
    let port = free_port();
    let service = Served::start(&config(dir.path(), port, None, ""), port);
    let size = 100 * 1024 * 1024;
    let declared = format!("POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n");
    // One 100 MB chunk announced, and one byte more than max_body_bytes of it sent.
    let chunked = format!(
        "POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{size:x}\r\n"
    );
    let max = imds_attest_service::DEFAULT_MAX_BODY_BYTES;
    let refuse = |head: &str, body: usize| {
        let response = partial_request(port, head, body);
        assert!(response.starts_with("HTTP/1.1 413"), "{response}");
        assert!(
            response.contains("\"kind\":\"input_too_large\""),
            "{response}"
        );
        assert!(
            response.to_ascii_lowercase().contains("connection: close"),
            "{response}"
        );
    };
    // Warm: the allocator's arenas and the first connections' buffers exist before the baseline.
    refuse(&declared, 1024);
    refuse(&chunked, max + 1);
    let before = peak_rss_kib(service.child.id());
    for _ in 0..20 {
        refuse(&declared, 1024);
        refuse(&chunked, max + 1);
    }
    let after = peak_rss_kib(service.child.id());
    assert!(
        after.saturating_sub(before) < 16 * 1024,
        "peak RSS grew from {before} KiB to {after} KiB over 40 refused 100 MB bodies"
    );
    assert_eq!(service.call("GET", "/healthz", b"").0, 200);
}

#[test]
fn attest_on_the_vm_is_verified_by_the_service_and_a_replay_is_not() {
    let (emulator, _pki) = emulator();
    let dir = temp::dir();
    let port = free_port();
    let service = Served::start(&config(dir.path(), port, Some(&emulator), ""), port);

    let out = run(
        &[
            "attest",
            "--server",
            &service.url(),
            "--endpoint",
            emulator.url(),
            "--json",
        ],
        b"",
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let verdict: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(verdict["verified"], true);
    assert_eq!(verdict["redeemed"], true);

    let text = run(
        &[
            "attest",
            "--server",
            &service.url(),
            "--endpoint",
            emulator.url(),
        ],
        b"",
    );
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.starts_with("VERIFIED by the licence service\n"),
        "{}",
        text.stdout
    );

    let nonce = service.challenge();
    let document = fetch(&emulator, &nonce);
    assert_eq!(
        service.call("POST", "/v1/verify", document.as_bytes()).0,
        200
    );
    let (status, body) = service.call("POST", "/v1/verify", document.as_bytes());
    assert_eq!(
        (status, &body["error"]["kind"]),
        (422, &Value::from("nonce_already_used"))
    );
}

#[test]
fn attest_rejected_or_unreachable_is_exit_1_with_the_kind() {
    let (emulator, _pki) = emulator();
    let dir = temp::dir();
    let tokens = dir.path().join("tokens.txt");
    std::fs::write(&tokens, "s3cret\n").unwrap();
    let port = free_port();
    let extra = format!("[auth]\ntokens_file = {tokens:?}");
    let service = Served::start(&config(dir.path(), port, Some(&emulator), &extra), port);

    let no_token = run(
        &[
            "attest",
            "--server",
            &service.url(),
            "--endpoint",
            emulator.url(),
            "--json",
        ],
        b"",
    );
    assert_eq!(no_token.code, 1, "{}", no_token.stderr);
    let v: Value = serde_json::from_str(&no_token.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "unauthorized");

    let ok = run(
        &[
            "attest",
            "--server",
            &service.url(),
            "--endpoint",
            emulator.url(),
            "--token-file",
            tokens.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);

    let unreachable = run(
        &[
            "attest",
            "--server",
            &format!("http://127.0.0.1:{}", free_port()),
            "--json",
        ],
        b"",
    );
    assert_eq!(unreachable.code, 1, "{}", unreachable.stderr);
    assert!(
        unreachable.stdout.contains("service_unreachable"),
        "{}",
        unreachable.stdout
    );
    // The cause, not only reqwest's "error sending request".
    assert!(
        unreachable.stdout.to_lowercase().contains("refused"),
        "{}",
        unreachable.stdout
    );
}

#[test]
fn sqlite_redemption_survives_sigkill_right_after_the_200() {
    let (emulator, _pki) = emulator();
    let dir = temp::dir();
    let port = free_port();
    let db = dir.path().join("state.db");
    let extra = format!("[store]\nurl = \"sqlite:{}\"", db.display());
    let file = config(dir.path(), port, Some(&emulator), &extra);
    let mut service = Served::start(&file, port);
    let document = fetch(&emulator, &service.challenge());
    assert_eq!(
        service.call("POST", "/v1/verify", document.as_bytes()).0,
        200
    );
    service.child.kill().unwrap(); // SIGKILL
    service.child.wait().unwrap();

    let again = Served::start(&file, port);
    let (status, body) = again.call("POST", "/v1/verify", document.as_bytes());
    assert_eq!(
        (status, &body["error"]["kind"]),
        (422, &Value::from("nonce_already_used"))
    );
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "redis-server is not installed (apt-get install redis-server)"
)]
fn redis_stopped_is_503_and_not_ready_then_200_again_without_a_restart() {
    let mut redis = RedisServer::required(&[]);
    let (emulator, _pki) = emulator();
    let dir = temp::dir();
    let port = free_port();
    let extra = format!("[store]\nurl = \"{}?timeout_ms=300\"", redis.url());
    let service = Served::start(&config(dir.path(), port, Some(&emulator), &extra), port);
    assert_eq!(service.call("GET", "/readyz", b"").0, 200);
    let documents: Vec<String> = (0..3)
        .map(|_| fetch(&emulator, &service.challenge()))
        .collect();
    assert_eq!(
        service
            .call("POST", "/v1/verify", documents[0].as_bytes())
            .0,
        200
    );

    redis.stop();
    for document in &documents[1..] {
        let (status, body) = service.call("POST", "/v1/verify", document.as_bytes());
        assert_eq!(
            (status, &body["error"]["kind"]),
            (503, &Value::from("store_unavailable"))
        );
    }
    // Issuing writes nothing: the service, which read the key before, still issues; a document
    // carrying that challenge is refused while the store is down.
    let during = fetch(&emulator, &service.challenge());
    let (status, body) = service.call("POST", "/v1/verify", during.as_bytes());
    assert_eq!(
        (status, &body["error"]["kind"]),
        (503, &Value::from("store_unavailable"))
    );
    assert_eq!(service.call("GET", "/readyz", b"").0, 503);

    // This Redis keeps nothing across a restart, the key included: its earlier challenges are
    // nonce_unknown, and new ones work without restarting the service.
    redis.restart();
    assert_eq!(service.call("GET", "/readyz", b"").0, 200);
    for document in [&documents[1], &during] {
        let (status, body) = service.call("POST", "/v1/verify", document.as_bytes());
        assert_eq!(
            (status, &body["error"]["kind"]),
            (422, &Value::from("nonce_unknown"))
        );
    }
    let fresh = fetch(&emulator, &service.challenge());
    let (status, body) = service.call("POST", "/v1/verify", fresh.as_bytes());
    assert_eq!(status, 200, "{body}");
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "redis-server is not installed (apt-get install redis-server)"
)]
fn two_services_sharing_redis_accept_one_document_once() {
    let redis = RedisServer::required(&[]);
    let (emulator, _pki) = emulator();
    let dir = temp::dir();
    let extra = format!("[store]\nurl = \"{}\"", redis.url());
    let (p1, p2) = (free_port(), free_port());
    let a = Served::start(&config(dir.path(), p1, Some(&emulator), &extra), p1);
    let b = Served::start(&config(dir.path(), p2, Some(&emulator), &extra), p2);
    let document = fetch(&emulator, &a.challenge());
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let (port, body) = (if i % 2 == 0 { p1 } else { p2 }, document.as_bytes());
                s.spawn(move || http(port, "POST", "/v1/verify", body).0)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        15,
        "{statuses:?}"
    );
    drop((a, b));
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The text log says once where the service listens, and a log written to a file (not a
/// terminal) holds no colour escape sequences.
#[test]
fn serve_says_where_it_listens_and_colours_no_file() {
    let dir = temp::dir();
    let port = free_port();
    let log = dir.path().join("log.txt");
    let service = Served::start_with(
        &config(dir.path(), port, None, ""),
        port,
        &[],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    // Answered after the line was written: the line precedes the accept loop.
    assert_eq!(service.call("GET", "/healthz", b"").0, 200);
    drop(service);
    let text = std::fs::read_to_string(&log).unwrap();
    let line = format!("listening on http://127.0.0.1:{port}");
    assert_eq!(text.matches(&line).count(), 1, "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    // And which trust sources take part, as a verdict of `verify` names them.
    assert_eq!(
        text.matches("trusting built-in roots; built-in intermediates\n")
            .count(),
        1,
        "{text}"
    );
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let dir = temp::dir();
    let port = free_port();
    let mut service = Served::start(&config(dir.path(), port, None, ""), port);
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        slow,
        "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    signal(&service.child, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    // No new connections once stopping; the one in flight is answered.
    slow.write_all(b" a doc").unwrap();
    let mut response = String::new();
    slow.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 422"), "{response}");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = service.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(11), "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sighup_reloads_tokens_and_keeps_the_old_config_when_the_new_one_is_bad() {
    let dir = temp::dir();
    let tokens = dir.path().join("tokens.txt");
    std::fs::write(&tokens, "old-token\n").unwrap();
    let port = free_port();
    let extra = format!("[auth]\ntokens_file = {tokens:?}");
    let file = config(dir.path(), port, None, &extra);
    let (service, log) = Served::start_json_logged(&file, port, dir.path());
    let challenge = |token: &str| {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "POST /v1/challenges HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        r.get(9..12).unwrap().parse::<u16>().unwrap()
    };
    assert_eq!(challenge("old-token"), 201);

    std::fs::write(&tokens, "new-token\n").unwrap();
    signal(&service.child, "HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!((challenge("old-token"), challenge("new-token")), (401, 201));

    std::fs::write(&file, "listen = 1\nbogus = true\n").unwrap();
    signal(&service.child, "HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(challenge("new-token"), 201, "the old config is kept");

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("reload refused"), "{text}");
    let requests: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v| v["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 4, "one line per request: {text}");
    assert_eq!(requests[1]["status"], 401);
    assert_eq!(requests[1]["kind"], "unauthorized");
    assert_eq!(requests[1]["path"], "/v1/challenges");
    assert!(
        !text.contains("old-token") && !text.contains("new-token"),
        "{text}"
    );
}

#[test]
fn https_with_a_test_certificate_works_for_attest_and_curl() {
    let (emulator, _pki) = emulator();
    let dir = temp::dir();
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let port = free_port();
    let extra = format!("[tls]\ncert = {cert:?}\nkey = {key:?}");
    let service = Served::start(&config(dir.path(), port, Some(&emulator), &extra), port);
    let url = format!("https://127.0.0.1:{port}");

    let out = run(
        &[
            "attest",
            "--server",
            &url,
            "--endpoint",
            emulator.url(),
            "--ca-cert",
            cert.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let untrusted = run(
        &["attest", "--server", &url, "--endpoint", emulator.url()],
        b"",
    );
    assert_eq!(untrusted.code, 1, "{}", untrusted.stderr);

    if Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok()
    {
        let curl = Command::new("curl")
            .args(["-sS", "--noproxy", "*", "-X", "POST", "--cacert"])
            .arg(&cert)
            .arg(format!("{url}/v1/challenges"))
            .output()
            .unwrap();
        assert!(
            curl.status.success(),
            "{}",
            String::from_utf8_lossy(&curl.stderr)
        );
        let v: Value = serde_json::from_slice(&curl.stdout).unwrap();
        assert!(v["nonce"].is_string(), "{v}");
    }
    drop(service);
}

#[test]
fn sighup_applies_fetch_intermediates_and_keeps_it_when_the_new_value_is_bad() {
    let (emulator, _pki) = emulator();
    let dir = temp::dir();
    let port = free_port();
    let file = dir.path().join("service.toml");
    let head = format!(
        "listen = \"127.0.0.1:{port}\"\n[trust]\nroots = [{:?}]\n",
        emulator.pki_dir().join("root.pem")
    );
    std::fs::write(&file, &head).unwrap();
    let service = Served::start(&file, port);
    let verify = || {
        let document = fetch(&emulator, &service.challenge());
        service.call("POST", "/v1/verify", document.as_bytes())
    };
    let (status, body) = verify();
    assert_eq!(
        (status, &body["error"]["kind"]),
        (422, &Value::from("untrusted_issuer"))
    );

    let authority = emulator
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let fetching = format!("{head}fetch_intermediates = true\naia_allow = [\"{authority}\"]\n");
    std::fs::write(&file, &fetching).unwrap();
    signal(&service.child, "HUP");
    std::thread::sleep(Duration::from_millis(500));
    let (status, body) = verify();
    assert_eq!(status, 200, "{body}");
    assert!(body["fetchedIntermediates"][0].is_string(), "{body}");

    std::fs::write(
        &file,
        format!("{head}fetch_intermediates = true\naia_allow = []\n"),
    )
    .unwrap();
    signal(&service.child, "HUP");
    std::thread::sleep(Duration::from_millis(500));
    let (status, body) = verify();
    assert_eq!(status, 200, "the old config is kept: {body}");
}

/// An emptied (comment-only) rules file, or one whose deny value can never match, must not
/// turn "deny this subscription" into "accept every genuine document" on SIGHUP: the reload
/// is refused, the log says so, and the old rules stay.
#[test]
fn sighup_with_an_emptied_or_unmatchable_rules_file_keeps_the_deny_rules() {
    let (emulator, _pki) = emulator();
    let dir = temp::dir();
    // The emulator's VM is in this subscription.
    let deny = "[[deny]]\nname = \"revoked\"\nsubscription_id = \"8d10da13-8125-4ba9-a717-bf7490507b3d\"\n";
    let rules = dir.path().join("licence.rules.toml");
    std::fs::write(&rules, deny).unwrap();
    let port = free_port();
    let file = config(
        dir.path(),
        port,
        Some(&emulator),
        &format!("policy = {rules:?}"),
    );
    let (service, log) = Served::start_json_logged(&file, port, dir.path());
    let verdict = || {
        let document = fetch(&emulator, &service.challenge());
        let (status, body) = service.call("POST", "/v1/verify", document.as_bytes());
        (
            status,
            body["error"]["kind"].as_str().unwrap_or("").to_owned(),
        )
    };
    assert_eq!(verdict(), (422, "denied_by_rule".to_owned()));

    for (text, why) in [
        ("# the deny rules moved elsewhere\n", "holds no rule"),
        ("", "holds no rule"),
        (
            &*deny
                .replace("\"8d10da13", "\"{8d10da13")
                .replace("3d\"", "3d}\""),
            "is not a GUID",
        ),
    ] {
        std::fs::write(&rules, text).unwrap();
        signal(&service.child, "HUP");
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            verdict(),
            (422, "denied_by_rule".to_owned()),
            "the old rules are kept after {text:?}"
        );
        let logged = std::fs::read_to_string(&log).unwrap();
        let refusal = logged
            .lines()
            .rev()
            .find(|l| l.contains("reload refused"))
            .unwrap_or_else(|| panic!("no refusal logged for {text:?}: {logged}"));
        assert!(refusal.contains("\"kind\":\"rules_file\""), "{refusal}");
        assert!(refusal.contains(why), "{refusal}");
    }
}
