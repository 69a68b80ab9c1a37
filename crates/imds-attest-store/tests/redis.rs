//! The Redis store against a real redis-server: failing closed and promptly while it is down,
//! working again with the same store once it is back, keys under the prefix with TTLs from the
//! callers' times, and authentication.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Instant;

use common::T0;
use imds_attest_store::{open, Backend, Challenges, FirstUse, Operation, Redemption, StoreError};
use imds_attest_testpki::redis::RedisServer;
use time::Duration;

fn assert_unavailable(result: Result<impl std::fmt::Debug, StoreError>, operation: Operation) {
    match result {
        Err(StoreError::Unavailable {
            backend: Backend::Redis,
            operation: op,
            ..
        }) if op == operation => {}
        other => panic!("{operation:?}: expected Unavailable, got {other:?}"),
    }
}

const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "redis-server is not installed (apt-get install redis-server)"
)]
fn stopped_server_fails_closed_promptly_and_restarted_server_is_used_again() {
    let mut server = RedisServer::required(&[]);
    let url = format!("{}?timeout_ms=500", server.url());
    let challenges = Challenges::new(open(&url).unwrap());
    let store = challenges.store();
    let before = challenges.issue(HOUR, T0).unwrap().nonce;
    assert_eq!(
        challenges.redeem(&before, T0).unwrap(),
        Redemption::Redeemed
    );
    let unused = challenges.issue(HOUR, T0).unwrap().nonce;

    server.stop();
    for _ in 0..3 {
        let started = Instant::now();
        // A process that has not read the key yet cannot issue.
        assert_unavailable(
            Challenges::new(open(&url).unwrap()).issue(HOUR, T0),
            Operation::Issue,
        );
        assert_unavailable(challenges.redeem(&unused, T0), Operation::Redeem);
        assert_unavailable(
            store.remember(&[1; 32], T0 + Duration::HOUR, T0),
            Operation::Remember,
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    server.restart();
    // The same store value, no reopening: the first operation after the restart works.
    let after = challenges.issue(HOUR, T0).unwrap().nonce;
    assert_eq!(
        store.remember(&[1; 32], T0 + Duration::HOUR, T0).unwrap(),
        FirstUse::First
    );
    // This server keeps nothing across a restart, the key included: every nonce signed with
    // the old key, redeemed before or not, is refused rather than redeemable (again).
    for nonce in [&before, &unused, &after] {
        assert_eq!(challenges.redeem(nonce, T0).unwrap(), Redemption::Unknown);
    }
    // The instance has taken the store's new key: its next challenge is redeemed.
    let fresh = challenges.issue(HOUR, T0).unwrap().nonce;
    assert_eq!(challenges.redeem(&fresh, T0).unwrap(), Redemption::Redeemed);
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "redis-server is not installed (apt-get install redis-server)"
)]
fn pooled_connections_are_dropped_when_the_server_restarts() {
    let mut server = RedisServer::required(&[]);
    let challenges = Challenges::new(open(&server.url()).unwrap());
    let nonces: Vec<String> = (0..4)
        .map(|_| challenges.issue(HOUR, T0).unwrap().nonce)
        .collect();
    // Several connections in the pool.
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = challenges.store();
            s.spawn(move || store.remember(&[t; 32], T0 + Duration::HOUR, T0).unwrap());
        }
    });
    server.restart();
    // At most the first use meets a dead connection, and it drops every idle one with it.
    let first = challenges.redeem(&nonces[0], T0);
    if first.is_err() {
        assert_unavailable(first, Operation::Redeem);
    }
    assert_eq!(
        challenges.redeem(&nonces[1], T0).unwrap(),
        Redemption::Unknown
    );
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "redis-server is not installed (apt-get install redis-server)"
)]
fn keys_live_under_the_prefix_with_ttls_from_the_callers_times() {
    let server = RedisServer::required(&[]);
    let challenges = Challenges::new(open(&format!("{}?prefix=lic:test:", server.url())).unwrap());
    let store = challenges.store();
    assert_eq!(
        store.describe(),
        format!("redis://127.0.0.1:{}/0?prefix=lic:test:", server.port())
    );
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let keys = |conn: &mut redis::Connection| -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(conn).unwrap();
        keys.sort();
        keys
    };
    let nonce = challenges
        .issue(std::time::Duration::from_secs(60), T0)
        .unwrap()
        .nonce;
    // Issuing stored the key, and nothing else.
    assert_eq!(keys(&mut conn), ["lic:test:challenge-key"]);
    assert_eq!(
        store
            .remember(&[0xab; 32], T0 + Duration::MINUTE * 10, T0)
            .unwrap(),
        FirstUse::First
    );
    assert_eq!(challenges.redeem(&nonce, T0).unwrap(), Redemption::Redeemed);
    let all = keys(&mut conn);
    let document = format!("lic:test:document:{}", "ab".repeat(32));
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all.contains(&document) && all.contains(&"lic:test:challenge-key".to_owned()));
    let used = all
        .iter()
        .find(|k| *k != &document && k.starts_with("lic:test:document:"))
        .expect("the used nonce's key");
    let ttl = |key: &str, conn: &mut redis::Connection| -> i64 {
        redis::cmd("PTTL").arg(key).query(conn).unwrap()
    };
    // A used nonce lives until its expiry, a document until its until; the key forever.
    let nonce_ttl = ttl(used, &mut conn);
    assert!((55_000..=60_000).contains(&nonce_ttl), "{nonce_ttl}");
    let document_ttl = ttl(&document, &mut conn);
    assert!(
        (595_000..=600_000).contains(&document_ttl),
        "{document_ttl}"
    );
    assert_eq!(ttl("lic:test:challenge-key", &mut conn), -1);
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "redis-server is not installed (apt-get install redis-server)"
)]
fn password_is_required_and_never_described() {
    let server = RedisServer::required(&["--requirepass", "s3cr3t/@pw"]);
    let port = server.port();
    let good =
        Challenges::new(open(&format!("redis://:s3cr3t%2F%40pw@127.0.0.1:{port}/0")).unwrap());
    assert_eq!(
        good.store().describe(),
        format!("redis://127.0.0.1:{port}/0")
    );
    let nonce = good.issue(HOUR, T0).unwrap().nonce;
    assert_eq!(good.redeem(&nonce, T0).unwrap(), Redemption::Redeemed);
    // Unencoded, as people type it: the same server, the same key.
    let unencoded =
        Challenges::new(open(&format!("redis://:s3cr3t/@pw@127.0.0.1:{port}/0")).unwrap());
    assert_eq!(
        unencoded.redeem(&nonce, T0).unwrap(),
        Redemption::AlreadyUsed
    );

    let bad = Challenges::new(open(&format!("redis://:wrong@127.0.0.1:{port}/0")).unwrap());
    let err = bad.redeem(&nonce, T0).unwrap_err();
    assert_unavailable(Err::<(), _>(err.clone()), Operation::Redeem);
    assert!(!err.to_string().contains("wrong"), "{err}");
    assert_eq!(
        err.kind(),
        imds_attest_store::StoreErrorKind::StoreUnavailable
    );
}

#[test]
fn unreachable_server_is_unavailable_within_the_timeout() {
    // A port nobody listens on: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = open(&format!("redis://127.0.0.1:{port}/0?timeout_ms=200")).unwrap();
    let started = Instant::now();
    assert_unavailable(store.challenge_key(), Operation::Issue);
    assert_unavailable(
        store.remember(&[1; 32], T0 + Duration::HOUR, T0),
        Operation::Remember,
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
