//! Licence-server throughput, in two parts:
//!
//! 1. the stores alone: challenges issued and redeemed per second per backend (issue N
//!    nonces, then redeem them from 8 threads), median of the rounds;
//! 2. what a licence server does per document: `Verifier::verify_bytes` with claim rules and
//!    `NonceCheck::Redeem` (each document carries its own nonce, issued by that backend's
//!    challenges before the clock starts), with each backend, beside plain warm verification
//!    (`NonceCheck::Exact`, no rules) of the same documents in the same rounds; 8 verifier
//!    threads share one verifier; medians of interleaved rounds, with the targets (memory at
//!    least 0.9 of plain warm, SQLite 5,000/s, Redis on loopback 10,000/s) met or MISSED.
//!
//! `cargo bench -p imds-attest-store --bench licence`. Redis: a redis-server started like the
//! tests' (skipped outside CI when it is not installed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![allow(clippy::print_stdout)]

use std::time::Instant;

use imds_attest::{NonceCheck, Policy, Rules, TrustStore, Verifier};
use imds_attest_store::{open, Challenges, Redemption};
use imds_attest_testpki::parallel;
use imds_attest_testpki::redis::RedisServer;
use imds_attest_testpki::temp;
use imds_attest_testpki::{claims_json, TestPki, REFERENCE_TIME};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);
const NONCES: usize = 20_000;
const THREADS: usize = 8;
const ROUNDS: usize = 5;
const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

/// Part 2: documents a round (each signed once, with its own nonce) and rounds.
const DOCS: usize = 4_000;
const DOC_ROUNDS: usize = 7;

/// A small allow rule that the test documents match (and a deny rule they do not).
const RULES: &str = r#"
[[deny]]
name = "revoked"
subscription_id = "0a1b2c3d-0000-4000-8000-000000000000"

[[allow]]
name = "test-subscription"
subscription_id = "8d10da13-8125-4ba9-a717-bf7490507b3d"
plan_name = ""
region = "eastus"
"#;

fn main() {
    let redis = RedisServer::start(&[]);
    stores_alone(redis.as_ref());
    licence_checks(redis.as_ref());
}

fn stores_alone(redis: Option<&RedisServer>) {
    println!(
        "redemptions/s, {THREADS} threads, {NONCES} nonces a round, median of {ROUNDS} rounds"
    );
    bench("memory", &Challenges::new(open("memory:").unwrap()));
    let dir = temp::dir();
    let db = dir.path().join("bench.db");
    bench(
        "sqlite",
        &Challenges::new(open(&format!("sqlite:{}", db.display())).unwrap()),
    );
    bench(
        "sqlite?sync=full",
        &Challenges::new(open(&format!("sqlite:{}-full?sync=full", db.display())).unwrap()),
    );
    match redis {
        Some(server) => bench("redis", &Challenges::new(open(&server.url()).unwrap())),
        None => println!("redis: skipped"),
    }
}

fn bench(name: &str, challenges: &Challenges) {
    let mut issue_rates = Vec::new();
    let mut redeem_rates = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let nonces: Vec<String> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(move || {
                        (0..NONCES / THREADS)
                            .map(|_| challenges.issue(HOUR, T0).unwrap().nonce)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect()
        });
        issue_rates.push(nonces.len() as f64 / started.elapsed().as_secs_f64());
        let started = Instant::now();
        std::thread::scope(|s| {
            for chunk in nonces.chunks(NONCES / THREADS) {
                s.spawn(move || {
                    for n in chunk {
                        assert_eq!(challenges.redeem(n, T0).unwrap(), Redemption::Redeemed);
                    }
                });
            }
        });
        redeem_rates.push(nonces.len() as f64 / started.elapsed().as_secs_f64());
    }
    println!(
        "{name:>17}: redeem {:>9.0}/s   issue {:>9.0}/s",
        median(&mut redeem_rates),
        median(&mut issue_rates)
    );
}

/// One document of the pool: its nonce and its bytes (the IMDS JSON response).
struct Doc {
    nonce: String,
    body: Vec<u8>,
}

/// How a document is checked in a timed run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Plain warm verification: `NonceCheck::Exact`, no rules.
    Plain,
    /// Rules and `NonceCheck::Redeem` with the store of this index in `backends`.
    Redeem(usize),
}

fn licence_checks(redis: Option<&RedisServer>) {
    println!(
        "\nverify + rules + redeem, docs/s, {THREADS} verifier threads, {DOCS} documents a \
         round, median of {DOC_ROUNDS} interleaved rounds"
    );
    let pki = TestPki::azure();
    let at = REFERENCE_TIME;
    let started = Instant::now();
    let dir = temp::dir();
    // Each backend's challenges are made once: its documents carry nonces issued by them (a
    // nonce is valid only under its store's key). SQLite and Redis keep the key in the file
    // and the server; memory: in this one store.
    let mut backends = vec![
        ("memory", "memory:".to_owned()),
        (
            "sqlite",
            format!("sqlite:{}", dir.path().join("licence.db").display()),
        ),
    ];
    match redis {
        Some(server) => backends.push(("redis", server.url())),
        None => println!("redis: skipped"),
    }
    let challenges: Vec<Challenges> = backends
        .iter()
        .map(|(_, url)| Challenges::new(open(url).unwrap()))
        .collect();
    let pool = sign_pool(&pki, DOCS * DOC_ROUNDS, None, at);
    let pools: Vec<Vec<Doc>> = challenges
        .iter()
        .map(|c| sign_pool(&pki, DOCS * DOC_ROUNDS, Some(c), at))
        .collect();
    println!(
        "(signed {} documents in {:.1} s, not timed)",
        pool.len() + pools.iter().map(Vec::len).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    let mut trust = TrustStore::builtin().without_roots();
    trust
        .add_roots_pem(pki.root_pem().as_bytes(), "test root")
        .unwrap();
    trust
        .add_intermediates_pem(pki.intermediates_pem().as_bytes(), "test intermediate")
        .unwrap();
    let plain = Verifier::new(trust.clone(), Policy::default());
    let rules = Rules::parse(RULES, "bench rules").unwrap();
    let licensed = Verifier::new(trust, Policy::default().with_rules(rules));
    // Warm both on the signer (a document outside the timed pool).
    let warm = sign_pool(&pki, 1, None, at);
    for v in [&plain, &licensed] {
        v.verify_bytes(&warm[0].body, NonceCheck::Exact(&warm[0].nonce), at)
            .unwrap();
    }

    let checks: Vec<Check> = std::iter::once(Check::Plain)
        .chain((0..backends.len()).map(Check::Redeem))
        .collect();
    let mut rates = vec![Vec::new(); checks.len()];
    for round in 0..DOC_ROUNDS {
        let this_round = |pool: &[Doc]| -> std::ops::Range<usize> {
            let start = round * DOCS;
            start..(start + DOCS).min(pool.len())
        };
        // Interleaved, each round starting with the next check, so that a drift of the
        // machine's speed spreads over all of them.
        for k in 0..checks.len() {
            let i = (round + k) % checks.len();
            let rate = match checks[i] {
                Check::Plain => timed(&pool[this_round(&pool)], |d| {
                    plain.verify_bytes(&d.body, NonceCheck::Exact(&d.nonce), at)
                }),
                Check::Redeem(b) => {
                    let challenges = &challenges[b];
                    timed(&pools[b][this_round(&pools[b])], |d| {
                        let verified =
                            licensed.verify_bytes(&d.body, NonceCheck::Redeem(challenges), at);
                        assert!(
                            verified.as_ref().is_ok_and(|v| v.redeemed()),
                            "{verified:?}"
                        );
                        verified
                    })
                }
            };
            rates[i].push(rate);
        }
    }
    let medians: Vec<f64> = rates.iter_mut().map(|r| median(r)).collect();
    let plain_rate = medians[0];
    println!(
        "{:>34}: {plain_rate:>9.0}/s",
        "plain warm verify (Exact, no rules)"
    );
    for (b, (name, _)) in backends.iter().enumerate() {
        let rate = medians[b + 1];
        let (target, met) = match *name {
            "memory" => (
                format!("{:.2} x plain warm, target >= 0.9", rate / plain_rate),
                rate >= 0.9 * plain_rate,
            ),
            "sqlite" => ("target >= 5,000/s".to_owned(), rate >= 5_000.0),
            _ => (
                format!("target >= 10,000/s with {THREADS} verifiers"),
                rate >= 10_000.0,
            ),
        };
        let verdict = if met { "met" } else { "MISSED" };
        println!(
            "{:>34}: {rate:>9.0}/s   {target}: {verdict}",
            format!("verify + rules + redeem, {name}")
        );
    }
}

/// `n` documents from the PKI's one signer, each with its own nonce (issued by `challenges`,
/// valid for two hours from a minute before `at`, or made up), signed on every core.
fn sign_pool(
    pki: &TestPki,
    n: usize,
    challenges: Option<&Challenges>,
    at: OffsetDateTime,
) -> Vec<Doc> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let base = NEXT.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    let nonces: Vec<String> = (base..base + n)
        .map(|i| match challenges {
            Some(c) => c.issue(2 * HOUR, at - Duration::MINUTE).unwrap().nonce,
            None => format!("licence{i}"),
        })
        .collect();
    parallel::map(&nonces, |nonce| {
        let der = pki.sign(&claims_json(nonce, REFERENCE_TIME));
        let body = imds_attest_testpki::imds_response(&der).into_bytes();
        Doc {
            nonce: nonce.clone(),
            body,
        }
    })
}

/// Documents per second for `check` over `docs`, split among the verifier threads.
fn timed<T, E: std::fmt::Debug>(docs: &[Doc], check: impl Fn(&Doc) -> Result<T, E> + Sync) -> f64 {
    let check = &check;
    let started = Instant::now();
    std::thread::scope(|s| {
        for chunk in docs.chunks(docs.len().div_ceil(THREADS)) {
            s.spawn(move || {
                for d in chunk {
                    std::hint::black_box(check(d).unwrap());
                }
            });
        }
    });
    docs.len() as f64 / started.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
