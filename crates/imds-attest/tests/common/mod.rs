//! What the library's tests on test-PKI documents share: the nonce they carry, their claims,
//! and a trust store trusting their PKI.
// Each test binary uses part of it.
#![allow(dead_code)]

use imds_attest::TrustStore;
use imds_attest_testpki::{claims_json, TestPki, REFERENCE_TIME};

/// The nonce of the test documents.
pub const NONCE: &str = "nonce-1";

/// The claims of a test document: [`NONCE`], created at the reference time.
pub fn content() -> Vec<u8> {
    claims_json(NONCE, REFERENCE_TIME)
}

/// A trust store of `pki`'s root and intermediates.
pub fn trust_for(pki: &TestPki) -> TrustStore {
    TrustStore::from_pem(
        pki.root_pem().as_bytes(),
        pki.intermediates_pem().as_bytes(),
    )
    .unwrap()
}
