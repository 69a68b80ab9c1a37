#![no_main]
use std::sync::OnceLock;

use imds_attest::{AttestedDocument, NonceCheck, Policy, TrustStore, Verifier};

// The built-in trust at the time the 2025 genuine document verifies, so that mutations of it
// reach every check.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    let verifier = VERIFIER.get_or_init(|| Verifier::new(TrustStore::builtin(), Policy::default()));
    if let Ok(doc) = AttestedDocument::parse(data) {
        let at = time::macros::datetime!(2025-11-19 12:53:30 UTC);
        let _ = verifier.verify(&doc, NonceCheck::Exact("20251119-185330"), at);
    }
});
