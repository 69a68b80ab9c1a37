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
    drop(base64);
    worst_case();
}

// --- Worst case: the costliest documents the limits allow, each verified cold ----------------

/// Mean cost of verifying `input` with a fresh verifier (nothing cached) per run, and the
/// outcome's kind.
fn cold_cost(
    trust: &TrustStore,
    input: &[u8],
    nonce: &str,
    at: time::OffsetDateTime,
) -> (std::time::Duration, &'static str) {
    let run = || {
        Verifier::new(trust.clone(), Policy::default())
            .verify_bytes(input, NonceCheck::Exact(nonce), at)
            .map(|_| ())
    };
    let kind = match run() {
        Ok(()) => "ACCEPTED",
        Err(e) => e.kind().as_str(),
    };
    let start = Instant::now();
    let mut runs = 0u32;
    while runs < 20 || (start.elapsed().as_millis() < 500 && runs < 2_000) {
        let _ = std::hint::black_box(run());
        runs += 1;
    }
    (start.elapsed() / runs, kind)
}

// Bench tooling: a failure here is a broken setup.
#[allow(clippy::indexing_slicing)]
fn worst_case() {
    use imds_attest::{MAX_EMBEDDED_CERTIFICATES, MAX_INTERMEDIATES, MAX_RSA_BITS};
    use imds_attest_testpki::hostile::{
        certificate_authority, public_half, rsa_key_with_exponent, rsa_public_key, LeafSpec,
    };
    use imds_attest_testpki::{
        claims_json, imds_response, key, DocSpec, Issued, KeyKind, OID_ECDSA_SHA256, OID_SHA256,
    };

    println!();
    println!("worst case: cold verification (a fresh Verifier per run) of the costliest documents");
    let nonce = "nonce-1";
    let real = imds_attest_testpki::genuine::named("taskcluster_2025_rsatls07");
    let (genuine, kind) = cold_cost(&TrustStore::builtin(), &real.bytes(), &real.nonce, real.at);
    println!(
        "{:<64} {genuine:>10.3?}  -> {kind}",
        "genuine: taskcluster_2025_rsatls07.json, builtin trust"
    );
    let pki = TestPki::azure();
    let pki_trust = TrustStore::from_pem(
        pki.root_pem().as_bytes(),
        pki.intermediates_pem().as_bytes(),
    )
    .unwrap();
    let shaped = imds_response(&pki.sign(&claims_json(nonce, REFERENCE_TIME)));
    let (genuine_shaped, kind) = cold_cost(&pki_trust, shaped.as_bytes(), nonce, REFERENCE_TIME);
    println!(
        "{:<64} {genuine_shaped:>10.3?}  -> {kind}",
        "genuine-shaped: test PKI, RSA-2048 signer, one issuing CA"
    );

    // Every key RSA-MAX_RSA_BITS with the largest exponent accepted, 2^32 - 1.
    let bits = MAX_RSA_BITS;
    let e = u64::from(u32::MAX);
    let signer_key = rsa_key_with_exponent(bits, e);
    let ca_keys = [
        rsa_key_with_exponent(bits, e),
        rsa_key_with_exponent(bits, e),
    ];
    let root = certificate_authority("Hostile Root", &ca_keys[0], None);
    let depth = usize::try_from(MAX_INTERMEDIATES).unwrap();
    let mut chain: Vec<Issued> = Vec::new();
    for i in 0..=depth {
        let parent = chain.last().unwrap_or(&root);
        let ca = certificate_authority(
            &format!("Hostile CA {i}"),
            &ca_keys[(i + 1) % 2],
            Some(parent),
        );
        chain.push(ca);
    }
    // Only the root is trusted: every intermediate is carried, parsed and checked.
    let trust = TrustStore::from_pem(root.pem().as_bytes(), b"").unwrap();
    let leaf = |issuer: &Issued, key: openssl::pkey::PKey<openssl::pkey::Public>| {
        LeafSpec::imds(key).issue(issuer)
    };
    let longest = &chain[..depth];
    let signer = leaf(longest.last().unwrap(), public_half(&signer_key));
    let decoys: Vec<openssl::x509::X509> = (0..MAX_EMBEDDED_CERTIFICATES)
        .map(|i| {
            certificate_authority(&format!("Hostile Decoy {i}"), &ca_keys[0], Some(&root)).cert
        })
        .collect();
    let embed = |signer: &openssl::x509::X509, intermediates: &[Issued], fill: bool| {
        let mut certs = vec![signer.clone()];
        certs.extend(intermediates.iter().rev().map(|c| c.cert.clone()));
        if fill {
            let room = MAX_EMBEDDED_CERTIFICATES - certs.len();
            certs.extend(decoys.iter().take(room).cloned());
        }
        certs
    };
    let document = |content: &[u8],
                    certs: Vec<openssl::x509::X509>,
                    key: &openssl::pkey::PKey<openssl::pkey::Private>,
                    ecdsa: bool| {
        let mut spec = DocSpec::imds(content);
        spec.embed = Some(certs.clone());
        spec.signing_key = Some(key.clone());
        if ecdsa {
            spec.digest_oid = OID_SHA256;
            spec.signature_oid = OID_ECDSA_SHA256;
        }
        imds_response(&spec.sign(&Issued {
            cert: certs[0].clone(),
            key: key.clone(),
        }))
    };
    let content = claims_json(nonce, REFERENCE_TIME);
    let unrelated = key(KeyKind::Rsa(2048), 7);
    let mut huge = openssl::bn::BigNum::new().unwrap();
    huge.rand(
        i32::try_from(bits).unwrap() - 2,
        openssl::bn::MsbOption::ONE,
        true,
    )
    .unwrap();
    let huge_signer = leaf(
        longest.last().unwrap(),
        rsa_public_key(i32::try_from(bits).unwrap(), &huge),
    );
    let too_large = leaf(
        longest.last().unwrap(),
        rsa_public_key(
            2 * i32::try_from(bits).unwrap(),
            &openssl::bn::BigNum::from_u32(65537).unwrap(),
        ),
    );
    let p384 = key(KeyKind::P384, 0);
    let p384_signer = leaf(longest.last().unwrap(), public_half(&p384));
    let longer = leaf(chain.last().unwrap(), public_half(&signer_key));

    // The largest document: every certificate carried and the content padded so that the IMDS
    // JSON is just under the input limit.
    let limit = imds_attest::DEFAULT_MAX_INPUT_BYTES;
    let padded = |pad: usize| {
        let mut claims: serde_json::Value = serde_json::from_slice(&content).unwrap();
        claims["padding"] = serde_json::Value::String("x".repeat(pad));
        document(
            &serde_json::to_vec(&claims).unwrap(),
            embed(&signer, longest, true),
            &signer_key,
            false,
        )
    };
    let base = padded(0).len();
    let mut pad = (limit - base) * 3 / 4;
    let mut largest = padded(pad);
    while largest.len() > limit {
        pad -= 64;
        largest = padded(pad);
    }

    let bits_s = bits.to_string();
    let cases: Vec<(String, String)> = vec![
        (format!("RSA-{bits_s} e=2^32-1 signer, {depth} carried RSA-{bits_s} intermediates"), document(&content, embed(&signer, longest, false), &signer_key, false)),
        (format!("the same, {MAX_EMBEDDED_CERTIFICATES} carried certificates (decoys RSA-{bits_s})"), document(&content, embed(&signer, longest, true), &signer_key, false)),
        (format!("the same, padded to {} of {limit} bytes", largest.len()), largest.clone()),
        (format!("P-384 signer, {depth} carried intermediates, {MAX_EMBEDDED_CERTIFICATES} certificates"), document(&content, embed(&p384_signer, longest, true), &p384, true)),
        (format!("chain of {} intermediates (one more than allowed)", depth + 1), document(&content, embed(&longer, &chain, false), &signer_key, false)),
        (format!("huge exponent ({} bits), {MAX_EMBEDDED_CERTIFICATES} certificates", bits - 2), document(&content, embed(&huge_signer, longest, true), &unrelated, false)),
        (format!("RSA-{} signer, {MAX_EMBEDDED_CERTIFICATES} certificates", 2 * bits), document(&content, embed(&too_large, longest, true), &unrelated, false)),
    ];
    let mut worst = (std::time::Duration::ZERO, String::new());
    for (name, input) in &cases {
        let (cost, kind) = cold_cost(&trust, input.as_bytes(), nonce, REFERENCE_TIME);
        println!(
            "{name:<64} {cost:>10.3?}  -> {kind}  ({} bytes)",
            input.len()
        );
        if cost > worst.0 {
            worst = (cost, name.clone());
        }
    }
    let ratio = worst.0.as_secs_f64() / genuine.as_secs_f64();
    let shaped_ratio = worst.0.as_secs_f64() / genuine_shaped.as_secs_f64();
    println!(
        "worst: {:.3?} ({}) = {ratio:.1} x the genuine document's cold cost ({genuine:.3?}), \
         {shaped_ratio:.1} x the genuine-shaped one's ({genuine_shaped:.3?})",
        worst.0, worst.1
    );
    println!(
        "target worst <= 10 x genuine cold: {}",
        if ratio <= 10.0 { "met" } else { "MISSED" }
    );
}
