//! The malformed corpus (`testdata/malformed/`, each input with a `.about` beside it) and the
//! hostile shapes too large to check in, generated here: each is rejected with its specific
//! error, never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use imds_attest::{
    AttestedDocument, DerReason, Error, ErrorKind, NonceCheck, Policy, TlvProblem, TrustStore,
    Verifier,
};
use imds_attest_testpki::genuine;
use imds_attest_testpki::{CertSpec, DocSpec, Issued, TestPki, REFERENCE_TIME};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/malformed")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn real_der() -> Vec<u8> {
    std::fs::read(genuine::named("taskcluster_2025_rsatls07").der).unwrap()
}

/// One verdict of `expected.json`: a file, its error kind and a part of the message.
struct Case {
    file: String,
    kind: ErrorKind,
    message: String,
}

/// The cases of one section of `testdata/malformed/expected.json` (`structure`: parsed as
/// given; `content`: signed content, signed here and verified at the test PKI's reference
/// time). The Python tests read the same file.
fn cases(section: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(dir().join("expected.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json[section]
        .as_array()
        .unwrap_or_else(|| panic!("expected.json has no {section} list"))
        .iter()
        .map(|case| Case {
            file: case["file"].as_str().unwrap().to_owned(),
            kind: case["kind"].as_str().unwrap().parse().unwrap(),
            message: case["message"].as_str().unwrap().to_owned(),
        })
        .collect()
}

fn expect(name: &str, result: Result<impl std::fmt::Debug, Error>, kind: ErrorKind, needle: &str) {
    match result {
        Err(e) => {
            assert_eq!(e.kind(), kind, "{name}: {e}");
            assert!(e.to_string().contains(needle), "{name}: {e}");
        }
        Ok(v) => panic!("{name}: accepted: {v:?}"),
    }
}

#[test]
fn every_corpus_file_has_a_readable_source_and_a_test() {
    let mut inputs: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            !n.ends_with(".about")
                && !matches!(n.as_str(), "make.py" | "README.md" | "expected.json")
        })
        .collect();
    inputs.sort();
    let known: Vec<Case> = cases("structure")
        .into_iter()
        .chain(cases("content"))
        .collect();
    for name in &inputs {
        let stem = name.rsplit_once('.').unwrap().0;
        let about = dir().join(format!("{stem}.about"));
        assert!(about.exists(), "{name} has no {stem}.about");
        assert!(
            known.iter().any(|k| k.file == *name),
            "{name} is asserted by no test"
        );
    }
    assert_eq!(inputs.len(), known.len());
}

#[test]
fn rejects_each_malformed_structure_with_its_specific_error() {
    for case in cases("structure") {
        let parsed = AttestedDocument::parse(&read(&case.file));
        expect(&case.file, parsed, case.kind, &case.message);
    }
}

#[test]
fn rejects_each_malformed_signed_content_with_its_specific_error() {
    let pki = TestPki::azure();
    let trust = TrustStore::from_pem(
        pki.root_pem().as_bytes(),
        pki.intermediates_pem().as_bytes(),
    )
    .unwrap();
    let verifier = Verifier::new(trust, Policy::default());
    for case in cases("content") {
        let doc = AttestedDocument::parse(&pki.sign(&read(&case.file))).unwrap();
        let r = verifier.verify(&doc, NonceCheck::Exact("nonce-1"), REFERENCE_TIME);
        expect(&case.file, r, case.kind, &case.message);
    }
}

/// Offsets of every TLV start, content start and end in `der`.
fn boundaries(der: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![(0usize, der.len())];
    while let Some((mut pos, end)) = stack.pop() {
        while pos < end {
            let tag = der[pos];
            let first = der[pos + 1];
            let (header, len) = if first < 0x80 {
                (2, usize::from(first))
            } else {
                let n = usize::from(first & 0x7f);
                (
                    2 + n,
                    der[pos + 2..pos + 2 + n]
                        .iter()
                        .fold(0, |a, b| (a << 8) | usize::from(*b)),
                )
            };
            out.extend([pos, pos + 1, pos + header, pos + header + len]);
            if tag & 0x20 != 0 {
                stack.push((pos + header, pos + header + len));
            }
            pos += header + len;
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[test]
fn rejects_truncation_at_every_structural_boundary() {
    let der = real_der();
    let cuts: Vec<usize> = boundaries(&der)
        .into_iter()
        .filter(|b| *b > 0 && *b < der.len())
        .collect();
    assert!(cuts.len() > 300, "{} boundaries", cuts.len());
    // The walk reads the outermost TLV first: its length claims the whole document.
    let (top_header, top_length) = header(&der);
    for cut in cuts {
        // A one-byte prefix is the ASCII digit '0' to the form detection: parse() calls it
        // base64; the DER entry point must still say why.
        assert!(
            AttestedDocument::parse(&der[..cut]).is_err(),
            "cut at {cut}"
        );
        let problem = if cut < top_header {
            TlvProblem::Truncated
        } else {
            TlvProblem::Overrun {
                length: top_length,
                remaining: cut - top_header,
            }
        };
        match AttestedDocument::from_der(&der[..cut]) {
            Err(e) => assert_eq!(
                e,
                Error::Der {
                    what: "the TLV structure",
                    reason: DerReason::Tlv { offset: 0, problem },
                },
                "cut at {cut}"
            ),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

fn enc(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut out = vec![tag];
    if n < 0x80 {
        out.push(u8::try_from(n).unwrap());
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap());
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// (header length, content length) of the TLV starting `der`.
fn header(der: &[u8]) -> (usize, usize) {
    let first = der[1];
    if first < 0x80 {
        (2, usize::from(first))
    } else {
        let k = usize::from(first & 0x7f);
        (
            2 + k,
            der[2..2 + k]
                .iter()
                .fold(0, |a, b| (a << 8) | usize::from(*b)),
        )
    }
}

fn content(elem: &[u8]) -> &[u8] {
    let (h, n) = header(elem);
    &elem[h..h + n]
}

fn children(der: &[u8]) -> Vec<&[u8]> {
    let (mut pos, mut out) = (0, Vec::new());
    while pos < der.len() {
        let (h, n) = header(&der[pos..]);
        out.push(&der[pos..pos + h + n]);
        pos += h + n;
    }
    out
}

/// The genuine document re-encoded with SignedData field `index` (3: certificates,
/// 4: signerInfos) replaced by `replacement`.
fn with_signed_data_field(index: usize, replacement: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let real = real_der();
    let top = children(content(&real));
    let signed = content(top[1]);
    let mut fields: Vec<Vec<u8>> = children(content(signed))
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    fields[index] = replacement(&fields[index]);
    let rebuilt = enc(0x30, &fields.concat());
    enc(0x30, &[top[0], &enc(0xa0, &rebuilt)].concat())
}

#[test]
fn rebuilding_the_genuine_document_is_exact() {
    assert_eq!(with_signed_data_field(4, <[u8]>::to_vec), real_der());
}

#[test]
fn rejects_a_thousand_signer_infos_without_decoding_them() {
    let der = with_signed_data_field(4, |set| enc(0x31, &content(set).repeat(1000)));
    assert!(der.len() > 250_000);
    assert_eq!(
        AttestedDocument::parse(&der).unwrap_err(),
        Error::InputTooLarge {
            size: der.len(),
            max: imds_attest::DEFAULT_MAX_INPUT_BYTES
        },
        "1000 SignerInfos"
    );
    expect(
        "1000 SignerInfos, raised limit",
        AttestedDocument::parse_with_max_size(&der, 1 << 20),
        ErrorKind::Structure,
        "holds more than 64 elements",
    );
}

#[test]
fn rejects_ten_thousand_embedded_certificates_without_decoding_them() {
    let leaf = std::fs::read(genuine::path("raw/taskcluster_2025_rsatls07.leaf.pem")).unwrap();
    let leaf = openssl::x509::X509::from_pem(&leaf)
        .unwrap()
        .to_der()
        .unwrap();
    let der = with_signed_data_field(3, |_| enc(0xa0, &leaf.repeat(10_000)));
    assert!(der.len() > 10_000_000);
    expect(
        "10000 certificates",
        AttestedDocument::parse_with_max_size(&der, 64 << 20),
        ErrorKind::Structure,
        "holds more than 64 elements",
    );
}

#[test]
fn rejects_certificates_that_issue_each_other_in_a_cycle() {
    // A issues B, B issues (another) A with A's name and key, A issues the signer.
    let a0 = Issued::new(&CertSpec::ca("Cycle CA A", 4), None);
    let b = Issued::new(&CertSpec::ca("Cycle CA B", 5), Some(&a0));
    let a = Issued::new(&CertSpec::ca("Cycle CA A", 4), Some(&b));
    let leaf = Issued::new(&CertSpec::imds_leaf(), Some(&a));
    let spec = DocSpec {
        embed: Some(vec![leaf.cert.clone(), a.cert.clone(), b.cert.clone()]),
        ..DocSpec::imds(&imds_attest_testpki::claims_json("nonce-1", REFERENCE_TIME))
    };
    let der = spec.sign(&leaf);
    let pki = TestPki::azure();
    let mut trust = TrustStore::empty();
    trust
        .add_roots_pem(pki.root_pem().as_bytes(), "root")
        .unwrap();
    let doc = AttestedDocument::parse(&der).unwrap();
    let r = Verifier::new(trust, Policy::default()).verify(
        &doc,
        NonceCheck::Exact("nonce-1"),
        REFERENCE_TIME,
    );
    expect(
        "certificate cycle",
        r,
        ErrorKind::UntrustedIssuer,
        "which does not chain to a public root",
    );
}

#[test]
fn rejects_a_hundred_megabyte_input_before_reading_it() {
    let big = vec![0x30u8; 100 << 20];
    assert_eq!(
        AttestedDocument::parse(&big).unwrap_err(),
        Error::InputTooLarge {
            size: 100 << 20,
            max: imds_attest::DEFAULT_MAX_INPUT_BYTES
        }
    );
}

#[test]
fn binds_the_signer_to_its_own_encoding_among_several_certificates() {
    // Two certificates in either order: the signer found by the sid must be the one whose
    // bytes go to the chain check, whatever order the decoder sorts them in.
    let pem = |path: &str| {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path);
        openssl::x509::X509::from_pem(&std::fs::read(p).unwrap())
            .unwrap()
            .to_der()
            .unwrap()
    };
    let leaf = pem("testdata/real/raw/taskcluster_2025_rsatls07.leaf.pem");
    let ca = pem("certs/public/intermediates/microsoft_azure_rsa_tls_issuing_ca_07_xsign.pem");
    let at = time::macros::datetime!(2025-11-19 12:53:30 UTC);
    for order in [[&leaf, &ca], [&ca, &leaf]] {
        let der =
            with_signed_data_field(3, |_| enc(0xa0, &[order[0].as_slice(), order[1]].concat()));
        let doc = AttestedDocument::parse(&der).unwrap();
        let v = Verifier::new(TrustStore::builtin(), Policy::default())
            .verify(&doc, NonceCheck::Exact("20251119-185330"), at)
            .unwrap();
        assert_eq!(
            v.signer().sha256,
            "4B646E0E765D43A465768A125E5725BA84E2D29EB621C2302CC8556422760813"
        );
    }
}
