//! One suite of rules, run against every backend: memory, SQLite (a temporary file) and Redis
//! (a real redis-server on a loopback port, skipped only outside CI when it is missing).
//!
//! Every store is wrapped in [`Counting`], which counts the backend's writes, so that each
//! rule also proves what did not reach the store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{sqlite_url, T0};
use imds_attest_store::{
    open, Backend, ChallengeKey, Challenges, FirstUse, Redemption, Store, StoreError, Window,
};
use imds_attest_testpki::redis::RedisServer;
use imds_attest_testpki::temp::{self, TempDir};
use time::Duration;

/// A store that counts what reaches the backend.
#[derive(Debug)]
struct Counting {
    inner: Box<dyn Store>,
    digests: AtomicUsize,
    key_reads: AtomicUsize,
}

impl Counting {
    fn new(inner: Box<dyn Store>) -> Arc<Self> {
        Arc::new(Counting {
            inner,
            digests: AtomicUsize::new(0),
            key_reads: AtomicUsize::new(0),
        })
    }

    fn digests(&self) -> usize {
        self.digests.load(Ordering::SeqCst)
    }
}

impl Store for Counting {
    fn challenge_key(&self) -> Result<ChallengeKey, StoreError> {
        self.key_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.challenge_key()
    }
    fn insert_digest(&self, digest: &[u8; 32], window: Window) -> Result<FirstUse, StoreError> {
        self.digests.fetch_add(1, Ordering::SeqCst);
        self.inner.insert_digest(digest, window)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn backend(&self) -> Backend {
        self.inner.backend()
    }
}

/// A store, a way to open it again (another instance sharing it), and what must outlive them
/// (the file, the server).
struct Fixture {
    store: Arc<Counting>,
    url: String,
    shared_memory: Option<Arc<Counting>>,
    _dir: Option<TempDir>,
    _redis: Option<RedisServer>,
}

impl Fixture {
    fn challenges(&self) -> Challenges {
        Challenges::new(self.store.clone() as Arc<dyn Store>)
    }

    /// Challenges of another instance over the same store: another connection to the same
    /// SQLite file or Redis; for `memory:`, which only one process shares, the same store.
    fn another_instance(&self) -> Challenges {
        match &self.shared_memory {
            Some(store) => Challenges::new(store.clone() as Arc<dyn Store>),
            None => Challenges::new(open(&self.url).unwrap()),
        }
    }
}

fn memory() -> Option<Fixture> {
    let store = Counting::new(open("memory:").unwrap());
    Some(Fixture {
        shared_memory: Some(store.clone()),
        store,
        url: "memory:".to_owned(),
        _dir: None,
        _redis: None,
    })
}

fn sqlite() -> Option<Fixture> {
    let dir = temp::dir();
    let url = sqlite_url(&dir.path().join("store.db"));
    Some(Fixture {
        store: Counting::new(open(&url).unwrap()),
        url,
        shared_memory: None,
        _dir: Some(dir),
        _redis: None,
    })
}

fn redis() -> Option<Fixture> {
    let server = RedisServer::required(&[]);
    Some(Fixture {
        store: Counting::new(open(&server.url()).unwrap()),
        url: server.url(),
        shared_memory: None,
        _dir: None,
        _redis: Some(server),
    })
}

macro_rules! conformance {
    ($($rule:ident),* $(,)?) => {
        mod memory { $( #[test] fn $rule() { if let Some(f) = super::memory() { super::$rule(&f) } } )* }
        mod sqlite { $( #[test] fn $rule() { if let Some(f) = super::sqlite() { super::$rule(&f) } } )* }
        mod redis { $(
            #[test]
            #[cfg_attr(
                no_redis_server,
                ignore = "redis-server is not installed (apt-get install redis-server)"
            )]
            fn $rule() { if let Some(f) = super::redis() { super::$rule(&f) } }
        )* }
    };
}

conformance!(
    issued_nonce_is_redeemed_once,
    issuing_writes_nothing_and_reads_the_key_once,
    nonce_is_expired_from_its_expiry_without_a_store_write,
    redeemed_nonce_stays_used_after_its_expiry,
    forged_and_malformed_nonces_are_unknown_without_a_store_write,
    issue_refuses_expiries_not_after_now,
    instances_sharing_a_store_accept_each_others_nonces,
    challenge_key_is_created_once,
    document_is_used_once_until_its_until,
    concurrent_redemptions_succeed_exactly_once,
);

const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

fn issued_nonce_is_redeemed_once(f: &Fixture) {
    let challenges = f.challenges();
    let challenge = challenges.issue(MINUTE, T0).unwrap();
    assert_eq!(challenge.expires_at, T0 + Duration::MINUTE);
    let at = T0 + Duration::seconds(10);
    assert_eq!(
        challenges.redeem(&challenge.nonce, at).unwrap(),
        Redemption::Redeemed
    );
    assert_eq!(
        challenges.redeem(&challenge.nonce, at).unwrap(),
        Redemption::AlreadyUsed
    );
    assert_eq!(f.store.digests(), 2);
}

fn issuing_writes_nothing_and_reads_the_key_once(f: &Fixture) {
    let challenges = f.challenges();
    let mut nonces = std::collections::HashSet::new();
    for i in 0..1000 {
        let challenge = challenges
            .issue(MINUTE, T0 + Duration::milliseconds(i))
            .unwrap();
        assert!(challenge.nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(challenge.nonce.len(), 32);
        assert!(nonces.insert(challenge.nonce));
    }
    assert_eq!(f.store.digests(), 0);
    // Clones share the key fetched once.
    challenges.clone().issue(MINUTE, T0).unwrap();
    assert_eq!(f.store.key_reads.load(Ordering::SeqCst), 1);
}

fn nonce_is_expired_from_its_expiry_without_a_store_write(f: &Fixture) {
    let challenges = f.challenges();
    let expires = T0 + Duration::MINUTE;
    let [at_expiry, later, just_before] =
        [(); 3].map(|()| challenges.issue(MINUTE, T0).unwrap().nonce);
    assert_eq!(
        challenges.redeem(&at_expiry, expires).unwrap(),
        Redemption::Expired
    );
    assert_eq!(
        challenges
            .redeem(&later, expires + Duration::MINUTE)
            .unwrap(),
        Redemption::Expired
    );
    assert_eq!(f.store.digests(), 0);
    assert_eq!(
        challenges
            .redeem(&just_before, expires - Duration::milliseconds(1))
            .unwrap(),
        Redemption::Redeemed
    );
    // Expired stays expired: a refused redemption spends nothing, but grants nothing either.
    assert_eq!(
        challenges.redeem(&at_expiry, expires).unwrap(),
        Redemption::Expired
    );
    assert_eq!(f.store.digests(), 1);
}

fn redeemed_nonce_stays_used_after_its_expiry(f: &Fixture) {
    let challenges = f.challenges();
    let spent = challenges.issue(MINUTE, T0).unwrap().nonce;
    assert_eq!(challenges.redeem(&spent, T0).unwrap(), Redemption::Redeemed);
    // Past its expiry it is refused as expired, before the store is asked.
    let after = T0 + Duration::minutes(5);
    assert_eq!(
        challenges.redeem(&spent, after).unwrap(),
        Redemption::Expired
    );
    assert_eq!(
        challenges
            .redeem(&spent, T0 + Duration::seconds(59))
            .unwrap(),
        Redemption::AlreadyUsed
    );
}

/// A nonce with the character at `at` changed to another of the alphabet.
fn altered(nonce: &str, at: usize) -> String {
    let mut bytes = nonce.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    String::from_utf8(bytes).unwrap()
}

fn forged_and_malformed_nonces_are_unknown_without_a_store_write(f: &Fixture) {
    let challenges = f.challenges();
    let genuine = challenges
        .issue(std::time::Duration::from_secs(3600), T0)
        .unwrap()
        .nonce;
    // The same layout, later expiry: the MAC no longer matches.
    let later = challenges
        .issue(std::time::Duration::from_secs(7200), T0)
        .unwrap()
        .nonce;
    let extended = format!("{}{}", &later[..6], &genuine[6..]);
    // Signed under another store's key.
    let elsewhere = Challenges::new(open("memory:").unwrap())
        .issue(MINUTE, T0)
        .unwrap()
        .nonce;
    let long = "a".repeat(33);
    let cases: Vec<(&str, String)> = vec![
        ("forged MAC", altered(&genuine, 31)),
        ("altered randomness", altered(&genuine, 10)),
        ("altered expiry", altered(&genuine, 5)),
        ("extended expiry", extended),
        ("truncated", genuine[..31].to_owned()),
        ("extended", format!("{genuine}a")),
        ("never issued", imds_attest_store::random_nonce().unwrap()),
        ("another store's", elsewhere),
        (
            "MAC digits past 88 bits",
            format!("{}zzzzzzzzzzzzzzzz", &genuine[..16]),
        ),
        ("not base62", format!("{}-", &genuine[..31])),
        ("empty", String::new()),
        ("short", "known".to_owned()),
        ("space", "kno wn".to_owned()),
        ("newline", format!("{genuine}\n")),
        ("non-ASCII", "n\u{f1}".to_owned()),
        ("too long", long),
    ];
    for (case, nonce) in &cases {
        assert_eq!(
            challenges.redeem(nonce, T0).unwrap(),
            Redemption::Unknown,
            "{case}: {nonce:?}"
        );
    }
    assert_eq!(f.store.digests(), 0, "a refused nonce reached the store");
    assert_eq!(
        challenges.redeem(&genuine, T0).unwrap(),
        Redemption::Redeemed
    );
}

fn issue_refuses_expiries_not_after_now(f: &Fixture) {
    let challenges = f.challenges();
    // The nonce counts whole seconds: an expiry within T0's second is no later.
    let within_the_second = T0 + Duration::milliseconds(300);
    for (now, ttl) in [
        (T0, std::time::Duration::ZERO),
        (within_the_second, std::time::Duration::from_millis(500)),
    ] {
        assert!(
            matches!(
                challenges.issue(ttl, now),
                Err(StoreError::Expiry { now: n, .. }) if n == now
            ),
            "{now} + {ttl:?}"
        );
    }
    // Past what the nonce (6 base62 digits of seconds, to the year 3770) or time can hold.
    for ttl in [
        std::time::Duration::from_secs(62u64.pow(6)),
        std::time::Duration::MAX,
    ] {
        assert!(matches!(
            challenges.issue(ttl, T0),
            Err(StoreError::Expiry { .. })
        ));
    }
    // A sub-second TTL is fine where it crosses a second: floored, still after `now`.
    let challenge = challenges
        .issue(std::time::Duration::from_millis(800), within_the_second)
        .unwrap();
    assert_eq!(challenge.expires_at, T0 + Duration::SECOND);
    assert_eq!(f.store.digests(), 0);
}

fn instances_sharing_a_store_accept_each_others_nonces(f: &Fixture) {
    let (one, two) = (f.challenges(), f.another_instance());
    let from_one = one.issue(MINUTE, T0).unwrap().nonce;
    let from_two = two.issue(MINUTE, T0).unwrap().nonce;
    assert_eq!(two.redeem(&from_one, T0).unwrap(), Redemption::Redeemed);
    assert_eq!(one.redeem(&from_one, T0).unwrap(), Redemption::AlreadyUsed);
    assert_eq!(one.redeem(&from_two, T0).unwrap(), Redemption::Redeemed);
    assert_eq!(two.redeem(&from_two, T0).unwrap(), Redemption::AlreadyUsed);
}

fn challenge_key_is_created_once(f: &Fixture) {
    let key = f.store.challenge_key().unwrap();
    assert_eq!(f.store.challenge_key().unwrap(), key);
    let other = match &f.shared_memory {
        Some(store) => store.challenge_key().unwrap(),
        None => open(&f.url).unwrap().challenge_key().unwrap(),
    };
    assert_eq!(other, key);
    assert_eq!(format!("{key:?}"), "ChallengeKey(..)");
}

fn document_is_used_once_until_its_until(f: &Fixture) {
    let store = &*f.store;
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

fn concurrent_redemptions_succeed_exactly_once(f: &Fixture) {
    // Two instances over the store, four threads each.
    let instances = [f.challenges(), f.another_instance()];
    let nonces: Vec<String> = (0..100)
        .map(|i| {
            instances[i % 2]
                .issue(std::time::Duration::from_secs(3600), T0)
                .unwrap()
                .nonce
        })
        .collect();
    let outcomes: Vec<HashMap<usize, Redemption>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (nonces, challenges) = (&nonces, &instances[t % 2]);
                s.spawn(move || {
                    let mut redeemed = HashMap::new();
                    for i in 0..1000 {
                        // Each thread walks the nonces in its own order.
                        let n = (i * 7 + t * 13) % 100;
                        match challenges
                            .redeem(&nonces[n], T0 + Duration::SECOND)
                            .unwrap()
                        {
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
