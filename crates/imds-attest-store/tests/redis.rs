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
use imds_attest_store::{open, Backend, FirstUse, Operation, Redemption, StoreError};
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

#[test]
fn stopped_server_fails_closed_promptly_and_restarted_server_is_used_again() {
    let Some(mut server) = RedisServer::start(&[]) else {
        return;
    };
    let store = open(&format!("{}?timeout_ms=500", server.url())).unwrap();
    store.issue("before", T0 + Duration::HOUR, T0).unwrap();
    assert_eq!(store.redeem("before", T0).unwrap(), Redemption::Redeemed);

    server.stop();
    for _ in 0..3 {
        let started = Instant::now();
        assert_unavailable(
            store.issue("during", T0 + Duration::HOUR, T0),
            Operation::Issue,
        );
        assert_unavailable(store.redeem("before", T0), Operation::Redeem);
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
    store.issue("after", T0 + Duration::HOUR, T0).unwrap();
    assert_eq!(store.redeem("after", T0).unwrap(), Redemption::Redeemed);
    assert_eq!(
        store.remember(&[1; 32], T0 + Duration::HOUR, T0).unwrap(),
        FirstUse::First
    );
    // This server keeps nothing across a restart: the nonce is gone, so refused.
    assert_eq!(store.redeem("before", T0).unwrap(), Redemption::Unknown);
}

#[test]
fn pooled_connections_are_dropped_when_the_server_restarts() {
    let Some(mut server) = RedisServer::start(&[]) else {
        return;
    };
    let store = open(&server.url()).unwrap();
    // Several connections in the pool.
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = &store;
            s.spawn(move || {
                store
                    .issue(&format!("warm{t}"), T0 + Duration::HOUR, T0)
                    .unwrap()
            });
        }
    });
    server.restart();
    // At most the first use meets a dead connection, and it drops every idle one with it.
    let first = store.redeem("warm0", T0);
    if first.is_err() {
        assert_unavailable(first, Operation::Redeem);
    }
    assert_eq!(store.redeem("warm1", T0).unwrap(), Redemption::Unknown);
}

#[test]
fn keys_live_under_the_prefix_with_ttls_from_the_callers_times() {
    let Some(server) = RedisServer::start(&[]) else {
        return;
    };
    let store = open(&format!("{}?prefix=lic:test:", server.url())).unwrap();
    assert_eq!(
        store.describe(),
        format!("redis://127.0.0.1:{}/0?prefix=lic:test:", server.port())
    );
    store.issue("abc", T0 + Duration::MINUTE, T0).unwrap();
    assert_eq!(
        store
            .remember(&[0xab; 32], T0 + Duration::MINUTE * 10, T0)
            .unwrap(),
        FirstUse::First
    );
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    keys.sort();
    let document = format!("lic:test:document:{}", "ab".repeat(32));
    assert_eq!(keys, [document.clone(), "lic:test:nonce:abc".to_owned()]);
    let ttl = |key: &str, conn: &mut redis::Connection| -> i64 {
        redis::cmd("PTTL").arg(key).query(conn).unwrap()
    };
    // The TTL of the expiry plus an hour's retention, the document's until: seconds of slack.
    let nonce_ttl = ttl("lic:test:nonce:abc", &mut conn);
    assert!((3_655_000..=3_660_000).contains(&nonce_ttl), "{nonce_ttl}");
    let document_ttl = ttl(&document, &mut conn);
    assert!(
        (595_000..=600_000).contains(&document_ttl),
        "{document_ttl}"
    );
    assert_eq!(store.redeem("abc", T0).unwrap(), Redemption::Redeemed);
    assert!(
        ttl("lic:test:nonce:abc", &mut conn) > 3_600_000,
        "redeem keeps the TTL"
    );
}

#[test]
fn password_is_required_and_never_described() {
    let Some(server) = RedisServer::start(&["--requirepass", "s3cr3t/@pw"]) else {
        return;
    };
    let port = server.port();
    let good = open(&format!("redis://:s3cr3t%2F%40pw@127.0.0.1:{port}/0")).unwrap();
    assert_eq!(good.describe(), format!("redis://127.0.0.1:{port}/0"));
    good.issue("abc", T0 + Duration::HOUR, T0).unwrap();
    assert_eq!(good.redeem("abc", T0).unwrap(), Redemption::Redeemed);

    let bad = open(&format!("redis://:wrong@127.0.0.1:{port}/0")).unwrap();
    let err = bad.redeem("abc", T0).unwrap_err();
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
    assert_unavailable(store.redeem("abc", T0), Operation::Redeem);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
