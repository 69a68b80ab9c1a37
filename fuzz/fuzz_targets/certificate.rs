#![no_main]
// A certificate as DER (signer facts and names) and as PEM (a trust file).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = imds_attest::fuzzing::signer_certificate(data);
    let _ = imds_attest::TrustStore::empty().add_roots_pem(data, "fuzz");
});
