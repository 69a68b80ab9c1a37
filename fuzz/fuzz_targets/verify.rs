#![no_main]
use std::sync::OnceLock;

use imds_attest::{AttestedDocument, NonceCheck, Policy, TrustStore, Verifier};

const GENUINE: &[u8] = include_bytes!("../../testdata/real/raw/taskcluster_2025_rsatls07.der");

// The built-in trust at the time the 2025 genuine document verifies, so that mutations of it
// reach every check. Two verifiers: one that has verified the genuine document (so its
// signer, issuer and outline are remembered) and takes the bytes through verify_bytes, and
// one that remembers nothing and parses first. They must agree, error for error.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static WARM: OnceLock<Verifier> = OnceLock::new();
    static COLD: OnceLock<Verifier> = OnceLock::new();
    let at = time::macros::datetime!(2025-11-19 12:53:30 UTC);
    let nonce = NonceCheck::Exact("20251119-185330");
    let warm = WARM.get_or_init(|| {
        let v = Verifier::new(TrustStore::builtin(), Policy::default());
        assert!(v.verify_bytes(GENUINE, nonce, at).is_ok());
        v
    });
    let cold = COLD
        .get_or_init(|| Verifier::with_cache_capacity(TrustStore::builtin(), Policy::default(), 0));
    let got = warm.verify_bytes(data, nonce, at);
    let expected = AttestedDocument::parse(data).and_then(|doc| cold.verify(&doc, nonce, at));
    assert_eq!(got, expected);
});
