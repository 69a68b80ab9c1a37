//! The hardening of the verifier, one test per rule, each a case the code before the hardening
//! (b194480) got wrong: it panicked, or accepted the document, or refused it for another
//! reason. Every case goes through `verify_bytes` on a fresh verifier, the same verifier again
//! (warm), and a verifier that caches nothing; the three must agree.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{content, trust_for, NONCE};
use imds_attest::{
    AlgorithmReason, Cloud, Error, KeyReason, NameReason, NonceCheck, Policy, ProfileReason,
    SignedAttributesReason, TrustStore, VerifiedDocument, Verifier, MAX_RSA_BITS,
};
use imds_attest_testpki::genuine;
use imds_attest_testpki::hostile::{
    document_signed_by, public_half, rsa_key_with_exponent, rsa_public_key,
    signed_attributes_document, AttributeOrder, LeafSpec, SignedOver, Usage,
};
use imds_attest_testpki::{
    imds_response, key, CertSpec, DocSpec, KeyKind, TestPki, OID_ECDSA_SHA256, OID_RSA_ENCRYPTION,
    OID_SHA256, OID_SHA256_WITH_RSA, REFERENCE_TIME,
};
use openssl::bn::BigNum;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const SIGNER: &str = "CN=metadata.azure.com,O=Microsoft Corporation";

/// The result of verifying `input`, the same through a fresh verifier, that verifier again,
/// and a verifier without a cache.
fn check_with(
    trust: &TrustStore,
    policy: &Policy,
    input: &[u8],
    nonce: &str,
    at: OffsetDateTime,
) -> Result<VerifiedDocument, Error> {
    let nonce = NonceCheck::Exact(nonce);
    let fresh = Verifier::new(trust.clone(), policy.clone());
    let cold = fresh.verify_bytes(input, nonce, at);
    let warm = fresh.verify_bytes(input, nonce, at);
    let uncached = Verifier::with_cache_capacity(trust.clone(), policy.clone(), 0)
        .verify_bytes(input, nonce, at);
    assert_eq!(cold, warm, "cold and warm verification disagree");
    assert_eq!(cold, uncached, "cached and uncached verification disagree");
    cold
}

fn check(pki: &TestPki, der: &[u8]) -> Result<VerifiedDocument, Error> {
    check_with(
        &trust_for(pki),
        &Policy::default(),
        der,
        NONCE,
        REFERENCE_TIME,
    )
}

/// The Azure-shaped test PKI, its leaf on key pool slot 3.
fn pki() -> TestPki {
    TestPki::azure()
}

/// A document signed by a leaf made by `spec` under `pki`'s issuing CA, with `signing_key`.
fn hostile_document(
    pki: &TestPki,
    spec: &LeafSpec,
    signing_key: &openssl::pkey::PKey<openssl::pkey::Private>,
) -> Vec<u8> {
    let cert = spec.issue(pki.intermediates.last().unwrap());
    document_signed_by(&content(), &cert, signing_key)
}

/// A validly signed document whose leaf has `pki`'s leaf key and the profile `edit` makes.
fn leaf_profile_document(pki: &TestPki, edit: impl FnOnce(&mut LeafSpec)) -> Vec<u8> {
    let mut spec = LeafSpec::imds(public_half(&pki.leaf.key));
    edit(&mut spec);
    hostile_document(pki, &spec, &pki.leaf.key)
}

// --- 1. Time arithmetic -------------------------------------------------------------------

#[test]
fn a_maximal_skew_tolerates_every_document_time() {
    let pki = pki();
    let policy = Policy::default().with_skew(Duration::MAX);
    let der = pki.sign(&content());
    let verified = check_with(&trust_for(&pki), &policy, &der, NONCE, REFERENCE_TIME).unwrap();
    assert_eq!(verified.claims().created_on, REFERENCE_TIME);
}

#[test]
fn verification_times_at_the_ends_of_the_calendar_never_panic() {
    let pki = pki();
    let trust = trust_for(&pki);
    let der = pki.sign(&content());
    let ends = [
        datetime!(9999-12-31 23:58:00 UTC),
        datetime!(9999-12-31 23:59:59.999_999_999 UTC),
        datetime!(-9999-01-01 00:00:00 UTC),
    ];
    let mut policies = Vec::new();
    for skew in [Duration::seconds(300), Duration::MAX, Duration::MIN] {
        let base = Policy::default().with_skew(skew);
        policies.push(base.clone());
        for max_age in [Duration::MAX, Duration::ZERO, Duration::MIN] {
            policies.push(base.clone().with_max_age(max_age));
        }
    }
    for at in ends.into_iter().chain([REFERENCE_TIME]) {
        for policy in &policies {
            // An error or a success, the same on every path, and no panic.
            let result = check_with(&trust, policy, &der, NONCE, at);
            if at == REFERENCE_TIME {
                result.unwrap_or_else(|e| panic!("{policy:?}: {e}"));
            }
        }
    }
}

// --- 2. Signed attributes -----------------------------------------------------------------

#[test]
fn signed_attributes_are_verified_as_carried_and_only_in_der_order() {
    let pki = pki();
    let doc = |order, over| signed_attributes_document(&content(), &pki.leaf, order, over);
    let not_der = Err(Error::SignedAttributes {
        reason: SignedAttributesReason::NotDerOrder,
    });
    assert_eq!(
        check(&pki, &doc(AttributeOrder::Reversed, SignedOver::Carried)),
        not_der
    );
    // The old verifier re-encoded the attributes sorted and accepted this one.
    assert_eq!(
        check(&pki, &doc(AttributeOrder::Reversed, SignedOver::Sorted)),
        not_der
    );
    check(&pki, &doc(AttributeOrder::Der, SignedOver::Carried)).unwrap();
}

// --- 3. RSA key bounds --------------------------------------------------------------------

#[test]
fn rsa_exponent_must_be_odd_and_from_3_to_2_pow_32_minus_1() {
    let pki = pki();
    // Signed by an unrelated key: the exponent is refused before any signature check.
    let unrelated = key(KeyKind::Rsa(2048), 7);
    let refused = |bits: i32, e: BigNum| {
        let spec = LeafSpec::imds(rsa_public_key(bits, &e));
        check(&pki, &hostile_document(&pki, &spec, &unrelated))
    };
    let weak = |exponent: String| {
        Err(Error::WeakKey {
            subject: SIGNER.into(),
            reason: KeyReason::RsaExponent { exponent },
        })
    };
    for e in [1u64, 65536, (1 << 32) + 1, 1 << 40] {
        let bn = BigNum::from_slice(&e.to_be_bytes()).unwrap();
        assert_eq!(refused(2048, bn), weak(e.to_string()), "exponent {e}");
    }
    let mut huge = BigNum::new().unwrap();
    huge.rand(3070, openssl::bn::MsbOption::ONE, true).unwrap();
    let digits = huge.to_dec_str().unwrap().to_string();
    let abbreviated = format!(
        "{}...{} ({} digits)",
        &digits[..12],
        &digits[digits.len() - 6..],
        digits.len()
    );
    assert_eq!(refused(3072, huge), weak(abbreviated));

    // Odd exponents in range are accepted, as far as the key goes: fully signed documents.
    for e in [3, 65537, u64::from(u32::MAX)] {
        let signer = rsa_key_with_exponent(2048, e);
        let spec = LeafSpec::imds(public_half(&signer));
        check(&pki, &hostile_document(&pki, &spec, &signer))
            .unwrap_or_else(|err| panic!("exponent {e}: {err}"));
    }
}

#[test]
fn rsa_modulus_must_not_exceed_max_rsa_bits() {
    assert_eq!(MAX_RSA_BITS, 4096);
    let pki = pki();
    let signer = rsa_key_with_exponent(4096, 65537);
    let spec = LeafSpec::imds(public_half(&signer));
    check(&pki, &hostile_document(&pki, &spec, &signer)).unwrap();

    let unrelated = key(KeyKind::Rsa(2048), 7);
    for bits in [4097, 6144, 8192] {
        let e = BigNum::from_u32(65537).unwrap();
        let spec = LeafSpec::imds(rsa_public_key(bits, &e));
        assert_eq!(
            check(&pki, &hostile_document(&pki, &spec, &unrelated)),
            Err(Error::WeakKey {
                subject: SIGNER.into(),
                reason: KeyReason::RsaTooLarge {
                    bits: bits.unsigned_abs()
                },
            }),
            "RSA-{bits}"
        );
    }
}

// --- 4. One cloud per signer --------------------------------------------------------------

#[test]
fn a_signer_naming_two_clouds_is_refused_under_every_policy() {
    let names = ["metadata.azure.com", "metadata.azure.us"];
    let leaf = CertSpec {
        san: Some(names.iter().map(|n| n.to_string()).collect()),
        ..CertSpec::imds_leaf()
    };
    let pki = TestPki::with_leaf(&["Test Azure RSA TLS Issuing CA 07"], &leaf, 0);
    // from_pem trusts the root for every cloud: only the name rule can refuse.
    let trust = trust_for(&pki);
    let der = pki.sign(&content());
    for clouds in [&Cloud::ALL[..], &[Cloud::UsGov], &[Cloud::Public]] {
        let policy = Policy::default().with_clouds(clouds);
        assert_eq!(
            check_with(&trust, &policy, &der, NONCE, REFERENCE_TIME),
            Err(Error::SignerName {
                found: names.iter().map(|n| n.to_string()).collect(),
                allowed: vec![Cloud::Public, Cloud::UsGov],
            }),
            "{clouds:?}"
        );
    }
}

// --- 5. Digest and signature algorithms ---------------------------------------------------

#[test]
fn digest_algorithm_must_be_a_digest_or_the_rsa_combined_oid_with_rsa() {
    let rsa = pki();
    let ecdsa = TestPki::with_leaf(
        &["Test Azure ECC TLS Issuing CA 07"],
        &CertSpec {
            key: KeyKind::P256,
            ..CertSpec::imds_leaf()
        },
        0,
    );
    let doc = |pki: &TestPki, digest, signature| {
        DocSpec {
            digest_oid: digest,
            signature_oid: signature,
            ..DocSpec::imds(&content())
        }
        .sign(&pki.leaf)
    };
    assert_eq!(
        check(&rsa, &doc(&rsa, OID_ECDSA_SHA256, OID_RSA_ENCRYPTION)),
        Err(Error::UnsupportedDigestAlgorithm {
            algorithm: "ecdsa-with-SHA256 (1.2.840.10045.4.3.2)".into(),
            reason: AlgorithmReason::NotAccepted,
        })
    );
    assert_eq!(
        check(&ecdsa, &doc(&ecdsa, OID_SHA256_WITH_RSA, OID_ECDSA_SHA256)),
        Err(Error::UnsupportedDigestAlgorithm {
            algorithm: "sha256WithRSAEncryption (1.2.840.113549.1.1.11)".into(),
            reason: AlgorithmReason::PairedWith {
                signature: "ecdsa-with-SHA256 (1.2.840.10045.4.3.2)".into()
            },
        })
    );
    check(&rsa, &doc(&rsa, OID_SHA256, OID_RSA_ENCRYPTION)).unwrap();
    check(&ecdsa, &doc(&ecdsa, OID_SHA256, OID_ECDSA_SHA256)).unwrap();
    // The IMDS quirk.
    check(&rsa, &doc(&rsa, OID_SHA256_WITH_RSA, OID_RSA_ENCRYPTION)).unwrap();
}

// --- 6. Signer names and profile ----------------------------------------------------------

#[test]
fn signer_dns_names_must_be_plain_host_names() {
    let pki = pki();
    let cases: [(&[u8], NameReason); 4] = [
        (b"*.metadata.azure.com", NameReason::Wildcard),
        (b"evil.example\0.metadata.azure.com", NameReason::Character),
        (b"..metadata.azure.com", NameReason::EmptyLabel),
        (b" .metadata.azure.com", NameReason::Character),
    ];
    for (name, reason) in cases {
        let der = leaf_profile_document(&pki, |s| *s = s.clone().with_dns_names(&[name]));
        assert_eq!(
            check(&pki, &der),
            Err(Error::InvalidSignerName {
                name: String::from_utf8(name.to_vec()).unwrap(),
                reason,
            }),
            "{}",
            String::from_utf8_lossy(name)
        );
    }
}

#[test]
fn signer_must_be_a_tls_server_certificate_that_may_sign() {
    let pki = pki();
    type Edit = fn(&mut LeafSpec);
    let cases: [(&str, Edit, ProfileReason); 4] = [
        (
            "CN-only with two CNs",
            |s| {
                s.dns_names = None;
                s.common_names = vec![
                    "metadata.azure.com".into(),
                    "eastus.metadata.azure.com".into(),
                ];
            },
            ProfileReason::CommonNames { count: 2 },
        ),
        ("CA:TRUE", |s| s.ca = true, ProfileReason::Ca),
        (
            "keyUsage without digitalSignature",
            |s| s.key_usage = Some(vec![Usage::KeyEncipherment]),
            ProfileReason::KeyUsage,
        ),
        (
            "extendedKeyUsage clientAuth only",
            |s| s.extended_key_usage = Some(vec!["clientAuth"]),
            ProfileReason::ExtendedKeyUsage,
        ),
    ];
    for (what, edit, expected) in cases {
        match check(&pki, &leaf_profile_document(&pki, edit)) {
            Err(Error::SignerProfile { reason, .. }) => assert_eq!(reason, expected, "{what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    let any_eku = leaf_profile_document(&pki, |s| {
        s.extended_key_usage = Some(vec!["anyExtendedKeyUsage"]);
    });
    check(&pki, &any_eku).unwrap();
    // The shape testpki's own leaf has, through the same builder: accepted.
    check(&pki, &leaf_profile_document(&pki, |_| {})).unwrap();
}

// --- 7. A byte order mark -----------------------------------------------------------------

#[test]
fn a_utf8_bom_is_accepted_before_text_forms_only() {
    const BOM: &[u8] = b"\xef\xbb\xbf";
    let real = |name: &str| std::fs::read(genuine::path(name)).unwrap();
    let json = real("taskcluster_2025_rsatls07.json");
    let b64 = real("raw/taskcluster_2025_rsatls07.b64");
    let der = real("raw/taskcluster_2025_rsatls07.der");
    let b64_text = String::from_utf8(b64.clone()).unwrap();
    let pem = format!(
        "-----BEGIN PKCS7-----\n{}\n-----END PKCS7-----\n",
        b64_text.trim()
    );
    let builtin = TrustStore::builtin();
    let policy = Policy::default();
    let at = datetime!(2025-11-19 12:53:30 UTC);
    let verify = |input: &[u8]| check_with(&builtin, &policy, input, "20251119-185330", at);
    let expected = verify(&json).unwrap();
    for (form, text) in [
        ("JSON", &json),
        ("base64", &b64),
        ("PEM", &pem.into_bytes()),
    ] {
        let with_bom = [BOM, text].concat();
        assert_eq!(
            verify(&with_bom).as_ref(),
            Ok(&expected),
            "BOM before {form}"
        );
    }
    // A test-PKI document, in the IMDS envelope, behind a BOM: the same too.
    let pki = pki();
    let envelope = imds_response(&pki.sign(&content()));
    check(&pki, &[BOM, envelope.as_bytes()].concat()).unwrap();

    for (what, input) in [("DER", [BOM, &der].concat()), ("nothing", BOM.to_vec())] {
        match verify(&input) {
            Err(e) => assert_eq!(
                e.kind(),
                imds_attest::ErrorKind::UnrecognisedInput,
                "BOM before {what}: {e}"
            ),
            Ok(_) => panic!("BOM before {what} accepted"),
        }
    }
}
