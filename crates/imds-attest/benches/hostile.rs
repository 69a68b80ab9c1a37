//! How long and how much memory rejecting each hostile input takes: every file of
//! `testdata/malformed/` and 100 MB inputs. Prints one line per case; run with
//! `cargo bench -p imds-attest --bench hostile`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::path::PathBuf;
use std::time::Instant;

use imds_attest::{AttestedDocument, NonceCheck, Policy, TrustStore, Verifier};
use imds_attest_testpki::{TestPki, REFERENCE_TIME};

/// Peak resident memory (VmHWM) in KiB since the last reset.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resets the peak to the current resident size (Linux: write 5 to clear_refs).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Parses `input` with limit `max`, or for signed content, signs it with the test PKI and
/// verifies it, as a licence server would.
fn measure(name: &str, input: &[u8], max: usize) {
    measure_with(name, input.len(), || {
        AttestedDocument::parse_with_max_size(input, max).map(|_| ())
    });
}

fn measure_signed_content(name: &str, content: &[u8], pki: &TestPki, verifier: &Verifier) {
    let der = pki.sign(content);
    measure_with(name, content.len(), || {
        let doc = AttestedDocument::parse(&der)?;
        verifier
            .verify(&doc, NonceCheck::Exact("nonce-1"), REFERENCE_TIME)
            .map(|_| ())
    });
}

fn measure_with(name: &str, len: usize, run: impl Fn() -> Result<(), imds_attest::Error>) {
    reset_peak();
    let before = peak_kib();
    let start = Instant::now();
    let mut result = None;
    let mut runs = 0u32;
    while runs == 0 || (start.elapsed().as_millis() < 200 && runs < 10_000) {
        result = Some(run());
        runs += 1;
    }
    let per_run = start.elapsed() / runs;
    let kind = match result {
        Some(Err(e)) => e.kind().as_str(),
        Some(Ok(_)) => "ACCEPTED",
        None => "none",
    };
    println!(
        "{name:<44} {:>11} bytes  {:>12.3?}/run  peak +{:>7} KiB  -> {kind}",
        len,
        per_run,
        peak_kib().saturating_sub(before)
    );
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/malformed");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            !matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("about" | "py" | "md")
            )
        })
        .collect();
    files.sort();
    println!(
        "hostile inputs (default limit {} bytes unless noted)",
        imds_attest::DEFAULT_MAX_INPUT_BYTES
    );
    let pki = TestPki::azure();
    let trust = TrustStore::from_pem(
        pki.root_pem().as_bytes(),
        pki.intermediates_pem().as_bytes(),
    )
    .unwrap();
    let verifier = Verifier::new(trust, Policy::default());
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        if name.starts_with("content-") {
            measure_signed_content(
                &format!("{name} (signed, verified)"),
                &bytes,
                &pki,
                &verifier,
            );
        } else {
            measure(&name, &bytes, imds_attest::DEFAULT_MAX_INPUT_BYTES);
        }
    }
    let hundred_mb = 100 << 20;
    let zeros = vec![0u8; hundred_mb];
    measure(
        "100 MB of zero bytes",
        &zeros,
        imds_attest::DEFAULT_MAX_INPUT_BYTES,
    );
    measure("100 MB of zero bytes, limit 200 MB", &zeros, 200 << 20);
    drop(zeros);
    let mut tlvs = vec![0x30, 0x84];
    tlvs.extend_from_slice(&u32::try_from(hundred_mb).unwrap().to_be_bytes());
    tlvs.extend([0x05, 0x00].repeat(hundred_mb / 2));
    measure("100 MB SEQUENCE of NULLs, limit 200 MB", &tlvs, 200 << 20);
    drop(tlvs);
    let base64 = vec![b'A'; hundred_mb];
    measure("100 MB of base64 text, limit 200 MB", &base64, 200 << 20);
}
