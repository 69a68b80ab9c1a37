//! What an unauthenticated caller can make the service store: nothing. Floods of challenges and
//! readiness probes over loopback leave a SQLite store's files and a Redis store's keys as they
//! were, a forged nonce never reaches the store, and a genuine client is served throughout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{client, get, post, sign, signing_pki, start, Running};
use imds_attest_testpki::redis::RedisServer;
use imds_attest_testpki::temp;

const CHALLENGES: usize = 20_000;
const PROBES: usize = 10_000;
const CLIENTS: usize = 16;
/// The floods' bound: a debug build on two shared cores does each in a few seconds.
const FLOOD_DEADLINE: Duration = Duration::from_secs(120);

/// What a store holds, as seen from outside the service.
enum Observed {
    /// The database file (its size and bytes, the checkpoint thread settled) and its rows.
    Sqlite(PathBuf),
    /// The number of keys.
    Redis(String),
}

impl Observed {
    /// How many entries: rows of remembered digests, or keys (the challenge key included).
    fn entries(&self) -> i64 {
        match self {
            Observed::Sqlite(db) => rusqlite::Connection::open(db)
                .unwrap()
                .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
                .unwrap(),
            Observed::Redis(url) => {
                let mut conn = redis::Client::open(url.as_str())
                    .unwrap()
                    .get_connection()
                    .unwrap();
                redis::cmd("DBSIZE").query(&mut conn).unwrap()
            }
        }
    }

    /// The database file's bytes once the checkpoint thread (every 100 ms) has settled it.
    fn file(&self) -> Option<Vec<u8>> {
        match self {
            Observed::Sqlite(db) => {
                std::thread::sleep(Duration::from_millis(500));
                Some(std::fs::read(db).unwrap())
            }
            Observed::Redis(_) => None,
        }
    }
}

/// `n` requests from [`CLIENTS`] keep-alive clients, every answer `expected`.
fn flood(service: &Running, method: &'static str, path: &str, n: usize, expected: u16) {
    let url = format!("{}{path}", service.url);
    let started = Instant::now();
    service.runtime.block_on(async {
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move {
                    let client = client();
                    for _ in 0..n / CLIENTS {
                        let answer = match method {
                            "POST" => post(&client, &url, "", None).await,
                            _ => get(&client, &url).await,
                        };
                        assert_eq!(answer.status, expected, "{answer:?}");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert!(
        started.elapsed() < FLOOD_DEADLINE,
        "{n} x {method} {path} took {:?}",
        started.elapsed()
    );
}

/// Runs the floods against the store `store_toml` names, observed by `observed`.
fn floods_leave_the_store_as_it_was(store_toml: &str, observed: &Observed) {
    let dir = temp::dir();
    let extra = format!("{store_toml}\n[limits]\nmax_concurrent_requests = 256");
    let (pki, config) = signing_pki(dir.path(), &extra);
    let service = Arc::new(start(&config));
    // A genuine client's challenge, before the flood (it also makes the store's key).
    let genuine = sign(&pki, &[service.challenge(None)]);
    let (entries, file) = (observed.entries(), observed.file());
    let bytes = |file: &Option<Vec<u8>>| file.as_ref().map(Vec::len);
    eprintln!("before: {entries} entries, file {:?} bytes", bytes(&file));

    // (a) 20,000 challenges, with a genuine client served in the middle of them: its
    // redemption is the one entry they leave.
    std::thread::scope(|s| {
        let flooding = s.spawn(|| flood(&service, "POST", "/v1/challenges", CHALLENGES, 201));
        let during = sign(&pki, &[service.challenge(None)]);
        let answer = service.verify(during[0].clone(), None);
        assert_eq!(
            answer.status, 200,
            "a genuine client during the flood: {answer:?}"
        );
        flooding.join().unwrap();
    });
    let after = observed.file();
    eprintln!(
        "after {CHALLENGES} challenges: {} entries, file {:?} bytes",
        observed.entries(),
        bytes(&after)
    );
    assert_eq!(
        observed.entries(),
        entries + 1,
        "the challenges were stored"
    );
    assert_eq!(bytes(&after), bytes(&file), "the store file grew");

    // (b) 10,000 readiness probes: nothing written at all.
    flood(&service, "GET", "/readyz", PROBES, 200);
    assert_eq!(observed.entries(), entries + 1, "the probes were stored");
    assert!(
        observed.file() == after,
        "the probes changed the store file"
    );

    // (c) A forged nonce, in a document the trusted PKI signed: refused, never stored.
    let mut forged = service.challenge(None);
    let last = if forged.ends_with('a') { "b" } else { "a" };
    forged.replace_range(31.., last);
    let answer = service.verify(sign(&pki, &[forged])[0].clone(), None);
    assert_eq!((answer.status, answer.kind()), (422, "nonce_unknown"));
    assert_eq!(observed.entries(), entries + 1, "a forged nonce was stored");
    assert!(
        observed.file() == after,
        "a forged nonce changed the store file"
    );

    // After everything, the genuine client of before the flood is served, once.
    let answer = service.verify(genuine[0].clone(), None);
    assert_eq!(answer.status, 200, "{answer:?}");
    let replay = service.verify(genuine[0].clone(), None);
    assert_eq!((replay.status, replay.kind()), (422, "nonce_already_used"));
}

#[test]
fn floods_leave_a_sqlite_store_as_it_was() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    let store = format!("[store]\nurl = \"sqlite:{}\"", db.display());
    floods_leave_the_store_as_it_was(&store, &Observed::Sqlite(db));
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "redis-server is not installed (apt-get install redis-server)"
)]
fn floods_leave_a_redis_store_as_it_was() {
    let redis = RedisServer::required(&[]);
    let store = format!("[store]\nurl = \"{}\"", redis.url());
    floods_leave_the_store_as_it_was(&store, &Observed::Redis(redis.url()));
}
