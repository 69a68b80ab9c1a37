//! The memory store's bound: full of live entries it refuses, expired ones make room.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::T0;
use imds_attest_store::{
    FirstUse, MemoryStore, Operation, Redemption, Store, StoreError, EXPIRED_NONCE_RETENTION,
};
use time::Duration;

#[test]
fn full_of_live_entries_refuses_rather_than_evicts() {
    let store = MemoryStore::with_capacity(2);
    store.issue("a", T0 + Duration::MINUTE, T0).unwrap();
    assert_eq!(
        store.remember(&[1; 32], T0 + Duration::MINUTE, T0).unwrap(),
        FirstUse::First
    );
    assert_eq!(
        store.issue("b", T0 + Duration::MINUTE, T0),
        Err(StoreError::Full {
            capacity: 2,
            operation: Operation::Issue
        })
    );
    assert_eq!(
        store.remember(&[2; 32], T0 + Duration::MINUTE, T0),
        Err(StoreError::Full {
            capacity: 2,
            operation: Operation::Remember
        })
    );
    assert_eq!(store.redeem("a", T0).unwrap(), Redemption::Redeemed);
}

#[test]
fn expired_entries_make_room_when_full() {
    let store = MemoryStore::with_capacity(2);
    store.issue("a", T0 + Duration::MINUTE, T0).unwrap();
    assert_eq!(
        store.remember(&[1; 32], T0 + Duration::MINUTE, T0).unwrap(),
        FirstUse::First
    );
    let later = T0 + Duration::MINUTE;
    store.issue("b", later + Duration::MINUTE, later).unwrap();
    store.issue("c", later + Duration::MINUTE, later).unwrap();
    // "a" was forgotten early to make room: still refused, now as unknown.
    assert_eq!(store.redeem("a", later).unwrap(), Redemption::Unknown);
    assert_eq!(store.redeem("b", later).unwrap(), Redemption::Redeemed);
}

#[test]
fn expired_nonce_is_expired_for_the_retention_then_unknown() {
    let store = MemoryStore::new();
    let expires = T0 + Duration::MINUTE;
    store.issue("a", expires, T0).unwrap();
    let within = expires + EXPIRED_NONCE_RETENTION - Duration::SECOND;
    assert_eq!(store.redeem("a", within).unwrap(), Redemption::Expired);
    let beyond = expires + EXPIRED_NONCE_RETENTION;
    assert_eq!(store.redeem("a", beyond).unwrap(), Redemption::Unknown);
}

#[test]
fn debug_shows_counts_not_nonces() {
    let store = MemoryStore::with_capacity(10);
    store
        .issue("secretnonce", T0 + Duration::MINUTE, T0)
        .unwrap();
    let debug = format!("{store:?}");
    assert_eq!(
        debug,
        "MemoryStore { capacity: 10, nonces: 1, documents: 0 }"
    );
}
