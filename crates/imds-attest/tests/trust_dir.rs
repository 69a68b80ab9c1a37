//! A trust directory: `roots/<cloud>/*.pem` and `intermediates/*.pem` add to a store, and a
//! file that is not what its folder says is refused by name.
#![cfg(feature = "trust-dir")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use imds_attest::{
    AttestedDocument, Cloud, Error, NonceCheck, Policy, TrustFileReason, TrustStore, Verifier,
};
use imds_attest_testpki::temp;
use imds_attest_testpki::{claims_json, TestPki, REFERENCE_TIME};

fn put(dir: &Path, relative: &str, text: &str) -> String {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn verify(trust: TrustStore, pki: &TestPki) -> Result<imds_attest::VerifiedDocument, Error> {
    let doc = AttestedDocument::parse(&pki.sign(&claims_json("n", REFERENCE_TIME))).unwrap();
    Verifier::new(trust, Policy::default()).verify(&doc, NonceCheck::Exact("n"), REFERENCE_TIME)
}

#[test]
fn added_roots_and_intermediates_are_used() {
    let pki = TestPki::azure();
    let tmp = temp::dir();
    let dir = tmp.path();
    put(dir, "roots/public/root.pem", &pki.root_pem());
    put(dir, "intermediates/issuing.pem", &pki.intermediates_pem());
    let mut trust = TrustStore::builtin();
    let files = trust.add_trust_dir(dir).unwrap();
    assert_eq!(files.len(), 2);
    verify(trust, &pki).unwrap();
}

#[test]
fn a_root_serves_only_the_cloud_of_its_folder() {
    let pki = TestPki::azure();
    let tmp = temp::dir();
    let dir = tmp.path();
    put(dir, "roots/china/root.pem", &pki.root_pem());
    put(dir, "intermediates/issuing.pem", &pki.intermediates_pem());
    let mut trust = TrustStore::empty();
    trust.add_trust_dir(dir).unwrap();
    assert_eq!(trust.roots_for(Cloud::China).count(), 1);
    assert_eq!(
        verify(trust, &pki).unwrap_err(),
        Error::NoTrustAnchors {
            cloud: Cloud::Public
        }
    );
}

#[test]
fn refuses_files_that_are_not_what_their_folder_says_by_name() {
    let pki = TestPki::azure();
    let issuing = "CN=Test Azure RSA TLS Issuing CA 07,O=Microsoft Corporation";
    let leaf = "CN=metadata.azure.com,O=Microsoft Corporation";
    let cases = [
        (
            "intermediates/empty.pem",
            "no certificate here\n".to_owned(),
            TrustFileReason::NoCertificate,
        ),
        (
            "intermediates/leaf.pem",
            pki.leaf.pem(),
            TrustFileReason::NotCa {
                subject: leaf.into(),
            },
        ),
        (
            "roots/public/issuing.pem",
            pki.intermediates_pem(),
            TrustFileReason::NotSelfSigned {
                subject: issuing.into(),
            },
        ),
    ];
    for (relative, text, reason) in cases {
        let tmp = temp::dir();
        let dir = tmp.path();
        let source = put(dir, relative, &text);
        let err = TrustStore::empty().add_trust_dir(dir).unwrap_err();
        assert_eq!(err, Error::TrustFile { source, reason }, "{relative}");
    }
}
