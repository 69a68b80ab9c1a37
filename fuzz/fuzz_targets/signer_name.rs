#![no_main]
use imds_attest::Cloud;

// The matcher must agree with its definition: the domain itself, or a subdomain of it at a
// label boundary, ASCII case-insensitively.
libfuzzer_sys::fuzz_target!(|name: &str| {
    for cloud in Cloud::ALL {
        let lower = name.to_ascii_lowercase();
        let domain = cloud.domain();
        let expected = lower == domain
            || (lower.len() > domain.len() + 1 && lower.ends_with(&format!(".{domain}")));
        assert_eq!(cloud.matches(name), expected, "{name:?} vs {domain}");
    }
});
