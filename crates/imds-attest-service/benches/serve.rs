//! Service throughput on loopback: `cargo bench -p imds-attest-service --bench serve`.
//!
//! The service runs in a child process (this program again, as `imds-attest serve` runs it,
//! logging one JSON line a request to /dev/null), so its peak RSS is its own. This process
//! signs documents with an emulator PKI (valid now) for nonces the service issued (untimed),
//! then, per store: verify requests/s with 64 keep-alive HTTP/1.1 connections, p50/p99 at half
//! that rate (open loop), and the service's peak RSS. The client is a minimal HTTP/1.1 client
//! on one thread (pre-written requests, responses read to their Content-Length, each status
//! checked), sharing the machine's cores with the service as any load tool on the same host
//! would. The library's warm all-core throughput (`Verifier::verify_bytes`,
//! `NonceCheck::Exact`) is measured in the same run on the same kind of documents.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

#[path = "../../imds-attest-store/tests/common/redis_server.rs"]
mod redis_server;

use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imds_attest::{NonceCheck, Policy, TrustStore, Verifier};
use imds_attest_service::{Config, LogFormat, Service};
use imds_attest_testpki::{claims_json, imds_response, DocSpec};
use imds_emulator::{Chain, Cloud, Pki};
use time::OffsetDateTime;
use tokio::net::TcpStream;

const CLIENTS: usize = 64;
const DOCS: usize = 6_000;

/// Set in the child: the config file of the service to run.
const SERVE: &str = "IMDS_ATTEST_BENCH_SERVE";

fn main() {
    if let Ok(file) = std::env::var(SERVE) {
        return serve(&file);
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open(
        &dir.path().join("pki"),
        Cloud::Public,
        "eastus",
        Chain::G1,
        "http://127.0.0.1:1",
    )
    .unwrap();
    let root = dir.path().join("pki/root.pem");
    let intermediate = dir.path().join("pki/intermediate.pem");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);

    let docs = sign(
        &pki,
        &(0..DOCS).map(|i| format!("lib{i}")).collect::<Vec<_>>(),
    );
    let redis = redis_server::RedisServer::start(&[]);
    let mut stores = vec![
        ("memory", "memory:".to_owned()),
        (
            "sqlite",
            format!("sqlite:{}", dir.path().join("bench.db").display()),
        ),
    ];
    match &redis {
        Some(r) => stores.push(("redis", r.url())),
        None => println!("redis: skipped (no redis-server)"),
    }
    for (name, url) in stores {
        let file = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &file,
            format!(
                "listen = \"127.0.0.1:0\"\n[store]\nurl = \"{url}\"\n[limits]\nmax_concurrent_requests = 1024\n[trust]\nroots = [{root:?}]\nintermediates = [{intermediate:?}]\n"
            ),
        )
        .unwrap();
        // Measured right before each store, so that both figures of a ratio share the
        // machine's load of that moment (it is shared, and varies).
        let (library, library_us) = library(&root, &intermediate, &docs);
        println!(
            "library warm verify_bytes, {cores} threads: {library:.0}/s ({library_us:.0} us of CPU \
             per verification)"
        );
        bench_store(name, &file, &pki, library, library_us);
    }
}

/// The library's warm throughput on every core: a fresh verifier (so no document is known to
/// it), warmed with the first document, then every document once. Also the CPU time it took
/// per verification (this process's, only these threads busy), which the machine's other load
/// does not change as much as the rate.
fn library(
    root: &std::path::Path,
    intermediate: &std::path::Path,
    docs: &[(String, Vec<u8>)],
) -> (f64, f64) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut trust = TrustStore::builtin().without_roots();
    trust
        .add_roots_pem(&std::fs::read(root).unwrap(), "root")
        .unwrap();
    trust
        .add_intermediates_pem(&std::fs::read(intermediate).unwrap(), "int")
        .unwrap();
    let verifier = Verifier::new(trust, Policy::default());
    let now = now();
    verifier
        .verify_bytes(&docs[0].1, NonceCheck::Exact(&docs[0].0), now)
        .unwrap();
    let (started, cpu) = (Instant::now(), cpu_seconds_self());
    std::thread::scope(|s| {
        for chunk in docs.chunks(docs.len().div_ceil(cores)) {
            let verifier = &verifier;
            s.spawn(move || {
                for (nonce, body) in chunk {
                    verifier
                        .verify_bytes(body, NonceCheck::Exact(nonce), now)
                        .unwrap();
                }
            });
        }
    });
    let rate = docs.len() as f64 / started.elapsed().as_secs_f64();
    (rate, (cpu_seconds_self() - cpu) * 1e6 / docs.len() as f64)
}

/// The child: serves `file` as `imds-attest serve` does, prints the address, and exits when
/// the parent closes its standard input.
fn serve(file: &str) {
    imds_attest_service::init_logging(LogFormat::Json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let service = runtime
        .block_on(Service::bind(Config::load(file.as_ref()).unwrap()))
        .unwrap();
    println!("{}", service.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    runtime.spawn(service.run(std::future::pending()));
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// The service in a child process, stopped when dropped.
struct Served {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Served {
    fn start(file: &std::path::Path) -> Served {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(SERVE, file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.trim().parse().unwrap();
        Served { child, addr }
    }

    /// VmHWM of the service process, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bench_store(name: &str, file: &std::path::Path, pki: &Pki, library: f64, library_us: f64) {
    let service = Served::start(file);
    let addr = service.addr;
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let fresh = |n: usize| -> Vec<(String, Vec<u8>)> {
        let nonces: Vec<String> = client_rt.block_on(async {
            let mut conn = Connection::open(addr).await;
            let mut out = Vec::new();
            for _ in 0..n {
                let (status, body) = conn.send(&request("/v1/challenges", b"")).await;
                assert_eq!(status, 201);
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                out.push(v["nonce"].as_str().unwrap().to_owned());
            }
            out
        });
        sign(pki, &nonces)
    };
    // Warm the signer cache.
    let warm = fresh(1);
    client_rt.block_on(async {
        let mut conn = Connection::open(addr).await;
        let (status, _) = conn.send(&request("/v1/verify", &warm[0].1)).await;
        assert_eq!(status, 200);
    });

    let docs = Arc::new(fresh(DOCS));
    let (service_cpu, client_cpu) = (cpu_seconds(service.child.id()), cpu_seconds_self());
    let (elapsed, _) = client_rt.block_on(run(addr, docs, CLIENTS, None));
    let max = DOCS as f64 / elapsed.as_secs_f64();
    let per_request = |before: f64, after: f64| (after - before) * 1e6 / DOCS as f64;
    let service_us = per_request(service_cpu, cpu_seconds(service.child.id()));
    let client_us = per_request(client_cpu, cpu_seconds_self());
    let rss = service.peak_rss_mib();

    let docs = Arc::new(fresh(DOCS));
    let (_, mut latencies) = client_rt.block_on(run(addr, docs, CLIENTS, Some(max / 2.0)));
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let (p50, p99) = (p(0.5), p(0.99));
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "{name:>6}: {max:>6.0} verify/s with {CLIENTS} clients ({:.2} x library, target >= 0.5: {}); \
         at {:.0}/s p50 {:.2} ms p99 {:.2} ms (target < 5 ms: {}); service peak RSS {rss:.0} MiB (target < 100: {})",
        max / library,
        verdict(max >= 0.5 * library),
        max / 2.0,
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        verdict(p99 < Duration::from_millis(5)),
        verdict(rss < 100.0),
    );
    // Where the cores went: the service's own CPU per verify request against the library's
    // per verification, and what the load generator took beside it.
    println!(
        "{name:>6}: CPU per request: service {service_us:.0} us, client {client_us:.0} us; \
         library {library_us:.0} us per verification ({:.2} x the service's own CPU)",
        library_us / service_us,
    );
    if name == "memory" {
        too_large(addr);
    }
}

/// User and system CPU time of process `pid`, all its threads, in seconds (`/proc/PID/stat`
/// fields 14 and 15, in USER_HZ ticks, 100 a second on Linux); NaN where unreadable.
fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

fn cpu_seconds_self() -> f64 {
    stat_cpu(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
}

fn stat_cpu(stat: &str) -> f64 {
    // The command name (field 2) may hold spaces: count from after its closing parenthesis,
    // where field 3 starts.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (tick(11), tick(12)) {
        (Some(utime), Some(stime)) => (utime + stime) / 100.0,
        _ => f64::NAN,
    }
}

/// How long a body declared as 100 MB takes to be refused, only its headers and 1 KiB sent.
fn too_large(addr: SocketAddr) {
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let mut head = format!(
            "POST /v1/verify HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n\r\n",
            100 * 1024 * 1024
        )
        .into_bytes();
        head.resize(head.len() + 1024, b'A');
        stream.write_all(&head).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        assert!(response.starts_with(b"HTTP/1.1 413"));
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "a 100 MB declared body: 413 in {:.2} ms (median of 20), {:.2} ms at most",
        times[10].as_secs_f64() * 1e3,
        times[19].as_secs_f64() * 1e3
    );
}

/// `POST path` with this body, keep-alive.
fn request(path: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// One keep-alive HTTP/1.1 connection: a request written whole, the response read to its
/// Content-Length.
struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> Connection {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Connection {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// The status and the body.
    async fn send(&mut self, request: &[u8]) -> (u16, Vec<u8>) {
        let mut written = 0;
        while written < request.len() {
            self.stream.writable().await.unwrap();
            match self.stream.try_write(&request[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("write: {e}"),
            }
        }
        self.buf.clear();
        let (head, length) = loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .expect("a Content-Length");
                break (end + 4, length);
            }
            self.read_more().await;
        };
        while self.buf.len() < head + length {
            self.read_more().await;
        }
        let status = std::str::from_utf8(&self.buf[9..12])
            .unwrap()
            .parse()
            .unwrap();
        (status, self.buf[head..head + length].to_vec())
    }

    async fn read_more(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            self.stream.readable().await.unwrap();
            match self.stream.try_read(&mut chunk) {
                Ok(0) => panic!("the service closed the connection"),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

/// Posts every document once from `clients` connections, as fast as possible or paced to
/// `rate`/s in total (open loop: latency counts from the scheduled time).
async fn run(
    addr: SocketAddr,
    docs: Arc<Vec<(String, Vec<u8>)>>,
    clients: usize,
    rate: Option<f64>,
) -> (Duration, Vec<Duration>) {
    let mut connections = Vec::new();
    for _ in 0..clients {
        connections.push(Connection::open(addr).await);
    }
    let started = Instant::now();
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(c, mut conn)| {
            let docs = docs.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for (k, i) in (c..docs.len()).step_by(clients).enumerate() {
                    let body = request("/v1/verify", &docs[i].1);
                    let scheduled = match rate {
                        Some(rate) => {
                            let at =
                                started + Duration::from_secs_f64((k * clients + c) as f64 / rate);
                            tokio::time::sleep_until(at.into()).await;
                            at
                        }
                        None => Instant::now(),
                    };
                    let (status, _) = conn.send(&body).await;
                    assert_eq!(status, 200);
                    latencies.push(scheduled.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (started.elapsed(), all)
}

/// Documents for these nonces, signed now on every core.
fn sign(pki: &Pki, nonces: &[String]) -> Vec<(String, Vec<u8>)> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let created = now();
    std::thread::scope(|s| {
        let handles: Vec<_> = nonces
            .chunks(nonces.len().div_ceil(cores).max(1))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|n| {
                            let der = DocSpec::imds(&claims_json(n, created)).sign(&pki.leaf);
                            (n.clone(), imds_response(&der).into_bytes())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - time::Duration::nanoseconds(now.nanosecond().into())
}
