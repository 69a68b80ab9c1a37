//! Service throughput on loopback: `cargo bench -p imds-attest-service --bench serve`
//! (`IMDS_ATTEST_BENCH_STORES=memory` for one store only).
//!
//! The service runs in a child process (this program again, as `imds-attest serve` runs it,
//! with the same allocator, logging one JSON line a request to /dev/null), so its peak RSS
//! and CPU time are its own. This process signs documents with an emulator PKI (valid now)
//! for nonces the service issued (untimed), then, per store:
//! - three rounds of the library's warm all-core throughput (`Verifier::verify_bytes`,
//!   `NonceCheck::Exact`, same kind of documents) right before the service's verify
//!   requests/s with 64 keep-alive HTTP/1.1 connections; the median round's ratio is the
//!   figure (this VM's speed drifts between measurements);
//! - p50/p99 at half that rate, open loop (latency counts from when a request was due), with
//!   how busy the machine was and how much CPU the hypervisor took meanwhile;
//! - the service's peak RSS, and the CPU time per request of the service and of the client;
//! - challenges/s (issuing writes nothing to any store, so every store should be within 0.9
//!   of the memory store's rate);
//! - with the memory store, a ceiling: a bare hyper server that only verifies, against the
//!   library's rate right before it, which is the most any service on hyper could reach here
//!   with the same client.
//!
//! The summary's figures: each store's challenges/s as a ratio of memory's (target >= 0.9)
//! and each store's verify rate as a ratio of the ceiling (target >= 0.85), both measured
//! against the library's rate right before, so that the machine's drift between the two
//! measurements cancels out.
//!
//! The client is a minimal HTTP/1.1 client on one thread (pre-written requests, responses
//! read to their Content-Length, each status checked), sharing the machine's two cores with
//! the service as any load tool on the same host would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stdout,
    missing_docs
)]

use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imds_attest::{NonceCheck, Policy, TrustStore, Verifier};
use imds_attest_service::{Config, LogFormat, Service};
use imds_attest_testpki::parallel;
use imds_attest_testpki::redis::RedisServer;
use imds_attest_testpki::temp;
use imds_attest_testpki::{claims_json, imds_response, DocSpec};
use imds_emulator::{Chain, Cloud, Pki};
use time::OffsetDateTime;
use tokio::net::TcpStream;

/// The allocator the `imds-attest` binary uses, so that the child serves as `imds-attest serve`
/// does; the library's figure is measured with it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CLIENTS: usize = 64;
const DOCS: usize = 6_000;
/// Requests of the latency run: at half of ~20,000/s, three seconds or so, so that one
/// hiccup of the machine is not the whole of the slowest percent.
const PACED_DOCS: usize = 30_000;
/// Throughput rounds per store; the median one is reported.
const ROUNDS: usize = 3;

/// Set in the child: the config file of the service to run.
const SERVE: &str = "IMDS_ATTEST_BENCH_SERVE";
/// Set in the child instead: the root and the intermediate (two PEM files, a newline
/// between) of the bare server to run (see [`bare`]).
const BARE: &str = "IMDS_ATTEST_BENCH_BARE";

fn main() {
    if let Ok(file) = std::env::var(SERVE) {
        return serve(&file);
    }
    if let Ok(files) = std::env::var(BARE) {
        return bare(&files);
    }
    let dir = temp::dir();
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
    let redis = RedisServer::start(&[]);
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
    // IMDS_ATTEST_BENCH_STORES=memory,redis: only these.
    let only = std::env::var("IMDS_ATTEST_BENCH_STORES").ok();
    let mut figures: Vec<(&str, Figures)> = Vec::new();
    for (name, url) in stores {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|s| s == name))
        {
            continue;
        }
        let file = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &file,
            format!(
                "listen = \"127.0.0.1:0\"\n[store]\nurl = \"{url}\"\n[limits]\nmax_concurrent_requests = 1024\n[trust]\nroots = [{root:?}]\nintermediates = [{intermediate:?}]\n"
            ),
        )
        .unwrap();
        let library = || library(&root, &intermediate, &docs);
        figures.push((name, bench_store(name, &file, &pki, cores, library)));
    }
    summary(&figures);
}

/// What the summary compares across stores.
struct Figures {
    /// Issued challenges per second.
    challenges: f64,
    /// The median round's verify rate over the library's.
    verify_vs_library: f64,
    /// The bare server's rate over the library's (measured with the memory store only).
    ceiling_vs_library: Option<f64>,
}

/// Challenges/s against the memory store's, and verify/s against the ceiling's.
fn summary(figures: &[(&str, Figures)]) {
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let memory = figures
        .iter()
        .find(|(name, _)| *name == "memory")
        .map(|(_, f)| f);
    let ceiling = figures.iter().find_map(|(_, f)| f.ceiling_vs_library);
    for (name, f) in figures {
        if let Some(memory) = memory {
            let ratio = f.challenges / memory.challenges;
            println!(
                "summary {name:>6}: {:.0} challenges/s = {ratio:.2} x memory's (target >= 0.9: {})",
                f.challenges,
                verdict(ratio >= 0.9),
            );
        }
        if let Some(ceiling) = ceiling {
            let ratio = f.verify_vs_library / ceiling;
            println!(
                "summary {name:>6}: verify = {ratio:.2} x the ceiling (target >= 0.85: {})",
                verdict(ratio >= 0.85),
            );
        }
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
    let verifier = emulator_verifier(root, intermediate);
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

/// A verifier that trusts only the emulator PKI's root, with its intermediate.
fn emulator_verifier(root: &std::path::Path, intermediate: &std::path::Path) -> Verifier {
    let mut trust = TrustStore::builtin().without_roots();
    trust
        .add_roots_pem(&std::fs::read(root).unwrap(), "root")
        .unwrap();
    trust
        .add_intermediates_pem(&std::fs::read(intermediate).unwrap(), "int")
        .unwrap();
    Verifier::new(trust, Policy::default())
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
        Served::start_with(SERVE, &file.display().to_string())
    }

    /// This program again, with `variable` set to `value`.
    fn start_with(variable: &str, value: &str) -> Served {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(variable, value)
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

/// One round of the throughput figure: the library's rate right before the service's, so
/// that both figures of a ratio share the machine's speed of that moment (this VM's drifts
/// by a third within minutes, and its hypervisor takes CPU time for others in bursts).
struct Round {
    library: f64,
    library_us: f64,
    max: f64,
    service_us: f64,
    client_us: f64,
}

impl Round {
    fn ratio(&self) -> f64 {
        self.max / self.library
    }
}

fn bench_store(
    name: &str,
    file: &std::path::Path,
    pki: &Pki,
    cores: usize,
    library: impl Fn() -> (f64, f64),
) -> Figures {
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
                let v: serde_json::Value = serde_json::from_slice(body).unwrap();
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

    let mut rounds: Vec<Round> = (0..ROUNDS)
        .map(|_| {
            let docs = fresh(DOCS);
            let (library, library_us) = library();
            let (service_cpu, client_cpu) = (cpu_seconds(service.child.id()), cpu_seconds_self());
            let elapsed = client_rt.block_on(run(addr, &docs, CLIENTS));
            Round {
                library,
                library_us,
                max: DOCS as f64 / elapsed.as_secs_f64(),
                service_us: per_request(service_cpu, cpu_seconds(service.child.id())),
                client_us: per_request(client_cpu, cpu_seconds_self()),
            }
        })
        .collect();
    rounds.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    let ratios: Vec<String> = rounds.iter().map(|r| format!("{:.2}", r.ratio())).collect();
    let median = &rounds[rounds.len() / 2];
    let rss = service.peak_rss_mib();

    let docs = fresh(PACED_DOCS);
    let (total_before, busy_before, steal_before) = machine_ticks();
    let service_before = cpu_seconds(service.child.id());
    let rate = median.max / 2.0;
    let mut latencies = client_rt.block_on(paced(addr, &docs, CLIENTS, rate));
    let service_cpu = cpu_seconds(service.child.id()) - service_before;
    let (total_after, busy_after, steal_after) = machine_ticks();
    let share = |before: u64, after: u64| {
        (after - before) as f64 * 100.0 / (total_after - total_before).max(1) as f64
    };
    let (busy, steal) = (
        share(busy_before, busy_after),
        share(steal_before, steal_after),
    );
    let paced_service_us = service_cpu * 1e6 / docs.len() as f64;
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let (p50, p99) = (p(0.5), p(0.99));
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "{name:>6}: {:.0} verify/s with {CLIENTS} clients, library {:.0}/s on {cores} threads: \
         {:.2} x library (median; rounds {})",
        median.max,
        median.library,
        median.ratio(),
        ratios.join(" "),
    );
    println!(
        "{name:>6}: at {rate:.0}/s p50 {:.2} ms p99 {:.2} ms (target < 5 ms: {}; meanwhile the \
         machine was {busy:.0}% busy, the service took {paced_service_us:.0} us of CPU per \
         request, the hypervisor {steal:.1}% of the CPU); service peak RSS {rss:.0} MiB \
         (target < 100: {})",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        verdict(p99 < Duration::from_millis(5)),
        verdict(rss < 100.0),
    );
    // Where the cores went: the service's own CPU per verify request against the library's
    // per verification, and what the load generator took beside it.
    println!(
        "{name:>6}: CPU per request: service {:.0} us, client {:.0} us; library {:.0} us per \
         verification ({:.2} x the service's own CPU)",
        median.service_us,
        median.client_us,
        median.library_us,
        median.library_us / median.service_us,
    );
    let challenges = Arc::new(vec![request("/v1/challenges", b""); DOCS]);
    let (cpu, started) = (cpu_seconds(service.child.id()), cpu_seconds_self());
    let elapsed = client_rt.block_on(run_requests(addr, challenges, 201, CLIENTS));
    let challenges = DOCS as f64 / elapsed.as_secs_f64();
    println!(
        "{name:>6}: {challenges:.0} challenges/s (nothing written to the store), CPU per \
         request: service {:.0} us, client {:.0} us",
        per_request(cpu, cpu_seconds(service.child.id())),
        per_request(started, cpu_seconds_self()),
    );
    let mut figures = Figures {
        challenges,
        verify_vs_library: median.ratio(),
        ceiling_vs_library: None,
    };
    if name == "memory" {
        too_large(addr);
        let docs = fresh(DOCS);
        let bare = Served::start_with(
            BARE,
            &format!(
                "{}\n{}",
                pki_file(pki, "root"),
                pki_file(pki, "intermediate")
            ),
        );
        let (library, _) = library();
        let (cpu, started) = (cpu_seconds(bare.child.id()), cpu_seconds_self());
        let elapsed = client_rt.block_on(run(bare.addr, &docs, CLIENTS));
        let rate = DOCS as f64 / elapsed.as_secs_f64();
        println!(
            "{name:>6}: ceiling: a bare hyper server that only verifies (no store, limits or log \
             line; any nonce) {rate:.0} verify/s = {:.2} x library ({library:.0}/s), CPU per \
             request: server {:.0} us, client {:.0} us",
            rate / library,
            per_request(cpu, cpu_seconds(bare.child.id())),
            per_request(started, cpu_seconds_self()),
        );
        figures.ceiling_vs_library = Some(rate / library);
    }
    figures
}

fn pki_file(pki: &Pki, name: &str) -> String {
    pki.dir.join(format!("{name}.pem")).display().to_string()
}

/// The child, as a yardstick: hyper's HTTP/1.1 server with the verification and the success
/// body inline and nothing else, the most any service on hyper could answer on this machine
/// with the same client. `files`: the root's and the intermediate's PEM files.
fn bare(files: &str) {
    use http_body_util::BodyExt;
    let (root, intermediate) = files.split_once('\n').unwrap();
    let verifier = Arc::new(emulator_verifier(root.as_ref(), intermediate.as_ref()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        loop {
            let (io, _) = listener.accept().await.unwrap();
            io.set_nodelay(true).unwrap();
            let verifier = verifier.clone();
            let answer = move |request: hyper::Request<hyper::body::Incoming>| {
                let verifier = verifier.clone();
                async move {
                    let body = request.into_body().collect().await?.to_bytes();
                    let verified = verifier
                        .verify_bytes(&body, NonceCheck::DangerousAnyNonce, now())
                        .unwrap();
                    let json = verified.to_json_string().unwrap();
                    Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(
                        hyper::body::Bytes::from(json),
                    )))
                }
            };
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
                hyper_util::rt::TokioIo::new(io),
                hyper::service::service_fn(answer),
            ));
        }
    });
}

/// Microseconds of CPU per request, from CPU seconds before and after [`DOCS`] requests.
fn per_request(before: f64, after: f64) -> f64 {
    (after - before) * 1e6 / DOCS as f64
}

/// `POST /v1/verify` of each document, written out before any clock starts.
fn verify_requests(docs: &[(String, Vec<u8>)]) -> Vec<Vec<u8>> {
    docs.iter()
        .map(|(_, body)| request("/v1/verify", body))
        .collect()
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

/// Where a response's head ends and how long its body is, once `buf` holds the whole head.
fn parse_head(buf: &[u8]) -> Option<(usize, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let name = b"content-length:";
    let length: usize = buf[..end]
        .split(|&b| b == b'\n')
        .find_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (line.len() > name.len() && line[..name.len()].eq_ignore_ascii_case(name))
                .then(|| std::str::from_utf8(&line[name.len()..]).unwrap().trim())
        })
        .map(|v| v.parse().unwrap())
        .expect("a Content-Length");
    Some((end + 4, length))
}

fn status(buf: &[u8]) -> u16 {
    std::str::from_utf8(&buf[9..12]).unwrap().parse().unwrap()
}

/// Open loop at `rate`/s in total over `clients` keep-alive connections: request `i` is due
/// at `i / rate` and goes on connection `i % clients` (after that connection's previous
/// answer), and its latency counts from when it was due, so an answer that comes late delays
/// the next ones and they count the delay too. The first half second is sent but not
/// counted: the service settles into the rate.
///
/// One thread, as for the throughput: a thread per connection (64 of them, each woken by its
/// timer and by its answer) cost this 2-core VM so much that "half load" kept both cores 80%
/// busy. The due times come from a timerfd, the kernel's high-resolution timer: tokio's own
/// timer wheel ticks in milliseconds, and made requests up to 2 ms late, which counted as
/// the service's latency.
async fn paced(
    addr: SocketAddr,
    docs: &[(String, Vec<u8>)],
    clients: usize,
    rate: f64,
) -> Vec<Duration> {
    let requests = Arc::new(verify_requests(docs));
    let warmup = (rate / 2.0) as usize;
    let mut queues = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let mut conn = Connection::open(addr).await;
        let (status, _) = conn
            .send(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
            .await;
        assert_eq!(status, 200);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
        queues.push(tx);
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while let Some((i, due)) = rx.recv().await {
                let (status, _) = conn.send(&requests[i]).await;
                assert_eq!(status, 200);
                if i >= warmup {
                    latencies.push(due.elapsed());
                }
            }
            latencies
        }));
    }
    let timer = Timer::new();
    let started = Instant::now();
    let due = |i: usize| started + Duration::from_secs_f64(i as f64 / rate);
    let mut i = 0;
    while i < requests.len() {
        timer.sleep_until(due(i)).await;
        // Everything due by now, in one go.
        let now = Instant::now();
        while i < requests.len() && due(i) <= now {
            queues[i % clients].send((i, due(i))).unwrap();
            i += 1;
        }
    }
    drop(queues);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

/// A timer of microsecond resolution for the tokio runtime: a non-blocking timerfd.
struct Timer(tokio::io::unix::AsyncFd<rustix::fd::OwnedFd>);

impl Timer {
    fn new() -> Timer {
        use rustix::time::{timerfd_create, TimerfdClockId, TimerfdFlags};
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )
        .unwrap();
        // `AsyncFd::new` is deprecated for fds the AsyncFd does not own (one closed elsewhere
        // while registered); this one owns its OwnedFd, and `register` would need `unsafe`.
        #[allow(deprecated)]
        let fd = tokio::io::unix::AsyncFd::new(fd).unwrap();
        Timer(fd)
    }

    async fn sleep_until(&self, due: Instant) {
        use rustix::time::{timerfd_settime, Itimerspec, TimerfdTimerFlags, Timespec};
        loop {
            let Some(wait) = due
                .checked_duration_since(Instant::now())
                .filter(|w| !w.is_zero())
            else {
                return;
            };
            let value = Timespec {
                tv_sec: wait.as_secs() as i64,
                tv_nsec: i64::from(wait.subsec_nanos()),
            };
            let zero = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let spec = Itimerspec {
                it_interval: zero,
                it_value: value,
            };
            timerfd_settime(self.0.get_ref(), TimerfdTimerFlags::empty(), &spec).unwrap();
            let mut ready = self.0.readable().await.unwrap();
            let mut expirations = [0u8; 8];
            match rustix::io::read(self.0.get_ref(), &mut expirations) {
                Ok(_) => {}
                Err(rustix::io::Errno::AGAIN) => ready.clear_ready(),
                Err(e) => panic!("timerfd: {e}"),
            }
        }
    }
}

/// The machine's CPU time so far, all CPUs; how much of it was busy (neither idle nor waiting
/// for I/O); and how much the hypervisor took for others (steal); in USER_HZ ticks
/// (`/proc/stat`, first line).
fn machine_ticks() -> (u64, u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    let field = |i: usize| fields.get(i).copied().unwrap_or(0);
    (total, total - field(3) - field(4), field(7))
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
    async fn send(&mut self, request: &[u8]) -> (u16, &[u8]) {
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
            if let Some(parsed) = parse_head(&self.buf) {
                break parsed;
            }
            self.read_more().await;
        };
        while self.buf.len() < head + length {
            self.read_more().await;
        }
        // The whole answer is in, and the service sends nothing more before the next request:
        // forget the socket's readiness, so that the next read waits for the kernel's word
        // instead of first trying and failing (a system call a request, which the client's
        // share of the two cores would count).
        let _ = self.stream.try_io(tokio::io::Interest::READABLE, || {
            Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
        });
        (status(&self.buf), &self.buf[head..head + length])
    }

    async fn read_more(&mut self) {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        loop {
            self.stream.readable().await.unwrap();
            match self.stream.try_read_buf(&mut self.buf) {
                Ok(0) => panic!("the service closed the connection"),
                Ok(_) => return,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

/// Posts every document once from `clients` connections, as fast as the service answers;
/// how long that took.
async fn run(addr: SocketAddr, docs: &[(String, Vec<u8>)], clients: usize) -> Duration {
    run_requests(addr, Arc::new(verify_requests(docs)), 200, clients).await
}

/// Sends every request once (each must be answered `expect`) from `clients` keep-alive
/// connections, each request as soon as its connection's last answer is read (closed loop);
/// how long that took.
async fn run_requests(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    expect: u16,
    clients: usize,
) -> Duration {
    let mut connections = Vec::new();
    for _ in 0..clients {
        connections.push(Connection::open(addr).await);
    }
    let started = Instant::now();
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(c, mut conn)| {
            let requests = requests.clone();
            tokio::spawn(async move {
                for i in (c..requests.len()).step_by(clients) {
                    let (status, _) = conn.send(&requests[i]).await;
                    assert_eq!(status, expect);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    started.elapsed()
}

/// Documents for these nonces, signed now on every core.
fn sign(pki: &Pki, nonces: &[String]) -> Vec<(String, Vec<u8>)> {
    let created = now();
    parallel::map(nonces, |n| {
        let der = DocSpec::imds(&claims_json(n, created)).sign(&pki.leaf);
        (n.clone(), imds_response(&der).into_bytes())
    })
}

fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - time::Duration::nanoseconds(now.nanosecond().into())
}
