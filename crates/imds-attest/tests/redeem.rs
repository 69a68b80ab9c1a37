//! The redemption hook: the verifier calls the redeemer last, only for a document that passed
//! every other check, accepts the document only when the redeemer does, and calls it the same
//! way on the warm path and the cold one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::Mutex;

use imds_attest::{Error, NonceCheck, Policy, Redeemer, Rules, TrustStore, Verifier};
use imds_attest_testpki::genuine;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NONCE: &str = "20251119-185330";
const AT: OffsetDateTime = datetime!(2025-11-19 12:53:30 UTC);

fn genuine() -> Vec<u8> {
    genuine::named("taskcluster_2025_rsatls07").bytes()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Nonce(String, OffsetDateTime),
    Document([u8; 32], OffsetDateTime, OffsetDateTime),
}

/// A challenge store in memory: issued nonces, remembered documents, every call recorded.
#[derive(Default)]
struct Store {
    issued: Mutex<HashMap<String, bool>>,
    seen: Mutex<HashMap<[u8; 32], OffsetDateTime>>,
    calls: Mutex<Vec<Call>>,
    down: bool,
}

impl Store {
    fn issuing(nonce: &str) -> Store {
        let store = Store::default();
        store.issued.lock().unwrap().insert(nonce.into(), false);
        store
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

impl Redeemer for Store {
    fn redeem_nonce(&self, nonce: &str, at: OffsetDateTime) -> Result<(), Error> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Nonce(nonce.into(), at));
        if self.down {
            return Err(Error::StoreUnavailable {
                store: "memory".into(),
                message: "the test says so".into(),
            });
        }
        match self.issued.lock().unwrap().get_mut(nonce) {
            None => Err(Error::NonceUnknown {
                nonce: nonce.into(),
            }),
            Some(true) => Err(Error::NonceAlreadyUsed {
                nonce: nonce.into(),
            }),
            Some(used) => {
                *used = true;
                Ok(())
            }
        }
    }

    fn remember_document(
        &self,
        content_sha256: &[u8; 32],
        until: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<(), Error> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Document(*content_sha256, until, at));
        let mut seen = self.seen.lock().unwrap();
        if seen.insert(*content_sha256, until).is_some() {
            return Err(Error::document_already_used(content_sha256));
        }
        Ok(())
    }
}

fn verifier(policy: Policy) -> Verifier {
    Verifier::new(TrustStore::builtin(), policy)
}

#[test]
fn a_redeemed_nonce_is_accepted_once_and_refused_the_second_time() {
    let store = Store::issuing(NONCE);
    let v = verifier(Policy::default());
    let first = v
        .verify_bytes(&genuine(), NonceCheck::Redeem(&store), AT)
        .unwrap();
    assert!(first.nonce_checked() && first.redeemed());
    assert_eq!(
        v.verify_bytes(&genuine(), NonceCheck::Redeem(&store), AT),
        Err(Error::NonceAlreadyUsed {
            nonce: NONCE.into()
        })
    );
    assert_eq!(store.calls(), vec![Call::Nonce(NONCE.into(), AT); 2]);
}

#[test]
fn a_nonce_never_issued_is_refused_as_unknown() {
    let store = Store::issuing("another");
    assert_eq!(
        verifier(Policy::default()).verify_bytes(&genuine(), NonceCheck::Redeem(&store), AT),
        Err(Error::NonceUnknown {
            nonce: NONCE.into()
        })
    );
}

#[test]
fn a_store_error_is_the_rejection() {
    let store = Store {
        down: true,
        ..Store::issuing(NONCE)
    };
    let err = verifier(Policy::default())
        .verify_bytes(&genuine(), NonceCheck::Redeem(&store), AT)
        .unwrap_err();
    assert_eq!(
        err,
        Error::StoreUnavailable {
            store: "memory".into(),
            message: "the test says so".into()
        }
    );
    assert_eq!(err.kind(), imds_attest::ErrorKind::StoreUnavailable);
}

/// Forged, expired, too old and rule-rejected documents never reach the redeemer:
/// a challenge is burnt only by a document that passed everything else.
#[test]
fn documents_rejected_by_another_check_never_call_the_redeemer() {
    let mut forged = genuine();
    let at = forged
        .windows(4)
        .position(|w| w == b"MIAG")
        .map_or(200, |p| p + 400);
    forged[at] ^= 1;
    let deny = Rules::parse(
        "[[deny]]\nname = \"revoked\"\nvm_id = \"ddc87bd2-3ebb-43dc-92a9-90b104cd9527\"\n",
        "r.toml",
    )
    .unwrap();
    let cases: Vec<(&str, Vec<u8>, Policy, OffsetDateTime)> = vec![
        ("forged", forged, Policy::default(), AT),
        (
            "expired",
            genuine(),
            Policy::default(),
            AT + Duration::hours(7),
        ),
        (
            "too old",
            genuine(),
            Policy::default().with_max_age(Duration::seconds(1)),
            AT + Duration::hours(1),
        ),
        (
            "denied by a rule",
            genuine(),
            Policy::default().with_rules(deny),
            AT,
        ),
    ];
    for (name, bytes, policy, at) in cases {
        let store = Store::issuing(NONCE);
        for check in [NonceCheck::Redeem(&store), NonceCheck::SingleUse(&store)] {
            assert!(
                verifier(policy.clone())
                    .verify_bytes(&bytes, check, at)
                    .is_err(),
                "{name}"
            );
        }
        assert_eq!(store.calls(), vec![], "{name}");
        assert_eq!(
            store.issued.lock().unwrap().get(NONCE),
            Some(&false),
            "{name}: not burnt"
        );
    }
}

#[test]
fn single_use_remembers_the_content_until_expiry_plus_skew_and_refuses_a_second_use() {
    let store = Store::default();
    let v = verifier(Policy::default().with_skew(Duration::seconds(60)));
    let first = v
        .verify_bytes(&genuine(), NonceCheck::SingleUse(&store), AT)
        .unwrap();
    assert!(!first.nonce_checked() && first.redeemed());
    let err = v
        .verify_bytes(&genuine(), NonceCheck::SingleUse(&store), AT)
        .unwrap_err();
    let Error::DocumentAlreadyUsed { content_sha256 } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(content_sha256.len(), 64);
    let calls = store.calls();
    let Some(Call::Document(digest, until, at)) = calls.first() else {
        panic!("{calls:?}")
    };
    let content =
        std::fs::read(genuine::path("raw/taskcluster_2025_rsatls07.content.json")).unwrap();
    let expected: [u8; 32] = openssl::sha::sha256(&content);
    assert_eq!(digest, &expected);
    // expiresOn + skew, plus the second that keeps it strictly after any accepted time.
    assert_eq!(*until, datetime!(2025-11-19 18:54:31 UTC));
    assert_eq!(*at, AT);
}

/// The warm path (a verifier that has proven the signer, and recognises the document's
/// outline) calls the redeemer exactly as the cold path does.
#[test]
fn warm_and_cold_verifiers_call_the_redeemer_the_same_way() {
    let bytes = genuine();
    let nonces = [NONCE, NONCE, NONCE];
    let run = |v: &Verifier| {
        let store = Store::issuing(NONCE);
        let results: Vec<_> = nonces
            .iter()
            .map(|_| {
                v.verify_bytes(&bytes, NonceCheck::Redeem(&store), AT)
                    .map(|d| d.redeemed())
            })
            .chain([v
                .verify_bytes(&bytes, NonceCheck::SingleUse(&store), AT)
                .map(|d| d.redeemed())])
            .collect();
        (results, store.calls())
    };
    let warm = verifier(Policy::default());
    warm.verify_bytes(&bytes, NonceCheck::Exact(NONCE), AT)
        .unwrap();
    warm.verify_bytes(&bytes, NonceCheck::Exact(NONCE), AT)
        .unwrap();
    let cold = Verifier::with_cache_capacity(TrustStore::builtin(), Policy::default(), 0);
    let (warm_results, warm_calls) = run(&warm);
    let (cold_results, cold_calls) = run(&cold);
    assert_eq!(warm_results, cold_results);
    assert_eq!(warm_calls, cold_calls);
    assert_eq!(warm_calls.len(), 4);
    assert_eq!(warm_results[0], Ok(true));
    assert_eq!(
        warm_results[1],
        Err(Error::NonceAlreadyUsed {
            nonce: NONCE.into()
        })
    );
}
