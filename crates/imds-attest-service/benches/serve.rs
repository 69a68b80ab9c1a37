//! Service throughput on loopback: `cargo bench -p imds-attest-service --bench serve`.
//!
//! Documents are signed in-process by an emulator PKI (valid now) for nonces the service
//! issued (untimed); then, per store: verify requests/s with 64 keep-alive clients, p50/p99
//! at half that rate (open loop), and the process's peak RSS. The client, the service and the
//! signed documents share this process, so the RSS is an upper bound for the service. The
//! library's warm all-core throughput (`Verifier::verify_bytes`, `NonceCheck::Exact`) is
//! measured in the same run on the same kind of documents.
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

use std::sync::Arc;
use std::time::{Duration, Instant};

use imds_attest::{NonceCheck, Policy, TrustStore, Verifier};
use imds_attest_service::{Config, Service};
use imds_attest_testpki::{claims_json, imds_response, DocSpec};
use imds_emulator::{Chain, Cloud, Pki};
use time::OffsetDateTime;

const CLIENTS: usize = 64;
const DOCS: usize = 3_000;

fn main() {
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

    // The library, warm, on every core.
    let mut trust = TrustStore::builtin().without_roots();
    trust
        .add_roots_pem(&std::fs::read(&root).unwrap(), "root")
        .unwrap();
    trust
        .add_intermediates_pem(&std::fs::read(&intermediate).unwrap(), "int")
        .unwrap();
    let verifier = Verifier::new(trust, Policy::default());
    let docs = sign(
        &pki,
        &(0..DOCS).map(|i| format!("lib{i}")).collect::<Vec<_>>(),
    );
    let now = now();
    verifier
        .verify_bytes(&docs[0].1, NonceCheck::Exact(&docs[0].0), now)
        .unwrap();
    let started = Instant::now();
    std::thread::scope(|s| {
        for chunk in docs.chunks(DOCS.div_ceil(cores)) {
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
    let library = DOCS as f64 / started.elapsed().as_secs_f64();
    println!("library warm verify_bytes, {cores} threads: {library:.0}/s");

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
        bench_store(name, &file, &pki, library);
    }
}

fn bench_store(name: &str, file: &std::path::Path, pki: &Pki, library: f64) {
    let service_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let service = service_rt
        .block_on(Service::bind(Config::load(file).unwrap()))
        .unwrap();
    let url = format!("http://{}", service.local_addr().unwrap());
    service_rt.spawn(service.run(std::future::pending()));
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();

    let fresh = |n: usize| -> Vec<(String, Vec<u8>)> {
        let nonces: Vec<String> = client_rt.block_on(async {
            let mut out = Vec::new();
            for _ in 0..n {
                let r = client
                    .post(format!("{url}/v1/challenges"))
                    .send()
                    .await
                    .unwrap();
                let v: serde_json::Value =
                    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
                out.push(v["nonce"].as_str().unwrap().to_owned());
            }
            out
        });
        sign(pki, &nonces)
    };
    // Warm the signer cache.
    let warm = fresh(1);
    client_rt.block_on(async {
        let r = client
            .post(format!("{url}/v1/verify"))
            .body(warm[0].1.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    });

    let docs = Arc::new(fresh(DOCS));
    let (elapsed, _) = client_rt.block_on(run(&client, &url, docs, CLIENTS, None));
    let max = DOCS as f64 / elapsed.as_secs_f64();
    let rss = peak_rss_mib();

    let docs = Arc::new(fresh(DOCS));
    let (_, mut latencies) = client_rt.block_on(run(&client, &url, docs, CLIENTS, Some(max / 2.0)));
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let (p50, p99) = (p(0.5), p(0.99));
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "{name:>6}: {max:>6.0} verify/s with {CLIENTS} clients ({:.2} x library, target >= 0.5: {}); \
         at {:.0}/s p50 {:.2} ms p99 {:.2} ms (target < 5 ms: {}); peak RSS {rss:.0} MiB (target < 100: {})",
        max / library,
        verdict(max >= 0.5 * library),
        max / 2.0,
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        verdict(p99 < Duration::from_millis(5)),
        verdict(rss < 100.0),
    );
    drop(client_rt);
    service_rt.shutdown_background();
}

/// Posts every document once from `clients` tasks, as fast as possible or paced to `rate`/s
/// in total (open loop: latency counts from the scheduled time).
async fn run(
    client: &reqwest::Client,
    url: &str,
    docs: Arc<Vec<(String, Vec<u8>)>>,
    clients: usize,
    rate: Option<f64>,
) -> (Duration, Vec<Duration>) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (client, url, docs) = (client.clone(), format!("{url}/v1/verify"), docs.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for (k, i) in (c..docs.len()).step_by(clients).enumerate() {
                    let scheduled = match rate {
                        Some(rate) => {
                            let at =
                                started + Duration::from_secs_f64((k * clients + c) as f64 / rate);
                            tokio::time::sleep_until(at.into()).await;
                            at
                        }
                        None => Instant::now(),
                    };
                    let r = client
                        .post(&url)
                        .body(docs[i].1.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    let _ = r.bytes().await.unwrap();
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

/// VmHWM of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
