//! Licence-server throughput of the stores: redemptions per second per backend (issue N
//! nonces, then redeem them from 8 threads), median of the rounds.
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

#[path = "../tests/common/redis_server.rs"]
mod redis_server;

use std::time::Instant;

use imds_attest_store::{open, Redemption, Store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);
const NONCES: usize = 20_000;
const THREADS: usize = 8;
const ROUNDS: usize = 5;

fn main() {
    println!(
        "redemptions/s, {THREADS} threads, {NONCES} nonces a round, median of {ROUNDS} rounds"
    );
    bench("memory", &*open("memory:").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    bench(
        "sqlite",
        &*open(&format!("sqlite:{}", db.display())).unwrap(),
    );
    bench(
        "sqlite?sync=full",
        &*open(&format!("sqlite:{}-full?sync=full", db.display())).unwrap(),
    );
    match redis_server::RedisServer::start(&[]) {
        Some(server) => bench("redis", &*open(&server.url()).unwrap()),
        None => println!("redis: skipped"),
    }
}

fn bench(name: &str, store: &dyn Store) {
    let mut issue_rates = Vec::new();
    let mut redeem_rates = Vec::new();
    for round in 0..ROUNDS {
        let nonces: Vec<String> = (0..NONCES).map(|i| format!("r{round}n{i}")).collect();
        let started = Instant::now();
        std::thread::scope(|s| {
            for chunk in nonces.chunks(NONCES / THREADS) {
                s.spawn(move || {
                    for n in chunk {
                        store.issue(n, T0 + Duration::HOUR, T0).unwrap();
                    }
                });
            }
        });
        issue_rates.push(NONCES as f64 / started.elapsed().as_secs_f64());
        let started = Instant::now();
        std::thread::scope(|s| {
            for chunk in nonces.chunks(NONCES / THREADS) {
                s.spawn(move || {
                    for n in chunk {
                        assert_eq!(store.redeem(n, T0).unwrap(), Redemption::Redeemed);
                    }
                });
            }
        });
        redeem_rates.push(NONCES as f64 / started.elapsed().as_secs_f64());
    }
    println!(
        "{name:>17}: redeem {:>9.0}/s   issue {:>9.0}/s",
        median(&mut redeem_rates),
        median(&mut issue_rates)
    );
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
