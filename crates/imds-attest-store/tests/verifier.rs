//! The stores through the verifier: a genuine document redeemed or remembered exactly once,
//! up to the last instant its time allows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imds_attest::{Error, ErrorKind, NonceCheck, Policy, TrustStore, Verifier};
use imds_attest_store::{open, Challenges};
use imds_attest_testpki::genuine;
use imds_attest_testpki::temp;
use time::macros::datetime;
use time::Duration;

fn genuine() -> Vec<u8> {
    genuine::named("taskcluster_2025_rsatls07").bytes()
}

/// At exactly expiresOn + skew the document is still accepted, once: the store remembers it
/// past that instant, so a second use at the same instant is refused.
#[test]
fn a_single_use_document_is_refused_a_second_time_at_the_last_accepted_instant() {
    let dir = temp::dir();
    let sqlite = format!("sqlite:{}", dir.path().join("state.db").display());
    for url in ["memory:", sqlite.as_str()] {
        let challenges = Challenges::new(open(url).unwrap());
        let verifier = Verifier::new(
            TrustStore::builtin(),
            Policy::default().with_skew(Duration::seconds(60)),
        );
        let last = datetime!(2025-11-19 18:54:30 UTC);
        let first = verifier.verify_bytes(&genuine(), NonceCheck::SingleUse(&challenges), last);
        assert!(first.is_ok_and(|v| v.redeemed()), "{url}");
        let again = verifier.verify_bytes(&genuine(), NonceCheck::SingleUse(&challenges), last);
        assert!(
            matches!(again, Err(Error::DocumentAlreadyUsed { .. })),
            "{url}: {again:?}"
        );
        // A second later the time check refuses it first.
        let later = last + Duration::SECOND;
        let late = verifier.verify_bytes(&genuine(), NonceCheck::SingleUse(&challenges), later);
        assert_eq!(
            late.map(|_| ()).unwrap_err().kind(),
            ErrorKind::DocumentExpired,
            "{url}"
        );
    }
}
