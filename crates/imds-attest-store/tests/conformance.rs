//! One suite of rules, run against every backend: memory, SQLite (a temporary file) and Redis
//! (a real redis-server on a loopback port, skipped only outside CI when it is missing).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::HashMap;

use common::{sqlite_url, T0};
use imds_attest_store::{open, FirstUse, NonceReason, Redemption, Store, StoreError};
use imds_attest_testpki::redis::RedisServer;
use imds_attest_testpki::temp::{self, TempDir};
use time::Duration;

/// A store and what must outlive it (its file, its server).
struct Fixture {
    store: Box<dyn Store>,
    _dir: Option<TempDir>,
    _redis: Option<RedisServer>,
}

fn memory() -> Option<Fixture> {
    Some(Fixture {
        store: open("memory:").unwrap(),
        _dir: None,
        _redis: None,
    })
}

fn sqlite() -> Option<Fixture> {
    let dir = temp::dir();
    let url = sqlite_url(&dir.path().join("store.db"));
    Some(Fixture {
        store: open(&url).unwrap(),
        _dir: Some(dir),
        _redis: None,
    })
}

fn redis() -> Option<Fixture> {
    let server = RedisServer::start(&[])?;
    Some(Fixture {
        store: open(&server.url()).unwrap(),
        _dir: None,
        _redis: Some(server),
    })
}

macro_rules! conformance {
    ($($rule:ident),* $(,)?) => {
        mod memory { $( #[test] fn $rule() { if let Some(f) = super::memory() { super::$rule(&*f.store) } } )* }
        mod sqlite { $( #[test] fn $rule() { if let Some(f) = super::sqlite() { super::$rule(&*f.store) } } )* }
        mod redis { $( #[test] fn $rule() { if let Some(f) = super::redis() { super::$rule(&*f.store) } } )* }
    };
}

conformance!(
    issued_nonce_is_redeemed_once,
    nonce_is_expired_from_its_expiry,
    redeemed_nonce_stays_used_after_its_expiry,
    unknown_and_malformed_nonces_are_unknown,
    issue_refuses_a_nonce_already_held,
    issue_refuses_invalid_nonces_and_expiries,
    document_is_used_once_until_its_until,
    concurrent_redemptions_succeed_exactly_once,
);

fn issued_nonce_is_redeemed_once(store: &dyn Store) {
    store.issue("abc123", T0 + Duration::MINUTE, T0).unwrap();
    let at = T0 + Duration::seconds(10);
    assert_eq!(store.redeem("abc123", at).unwrap(), Redemption::Redeemed);
    assert_eq!(store.redeem("abc123", at).unwrap(), Redemption::AlreadyUsed);
}

fn nonce_is_expired_from_its_expiry(store: &dyn Store) {
    let expires = T0 + Duration::MINUTE;
    store.issue("atexpiry", expires, T0).unwrap();
    store.issue("later", expires, T0).unwrap();
    store.issue("justbefore", expires, T0).unwrap();
    assert_eq!(
        store.redeem("atexpiry", expires).unwrap(),
        Redemption::Expired
    );
    let later = expires + Duration::MINUTE;
    assert_eq!(store.redeem("later", later).unwrap(), Redemption::Expired);
    let just_before = expires - Duration::milliseconds(1);
    assert_eq!(
        store.redeem("justbefore", just_before).unwrap(),
        Redemption::Redeemed
    );
    // Expired stays expired: a refused redemption spends nothing, but grants nothing either.
    assert_eq!(
        store.redeem("atexpiry", expires).unwrap(),
        Redemption::Expired
    );
}

fn redeemed_nonce_stays_used_after_its_expiry(store: &dyn Store) {
    store.issue("spent", T0 + Duration::MINUTE, T0).unwrap();
    assert_eq!(store.redeem("spent", T0).unwrap(), Redemption::Redeemed);
    let after = T0 + Duration::minutes(5);
    assert_eq!(
        store.redeem("spent", after).unwrap(),
        Redemption::AlreadyUsed
    );
}

fn unknown_and_malformed_nonces_are_unknown(store: &dyn Store) {
    store.issue("known", T0 + Duration::MINUTE, T0).unwrap();
    let long = "a".repeat(33);
    for nonce in [
        "unknown",
        "Known",
        "",
        "kno wn",
        "known\n",
        "n\u{f1}",
        long.as_str(),
    ] {
        assert_eq!(
            store.redeem(nonce, T0).unwrap(),
            Redemption::Unknown,
            "{nonce:?}"
        );
    }
    assert_eq!(store.redeem("known", T0).unwrap(), Redemption::Redeemed);
}

fn issue_refuses_a_nonce_already_held(store: &dyn Store) {
    let expires = T0 + Duration::MINUTE;
    store.issue("twice", expires, T0).unwrap();
    let duplicate = || store.issue("twice", expires + Duration::HOUR, T0);
    assert!(
        matches!(duplicate(), Err(StoreError::DuplicateNonce { location }) if location == store.describe())
    );
    assert_eq!(store.redeem("twice", T0).unwrap(), Redemption::Redeemed);
    // Issuing again never resets a used nonce.
    assert!(matches!(
        duplicate(),
        Err(StoreError::DuplicateNonce { .. })
    ));
    assert_eq!(store.redeem("twice", T0).unwrap(), Redemption::AlreadyUsed);
}

fn issue_refuses_invalid_nonces_and_expiries(store: &dyn Store) {
    let expires = T0 + Duration::MINUTE;
    let cases = [
        ("", NonceReason::Empty),
        (&*"a".repeat(33), NonceReason::TooLong { length: 33 }),
        ("a-b", NonceReason::Character { at: 1 }),
        ("\u{e9}t\u{e9}", NonceReason::Character { at: 0 }),
    ];
    for (nonce, reason) in cases {
        assert_eq!(
            store.issue(nonce, expires, T0),
            Err(StoreError::InvalidNonce { reason }),
            "{nonce:?}"
        );
    }
    assert_eq!(store.issue(&"a".repeat(32), expires, T0), Ok(()));
    // Stores count in milliseconds: an expiry within the same one is no later.
    for expires_at in [T0, T0 - Duration::SECOND, T0 + Duration::microseconds(500)] {
        assert_eq!(
            store.issue("fine", expires_at, T0),
            Err(StoreError::Expiry {
                expires_at,
                now: T0
            })
        );
    }
    assert_eq!(store.redeem("fine", T0).unwrap(), Redemption::Unknown);
}

fn document_is_used_once_until_its_until(store: &dyn Store) {
    let digest = [7u8; 32];
    let until = T0 + Duration::HOUR;
    assert_eq!(store.remember(&digest, until, T0).unwrap(), FirstUse::First);
    let during = T0 + Duration::MINUTE;
    assert_eq!(
        store.remember(&digest, until, during).unwrap(),
        FirstUse::AlreadyUsed
    );
    assert_eq!(
        store.remember(&[8u8; 32], until, during).unwrap(),
        FirstUse::First
    );
    // From `until`, the document is first again, and remembered anew.
    let again = until + Duration::HOUR;
    assert_eq!(
        store.remember(&digest, again, until).unwrap(),
        FirstUse::First
    );
    assert_eq!(
        store.remember(&digest, again, until).unwrap(),
        FirstUse::AlreadyUsed
    );
    // Nothing to remember for a document valid until `at` or before, nor within the same
    // millisecond: stores count in milliseconds.
    let stale = [9u8; 32];
    for until in [T0, T0 + Duration::microseconds(500)] {
        assert_eq!(store.remember(&stale, until, T0).unwrap(), FirstUse::First);
        assert_eq!(store.remember(&stale, until, T0).unwrap(), FirstUse::First);
    }
}

fn concurrent_redemptions_succeed_exactly_once(store: &dyn Store) {
    let nonces: Vec<String> = (0..100).map(|i| format!("race{i}")).collect();
    for nonce in &nonces {
        store.issue(nonce, T0 + Duration::HOUR, T0).unwrap();
    }
    let outcomes: Vec<HashMap<usize, Redemption>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let nonces = &nonces;
                s.spawn(move || {
                    let mut redeemed = HashMap::new();
                    for i in 0..1000 {
                        // Each thread walks the nonces in its own order.
                        let n = (i * 7 + t * 13) % 100;
                        match store.redeem(&nonces[n], T0 + Duration::SECOND).unwrap() {
                            Redemption::Redeemed => {
                                assert!(redeemed.insert(n, Redemption::Redeemed).is_none());
                            }
                            Redemption::AlreadyUsed => {}
                            other => panic!("{other:?} for {}", nonces[n]),
                        }
                    }
                    redeemed
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut per_nonce = [0usize; 100];
    for thread in &outcomes {
        for n in thread.keys() {
            per_nonce[*n] += 1;
        }
    }
    assert_eq!(per_nonce, [1usize; 100], "each nonce redeemed exactly once");
}
