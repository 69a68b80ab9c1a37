//! The memory store's bound: full of live entries it refuses, expired ones make room.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::Arc;

use common::T0;
use imds_attest_store::{
    Challenges, FirstUse, MemoryStore, Operation, Redemption, Store, StoreError,
};
use time::Duration;

const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

fn challenges(store: &Arc<MemoryStore>) -> Challenges {
    Challenges::new(store.clone() as Arc<dyn Store>)
}

#[test]
fn full_of_live_entries_refuses_rather_than_evicts() {
    let store = Arc::new(MemoryStore::with_capacity(2));
    let challenges = challenges(&store);
    let [a, b] = [(); 2].map(|()| challenges.issue(MINUTE, T0).unwrap().nonce);
    assert_eq!(challenges.redeem(&a, T0).unwrap(), Redemption::Redeemed);
    assert_eq!(
        store.remember(&[1; 32], T0 + Duration::MINUTE, T0).unwrap(),
        FirstUse::First
    );
    assert_eq!(
        challenges.redeem(&b, T0),
        Err(StoreError::Full {
            capacity: 2,
            operation: Operation::Redeem
        })
    );
    assert_eq!(
        store.remember(&[2; 32], T0 + Duration::MINUTE, T0),
        Err(StoreError::Full {
            capacity: 2,
            operation: Operation::Remember
        })
    );
    assert_eq!(challenges.redeem(&a, T0).unwrap(), Redemption::AlreadyUsed);
    // Issuing needs no room: it stores nothing.
    challenges.issue(MINUTE, T0).unwrap();
}

#[test]
fn expired_entries_make_room_when_full() {
    let store = Arc::new(MemoryStore::with_capacity(2));
    let challenges = challenges(&store);
    let a = challenges.issue(MINUTE, T0).unwrap().nonce;
    assert_eq!(challenges.redeem(&a, T0).unwrap(), Redemption::Redeemed);
    assert_eq!(
        store.remember(&[1; 32], T0 + Duration::MINUTE, T0).unwrap(),
        FirstUse::First
    );
    let later = T0 + Duration::MINUTE;
    let [b, c] = [(); 2].map(|()| challenges.issue(MINUTE, later).unwrap().nonce);
    assert_eq!(challenges.redeem(&b, later).unwrap(), Redemption::Redeemed);
    assert_eq!(challenges.redeem(&c, later).unwrap(), Redemption::Redeemed);
    // "a" was forgotten at its expiry to make room: still refused, as expired.
    assert_eq!(challenges.redeem(&a, later).unwrap(), Redemption::Expired);
}

#[test]
fn expired_nonce_stays_expired_and_takes_no_entry() {
    let store = Arc::new(MemoryStore::new());
    let challenges = challenges(&store);
    let a = challenges.issue(MINUTE, T0).unwrap().nonce;
    for after in [Duration::ZERO, Duration::HOUR, Duration::days(365)] {
        let at = T0 + Duration::MINUTE + after;
        assert_eq!(challenges.redeem(&a, at).unwrap(), Redemption::Expired);
    }
    assert_eq!(
        format!("{store:?}"),
        "MemoryStore { capacity: 100000, documents: 0 }"
    );
}

#[test]
fn debug_shows_counts_not_nonces_nor_the_key() {
    let store = Arc::new(MemoryStore::with_capacity(10));
    let challenges = challenges(&store);
    let nonce = challenges.issue(MINUTE, T0).unwrap().nonce;
    assert_eq!(challenges.redeem(&nonce, T0).unwrap(), Redemption::Redeemed);
    let debug = format!("{store:?}");
    assert_eq!(debug, "MemoryStore { capacity: 10, documents: 1 }");
    let debug = format!("{challenges:?}");
    assert_eq!(
        debug,
        "Challenges { store: MemoryStore { capacity: 10, documents: 1 }, .. }"
    );
    let key = store.challenge_key().unwrap();
    assert!(!debug.contains(&format!("{:?}", key.as_bytes())));
}
