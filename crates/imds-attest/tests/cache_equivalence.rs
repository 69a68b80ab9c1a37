//! The signer cache must never change a verdict: every accept and reject case goes through a
//! verifier that remembers nothing and through one that has already proven the signer, and
//! both must return the same result, error for error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;

use common::{trust_for, NONCE};
use imds_attest::{
    AttestedDocument, Error, NonceCheck, Policy, TrustStore, VerifiedDocument, Verifier,
};
use imds_attest_testpki::genuine;
use imds_attest_testpki::{
    claims_json, key, CertSpec, DocSpec, Issued, KeyKind, SignedAttrs, TestPki, OID_RSA_PSS,
    OID_SHA1, REFERENCE_TIME,
};
use openssl::hash::MessageDigest;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

struct Case {
    name: String,
    trust: TrustStore,
    policy: Policy,
    /// Documents verified first, to put their signer in the cache.
    warmup: Vec<(Vec<u8>, OffsetDateTime)>,
    der: Vec<u8>,
    nonce: String,
    at: OffsetDateTime,
}

fn pki_cases(name: &str, pki: &TestPki, out: &mut Vec<Case>) {
    let content = claims_json(NONCE, REFERENCE_TIME);
    let good = pki.sign(&content);
    let mut case = |label: &str, der: Vec<u8>, nonce: &str, at: OffsetDateTime, policy: Policy| {
        out.push(Case {
            name: format!("{name}: {label}"),
            trust: trust_for(pki),
            policy,
            warmup: vec![(good.clone(), REFERENCE_TIME)],
            der,
            nonce: nonce.into(),
            at,
        });
    };
    let p = Policy::default;
    let spec = || DocSpec::imds(&content);
    case("valid", good.clone(), NONCE, REFERENCE_TIME, p());
    case(
        "nonce off by one",
        good.clone(),
        "nonce-2",
        REFERENCE_TIME,
        p(),
    );
    case(
        "document expired",
        good.clone(),
        NONCE,
        REFERENCE_TIME + Duration::hours(7),
        p(),
    );
    case(
        "document from the future",
        good.clone(),
        NONCE,
        REFERENCE_TIME - Duration::hours(1),
        p(),
    );
    case(
        "too old",
        good.clone(),
        NONCE,
        REFERENCE_TIME + Duration::hours(1),
        p().with_max_age(Duration::minutes(5)),
    );
    case(
        "cloud not allowed",
        good.clone(),
        NONCE,
        REFERENCE_TIME,
        p().with_clouds(&[imds_attest::Cloud::China]),
    );
    // The signer's certificate expired between the warm-up and this verification.
    case(
        "signer expired since",
        good.clone(),
        NONCE,
        REFERENCE_TIME + Duration::days(181),
        p(),
    );
    // The edges of the signer's validity, to the second: OpenSSL counts notBefore in and
    // notAfter out, and a remembered chain must do the same.
    let leaf = CertSpec::imds_leaf();
    let lenient = || p().with_skew(Duration::days(400));
    for (label, at) in [
        ("at the signer's notAfter", leaf.not_after),
        (
            "a second before the signer's notAfter",
            leaf.not_after - Duration::SECOND,
        ),
        ("at the signer's notBefore", leaf.not_before),
        (
            "a second before the signer's notBefore",
            leaf.not_before - Duration::SECOND,
        ),
    ] {
        case(label, good.clone(), NONCE, at, lenient());
    }
    case(
        "signer not yet valid then",
        good.clone(),
        NONCE,
        REFERENCE_TIME - Duration::days(31),
        p(),
    );
    let mut tampered = good.clone();
    let at = tampered
        .windows(NONCE.len())
        .position(|w| w == NONCE.as_bytes())
        .unwrap();
    tampered[at] ^= 1;
    case("tampered content", tampered, NONCE, REFERENCE_TIME, p());
    case(
        "other key",
        DocSpec {
            signing_key: Some(key(KeyKind::Rsa(2048), 5)),
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    case(
        "signed attributes",
        DocSpec {
            signed_attrs: SignedAttrs::Valid,
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    case(
        "wrong digest attribute",
        DocSpec {
            signed_attrs: SignedAttrs::WrongDigest,
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    case(
        "sid by SKI",
        DocSpec {
            sid_by_ski: true,
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    case(
        "PSS OID",
        DocSpec {
            signature_oid: OID_RSA_PSS,
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    case(
        "SHA-1 digest",
        DocSpec {
            digest_oid: OID_SHA1,
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    case(
        "ECDSA OID with an RSA key",
        DocSpec {
            signature_oid: imds_attest_testpki::OID_ECDSA_SHA256,
            digest_oid: imds_attest_testpki::OID_SHA256,
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    case(
        "ECDSA OID beside the RSA-combined digest OID",
        DocSpec {
            signature_oid: imds_attest_testpki::OID_ECDSA_SHA256,
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    case(
        "two signers",
        DocSpec {
            second_signer: true,
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    case(
        "detached",
        DocSpec {
            detached: true,
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    case(
        "trailing bytes",
        DocSpec {
            trailing: vec![0],
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    case(
        "carried intermediate",
        DocSpec {
            embed: Some(vec![
                pki.leaf.cert.clone(),
                pki.intermediates[0].cert.clone(),
            ]),
            ..spec()
        }
        .sign(&pki.leaf),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    let dup = String::from_utf8(content.clone()).unwrap().replacen(
        "\"nonce\":",
        "\"nonce\":\"x\",\"nonce\":",
        1,
    );
    case(
        "duplicate key",
        pki.sign(dup.as_bytes()),
        NONCE,
        REFERENCE_TIME,
        p(),
    );
    // Same signer, but the chain needs the intermediate the warm-up did not carry.
    let mut roots_only = TrustStore::empty();
    roots_only
        .add_roots_pem(pki.root_pem().as_bytes(), "root")
        .unwrap();
    let carried = DocSpec {
        embed: Some(vec![
            pki.leaf.cert.clone(),
            pki.intermediates[0].cert.clone(),
        ]),
        ..spec()
    }
    .sign(&pki.leaf);
    out.push(Case {
        name: format!("{name}: carried intermediate proven, then a document without it"),
        trust: roots_only,
        policy: p(),
        warmup: vec![(carried, REFERENCE_TIME)],
        der: good,
        nonce: NONCE.into(),
        at: REFERENCE_TIME,
    });
}

fn leaf_cases(out: &mut Vec<Case>) {
    let content = claims_json(NONCE, REFERENCE_TIME);
    let leaves: Vec<(&str, CertSpec)> = vec![
        (
            "label boundary",
            CertSpec {
                san: Some(vec!["evilmetadata.azure.com".into()]),
                ..CertSpec::imds_leaf()
            },
        ),
        (
            "SAN wrong, CN right",
            CertSpec {
                san: Some(vec!["www.example.com".into()]),
                ..CertSpec::imds_leaf()
            },
        ),
        (
            "CN only",
            CertSpec {
                san: None,
                ..CertSpec::imds_leaf()
            },
        ),
        (
            "usgov",
            CertSpec {
                san: Some(vec!["x.metadata.azure.us".into()]),
                ..CertSpec::imds_leaf()
            },
        ),
        (
            "RSA-1024",
            CertSpec {
                key: KeyKind::Rsa(1024),
                ..CertSpec::imds_leaf()
            },
        ),
        (
            "SHA-1 certificate",
            CertSpec {
                hash: MessageDigest::sha1,
                ..CertSpec::imds_leaf()
            },
        ),
    ];
    for (name, leaf) in leaves {
        let pki = TestPki::with_leaf(&["Test CA"], &leaf, 0);
        let der = pki.sign(&content);
        out.push(Case {
            name: name.into(),
            trust: trust_for(&pki),
            policy: Policy::default(),
            warmup: vec![(der.clone(), REFERENCE_TIME)],
            der,
            nonce: NONCE.into(),
            at: REFERENCE_TIME,
        });
    }
    let root = Issued::new(&CertSpec::ca("Root", 0), None);
    let not_ca = Issued::new(
        &CertSpec {
            ca: false,
            ..CertSpec::ca("Not a CA", 1)
        },
        Some(&root),
    );
    let leaf = Issued::new(&CertSpec::imds_leaf(), Some(&not_ca));
    let pki = TestPki {
        root,
        intermediates: vec![not_ca],
        leaf,
    };
    out.push(Case {
        name: "non-CA issuer".into(),
        trust: trust_for(&pki),
        policy: Policy::default(),
        warmup: vec![],
        der: pki.sign(&content),
        nonce: NONCE.into(),
        at: REFERENCE_TIME,
    });
}

fn real_cases(out: &mut Vec<Case>) {
    for g in genuine::all() {
        let der = g.bytes();
        for (label, when) in [
            ("at its time", g.at),
            (
                "today",
                OffsetDateTime::parse("2026-11-21T00:00:00Z", &Rfc3339).unwrap(),
            ),
        ] {
            out.push(Case {
                name: format!("{} {label}", g.name),
                trust: TrustStore::builtin(),
                policy: Policy::default(),
                warmup: vec![(der.clone(), g.at)],
                der: der.clone(),
                nonce: g.nonce.clone(),
                at: when,
            });
        }
    }
}

fn run(
    v: &Verifier,
    der: &[u8],
    nonce: &str,
    at: OffsetDateTime,
) -> Result<VerifiedDocument, Error> {
    let doc = AttestedDocument::parse(der)?;
    v.verify(&doc, NonceCheck::Exact(nonce), at)
}

#[test]
fn cached_and_uncached_verifiers_return_identical_results() {
    let mut cases = Vec::new();
    pki_cases("2-level", &TestPki::azure(), &mut cases);
    pki_cases("G2", &TestPki::azure_g2(), &mut cases);
    leaf_cases(&mut cases);
    real_cases(&mut cases);
    let (mut accepted, mut rejected) = (0, 0);
    for case in cases {
        let uncached = Verifier::with_cache_capacity(case.trust.clone(), case.policy.clone(), 0);
        let cached = Verifier::new(case.trust.clone(), case.policy.clone());
        for (der, at) in &case.warmup {
            let _ = run(&cached, der, NONCE, *at);
        }
        let expected = run(&uncached, &case.der, &case.nonce, case.at);
        // A new verifier on the same store: it knows neither the signer nor its issuer (what a
        // verifier proved is its own, not the store's).
        let fresh = Verifier::new(case.trust.clone(), case.policy.clone());
        let got = fresh.verify_bytes(&case.der, NonceCheck::Exact(&case.nonce), case.at);
        assert_eq!(got, expected, "{} (new verifier, same store)", case.name);
        for attempt in 1..=2 {
            let got = run(&cached, &case.der, &case.nonce, case.at);
            assert_eq!(got, expected, "{} (attempt {attempt})", case.name);
            let got = cached.verify_bytes(&case.der, NonceCheck::Exact(&case.nonce), case.at);
            assert_eq!(
                got, expected,
                "{} (verify_bytes, attempt {attempt})",
                case.name
            );
        }
        if expected.is_ok() {
            accepted += 1
        } else {
            rejected += 1
        }
    }
    assert!(
        accepted >= 10 && rejected >= 30,
        "{accepted} accepted, {rejected} rejected"
    );
}

#[test]
fn an_expired_signer_is_rejected_after_being_remembered() {
    let pki = TestPki::azure();
    let der = pki.sign(&claims_json(NONCE, REFERENCE_TIME));
    let v = Verifier::new(
        trust_for(&pki),
        Policy::default().with_skew(Duration::days(400)),
    );
    run(&v, &der, NONCE, REFERENCE_TIME).unwrap();
    let later = REFERENCE_TIME + Duration::days(181);
    match run(&v, &der, NONCE, later) {
        Err(Error::CertificateExpired { subject, at, .. }) => {
            assert_eq!(subject, "CN=metadata.azure.com,O=Microsoft Corporation");
            assert_eq!(at, later);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_verifier_is_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Verifier>();
    let pki = TestPki::azure();
    let der = pki.sign(&claims_json(NONCE, REFERENCE_TIME));
    let v = Verifier::new(trust_for(&pki), Policy::default());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    assert_eq!(
                        run(&v, &der, NONCE, REFERENCE_TIME).unwrap().claims().nonce,
                        NONCE
                    );
                }
            });
        }
    });
}

#[test]
fn a_cache_smaller_than_the_signers_keeps_verifying_through_evictions() {
    let pki = TestPki::azure();
    let content = claims_json(NONCE, REFERENCE_TIME);
    let v = Verifier::with_cache_capacity(trust_for(&pki), Policy::default(), 4);
    assert_eq!(v.cache_capacity(), 4);
    // Twenty signers through a cache of four: evictions must not break anything.
    let docs: Vec<Vec<u8>> = (0..20)
        .map(|_| {
            DocSpec::imds(&content).sign(&Issued::new(
                &CertSpec::imds_leaf(),
                Some(&pki.intermediates[0]),
            ))
        })
        .collect();
    for _ in 0..3 {
        for der in &docs {
            run(&v, der, NONCE, REFERENCE_TIME).unwrap();
        }
    }
}

/// The genuine document the malformed files are made from, with its nonce and a time at which
/// it verifies.
fn genuine() -> (Vec<u8>, String, OffsetDateTime) {
    let g = genuine::named("taskcluster_2025_rsatls07");
    (std::fs::read(&g.der).unwrap(), g.nonce, g.at)
}

/// verify_bytes skips decoding a certificate it has proven before: on a verifier that has
/// proven the genuine document's signer, every malformed file and every one-bit change of the
/// genuine document (most keep that certificate) must give what parse then verify gives on a
/// verifier that remembers nothing.
#[test]
fn verify_bytes_on_a_warm_verifier_agrees_with_parse_then_verify() {
    let (der, nonce, at) = genuine();
    let warm = Verifier::new(TrustStore::builtin(), Policy::default());
    let cold = Verifier::with_cache_capacity(TrustStore::builtin(), Policy::default(), 0);
    warm.verify_bytes(&der, NonceCheck::Exact(&nonce), at)
        .unwrap();
    let check = |label: &str, input: &[u8]| {
        let expected = run(&cold, input, &nonce, at);
        let got = warm.verify_bytes(input, NonceCheck::Exact(&nonce), at);
        assert_eq!(got, expected, "{label}");
        expected.is_ok()
    };
    assert!(check("the genuine document", &der));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/malformed");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if matches!(ext, "about" | "py" | "md") {
            continue;
        }
        assert!(!check(
            &path.display().to_string(),
            &std::fs::read(&path).unwrap()
        ));
        files += 1;
    }
    assert!(files >= 20, "{files} malformed files");
    // Inside the certificate (past its header) a change makes another signer, which both
    // verifiers meet for the first time: one byte in seven there is enough to show that the
    // warm verifier does not take such a document for one it knows.
    let cert = openssl::pkcs7::Pkcs7::from_der(&der)
        .unwrap()
        .signed()
        .unwrap()
        .certificates()
        .unwrap()
        .get(0)
        .unwrap()
        .to_der()
        .unwrap();
    let start = der.windows(cert.len()).position(|w| w == cert).unwrap();
    let inside = start + 4..start + cert.len();
    let mut accepted = 0;
    for i in (0..der.len()).filter(|i| !inside.contains(i) || i % 7 == 0) {
        for bit in [0x01, 0x80] {
            let mut changed = der.clone();
            changed[i] ^= bit;
            if check(&format!("byte {i} ^ {bit:#04x}"), &changed) {
                accepted += 1;
            }
        }
    }
    // A flipped bit is accepted only where DER does not look (none of them here).
    assert_eq!(accepted, 0);
}

/// A new signer from an issuer the verifier has proven is checked without OpenSSL's chain
/// building when that is sound, and must get exactly OpenSSL's verdict: new leaves of every
/// kind (plain, expired, at its edges, weak, unusual, a CA, with a broken signature, long after
/// the issuer expired), each a certificate of its own so that no signer is remembered, through
/// the taught verifier itself, against a verifier that builds every chain with OpenSSL.
#[test]
fn new_signers_under_a_proven_issuer_get_the_verdict_openssl_gives() {
    let content = claims_json(NONCE, REFERENCE_TIME);
    let lenient = Policy::default().with_skew(Duration::days(3650));
    for (shape, pki) in [("2-level", TestPki::azure()), ("G2", TestPki::azure_g2())] {
        let trust = trust_for(&pki);
        let teacher = Verifier::new(trust.clone(), lenient.clone());
        teacher
            .verify_bytes(
                &pki.sign(&content),
                NonceCheck::Exact(NONCE),
                REFERENCE_TIME,
            )
            .unwrap();
        assert_eq!(teacher.proven_issuers(), 1, "{shape}");
        let reference = Verifier::with_cache_capacity(trust_for(&pki), lenient.clone(), 0);
        let issuer = pki.intermediates.last().unwrap();
        let leaf = CertSpec::imds_leaf;
        let years = |n: i64| Duration::days(365 * n);
        let variants: Vec<(&str, CertSpec, OffsetDateTime)> = vec![
            ("plain", leaf(), REFERENCE_TIME),
            (
                "plain, a day later",
                leaf(),
                REFERENCE_TIME + Duration::days(1),
            ),
            (
                "expired",
                CertSpec {
                    not_after: REFERENCE_TIME - Duration::days(1),
                    ..leaf()
                },
                REFERENCE_TIME,
            ),
            (
                "not yet valid",
                CertSpec {
                    not_before: REFERENCE_TIME + Duration::days(1),
                    ..leaf()
                },
                REFERENCE_TIME,
            ),
            (
                "at its notAfter",
                CertSpec {
                    not_after: REFERENCE_TIME,
                    ..leaf()
                },
                REFERENCE_TIME,
            ),
            (
                "at its notBefore",
                CertSpec {
                    not_before: REFERENCE_TIME,
                    ..leaf()
                },
                REFERENCE_TIME,
            ),
            (
                "SHA-1 signed",
                CertSpec {
                    hash: MessageDigest::sha1,
                    ..leaf()
                },
                REFERENCE_TIME,
            ),
            (
                "SHA-256 signed",
                CertSpec {
                    hash: MessageDigest::sha256,
                    ..leaf()
                },
                REFERENCE_TIME,
            ),
            (
                "CN only",
                CertSpec {
                    san: None,
                    ..leaf()
                },
                REFERENCE_TIME,
            ),
            (
                "wrong SAN",
                CertSpec {
                    san: Some(vec!["www.example.com".into()]),
                    ..leaf()
                },
                REFERENCE_TIME,
            ),
            ("a CA", CertSpec { ca: true, ..leaf() }, REFERENCE_TIME),
            (
                "P-256 key",
                CertSpec {
                    key: KeyKind::P256,
                    ..leaf()
                },
                REFERENCE_TIME,
            ),
            (
                "RSA-1024 key",
                CertSpec {
                    key: KeyKind::Rsa(1024),
                    ..leaf()
                },
                REFERENCE_TIME,
            ),
            (
                "valid for ten years, verified after its issuer expired",
                CertSpec {
                    not_after: REFERENCE_TIME + years(10),
                    ..leaf()
                },
                REFERENCE_TIME + years(5),
            ),
        ];
        let mut cases: Vec<(String, Vec<u8>, OffsetDateTime)> = variants
            .into_iter()
            .map(|(label, spec, at)| {
                let signer = Issued::new(&spec, Some(issuer));
                let mut doc = DocSpec::imds(&content);
                if spec.key == KeyKind::P256 {
                    doc.signature_oid = imds_attest_testpki::OID_ECDSA_SHA256;
                    doc.digest_oid = imds_attest_testpki::OID_SHA256;
                }
                (label.to_owned(), doc.sign(&signer), at)
            })
            .collect();
        // A leaf whose certificate signature is broken: same issuer name and key identifier.
        let good = Issued::new(&leaf(), Some(issuer));
        let mut der = good.cert.to_der().unwrap();
        let last = der.len() - 1;
        der[last] ^= 1;
        let broken = Issued {
            cert: openssl::x509::X509::from_der(&der).unwrap(),
            key: good.key.clone(),
        };
        cases.push((
            "broken certificate signature".into(),
            DocSpec::imds(&content).sign(&broken),
            REFERENCE_TIME,
        ));
        // Every case is signed by a certificate of its own: the teacher meets each signer for
        // the first time, and only its proof of the issuer can spare the chain build.
        let mut leaves: Vec<Vec<u8>> = cases
            .iter()
            .map(|(_, der, _)| {
                openssl::pkcs7::Pkcs7::from_der(der)
                    .unwrap()
                    .signed()
                    .unwrap()
                    .certificates()
                    .unwrap()
                    .get(0)
                    .unwrap()
                    .to_der()
                    .unwrap()
            })
            .collect();
        leaves.sort();
        leaves.dedup();
        assert_eq!(leaves.len(), cases.len(), "{shape}: a leaf is shared");
        let mut accepted = Vec::new();
        for (label, der, at) in &cases {
            let expected = reference.verify_bytes(der, NonceCheck::Exact(NONCE), *at);
            let got = teacher.verify_bytes(der, NonceCheck::Exact(NONCE), *at);
            assert_eq!(got, expected, "{shape}: {label}");
            if expected.is_ok() {
                accepted.push(label.as_str());
            }
        }
        // A CA leaf is refused by the signer profile before any chain is built.
        assert_eq!(
            accepted,
            [
                "plain",
                "plain, a day later",
                "at its notBefore",
                "SHA-256 signed",
                "CN only",
                "P-256 key"
            ],
            "{shape}"
        );
        // The issuer proven once more, for the SHA-256 signed leaf: OpenSSL picks an issuer
        // by the signature algorithm too, so a proof holds for one algorithm.
        assert_eq!(teacher.proven_issuers(), 2, "{shape}");
    }
}
