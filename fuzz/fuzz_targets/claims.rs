#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = imds_attest::fuzzing::parse_claims(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = imds_attest::parse_timestamp("createdOn", text);
    }
});
