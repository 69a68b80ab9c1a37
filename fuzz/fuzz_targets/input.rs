#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = imds_attest::fuzzing::decode_input(data);
});
