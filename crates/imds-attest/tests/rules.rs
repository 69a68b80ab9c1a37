//! One test per verification rule, each on a document from the test PKI and each asserting the
//! specific error. Named for the rule it proves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{content, trust_for, NONCE};
use imds_attest::{
    AlgorithmReason, AttestedDocument, ChainReason, Cloud, DerReason, Error, ErrorKind, KeyReason,
    NameReason, NonceCheck, Policy, ProfileReason, SignedAttributesReason, StructureReason,
    TlvProblem, TrustStore, VerifiedDocument, Verifier,
};
use imds_attest_testpki::{
    key, CertSpec, DocSpec, Issued, KeyKind, SignedAttrs, TestPki, OID_ECDSA_SHA256, OID_MD5,
    OID_RSA_PSS, OID_SHA1, OID_SHA1_WITH_RSA, OID_SHA256, REFERENCE_TIME,
};
use openssl::hash::MessageDigest;
use time::{Duration, OffsetDateTime};

const ROOT: &str = "Test Global Root G2";
const ISSUING: &str = "Test Azure RSA TLS Issuing CA 07";

fn verify_with(
    trust: TrustStore,
    policy: Policy,
    der: &[u8],
    at: OffsetDateTime,
) -> Result<VerifiedDocument, Error> {
    let doc = AttestedDocument::parse(der)?;
    Verifier::new(trust, policy).verify(&doc, NonceCheck::Exact(NONCE), at)
}

fn verify(pki: &TestPki, der: &[u8]) -> Result<VerifiedDocument, Error> {
    verify_with(trust_for(pki), Policy::default(), der, REFERENCE_TIME)
}

fn signed(pki: &TestPki, edit: impl FnOnce(&mut DocSpec)) -> Vec<u8> {
    let mut spec = DocSpec::imds(&content());
    edit(&mut spec);
    spec.sign(&pki.leaf)
}

fn pki_with_leaf(leaf: CertSpec) -> TestPki {
    TestPki::with_leaf(&[ISSUING], &leaf, 0)
}

fn chain_reason(r: Result<VerifiedDocument, Error>) -> (ChainReason, u32) {
    match r {
        Err(Error::Chain { reason, depth, .. }) => (reason, depth),
        other => panic!("expected a chain error, got {other:?}"),
    }
}

#[test]
fn accepts_azure_shaped_document_with_two_level_chain() {
    let pki = TestPki::azure();
    let v = verify(&pki, &pki.sign(&content())).unwrap();
    assert_eq!(v.cloud(), Cloud::Public);
    assert_eq!(v.claims().nonce, NONCE);
    assert_eq!(v.claims().created_on, REFERENCE_TIME);
    assert_eq!(
        v.chain(),
        [
            "CN=metadata.azure.com,O=Microsoft Corporation",
            &format!("CN={ISSUING},O=Microsoft Corporation"),
            &format!("CN={ROOT},O=Microsoft Corporation"),
        ]
    );
}

#[test]
fn accepts_g2_shaped_document_with_three_certificates_above_the_signer() {
    let pki = TestPki::azure_g2();
    let v = verify(&pki, &pki.sign(&content())).unwrap();
    assert_eq!(v.chain().len(), 4, "{:?}", v.chain());
}

#[test]
fn accepts_every_sha2_digest_oid_and_rejects_weaker_ones_by_name() {
    let pki = TestPki::azure();
    for oid in [imds_attest_testpki::OID_SHA256_WITH_RSA, OID_SHA256] {
        verify(&pki, &signed(&pki, |s| s.digest_oid = oid)).unwrap();
    }
    for (oid, name) in [
        (OID_SHA1, "1.3.14.3.2.26"),
        (OID_MD5, "1.2.840.113549.2.5"),
        (OID_SHA1_WITH_RSA, "1.2.840.113549.1.1.5"),
    ] {
        match verify(&pki, &signed(&pki, |s| s.digest_oid = oid)) {
            Err(Error::UnsupportedDigestAlgorithm { algorithm, reason }) => {
                assert!(algorithm.contains(name), "{algorithm}");
                assert_eq!(reason, AlgorithmReason::NotAccepted, "{oid}");
            }
            other => panic!("{oid}: {other:?}"),
        }
    }
}

#[test]
fn checks_the_signed_data_digest_algorithm_list() {
    let pki = TestPki::azure();
    let quirk = imds_attest_testpki::OID_SHA256_WITH_RSA;
    let both = signed(&pki, |s| s.listed_digests = Some(vec![quirk, OID_SHA256]));
    verify(&pki, &both).unwrap();
    assert_eq!(
        verify(
            &pki,
            &signed(&pki, |s| s.listed_digests = Some(vec![OID_SHA256])),
        )
        .unwrap_err(),
        Error::Structure {
            reason: StructureReason::DigestNotListed {
                algorithm: "sha256WithRSAEncryption (1.2.840.113549.1.1.11)".into()
            }
        }
    );
    let with_md5 = signed(&pki, |s| s.listed_digests = Some(vec![quirk, OID_MD5]));
    assert_eq!(
        verify(&pki, &with_md5).unwrap_err().kind(),
        ErrorKind::UnsupportedDigestAlgorithm
    );
}

#[test]
fn rejects_tampered_content() {
    let pki = TestPki::azure();
    let mut der = pki.sign(&content());
    let at = der
        .windows(NONCE.len())
        .position(|w| w == NONCE.as_bytes())
        .unwrap();
    der[at + NONCE.len() - 1] = b'2';
    assert_eq!(
        verify(&pki, &der).unwrap_err().kind(),
        ErrorKind::BadSignature,
        "a changed byte of content must break the signature"
    );
}

#[test]
fn rejects_signature_by_another_key() {
    let pki = TestPki::azure();
    let der = signed(&pki, |s| s.signing_key = Some(key(KeyKind::Rsa(2048), 5)));
    match verify(&pki, &der) {
        Err(Error::BadSignature { signer }) => {
            assert_eq!(signer, "CN=metadata.azure.com,O=Microsoft Corporation")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn verifies_with_the_certificate_the_sid_names_not_the_first_one() {
    let pki = TestPki::azure();
    // A decoy certificate with its own key: the document is signed by the decoy's key while
    // the sid names the real leaf. Checking against the wrong certificate would accept it.
    let decoy = Issued::new(
        &CertSpec {
            slot: 5,
            ..CertSpec::imds_leaf()
        },
        Some(&pki.intermediates[0]),
    );
    let der = signed(&pki, |s| {
        s.signing_key = Some(decoy.key.clone());
        s.embed = Some(vec![decoy.cert.clone(), pki.leaf.cert.clone()]);
    });
    assert_eq!(
        verify(&pki, &der).unwrap_err().kind(),
        ErrorKind::BadSignature
    );
    // The same embedding, honestly signed, verifies.
    let der = signed(&pki, |s| {
        s.embed = Some(vec![decoy.cert.clone(), pki.leaf.cert.clone()])
    });
    assert_eq!(
        verify(&pki, &der).unwrap().signer().subject,
        "CN=metadata.azure.com,O=Microsoft Corporation"
    );
}

#[test]
fn finds_the_signer_by_subject_key_identifier() {
    let pki = TestPki::azure();
    verify(&pki, &signed(&pki, |s| s.sid_by_ski = true)).unwrap();
}

#[test]
fn rejects_sid_naming_no_embedded_certificate() {
    let pki = TestPki::azure();
    let der = signed(&pki, |s| {
        s.embed = Some(vec![pki.intermediates[0].cert.clone()])
    });
    match verify(&pki, &der) {
        Err(Error::SignerCertificateNotFound { sid }) => assert!(sid.contains(ISSUING), "{sid}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejects_rogue_ca_bearing_the_trusted_ca_names() {
    let real = TestPki::azure();
    // Same names all the way up, other keys.
    let rogue = TestPki::with_leaf(&[ISSUING], &CertSpec::imds_leaf(), 6);
    let mut der_spec = DocSpec::imds(&content());
    der_spec.embed = Some(vec![
        rogue.leaf.cert.clone(),
        rogue.intermediates[0].cert.clone(),
    ]);
    let der = der_spec.sign(&rogue.leaf);
    match verify(&real, &der) {
        Err(Error::UntrustedIssuer {
            subject,
            issuer,
            cloud,
            self_signed,
        }) => {
            assert_eq!(subject, format!("CN={ISSUING},O=Microsoft Corporation"));
            assert_eq!(issuer, format!("CN={ROOT},O=Microsoft Corporation"));
            assert_eq!(cloud, Cloud::Public);
            assert!(!self_signed);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejects_signer_names_without_label_boundary_or_with_suffix() {
    for san in [
        "evilmetadata.azure.com",
        "metadata.azure.com.evil.example",
        "metadata.azure.co",
        "metadata-azure.com",
    ] {
        let pki = pki_with_leaf(CertSpec {
            san: Some(vec![san.into()]),
            ..CertSpec::imds_leaf()
        });
        match verify(&pki, &pki.sign(&content())) {
            Err(Error::SignerName { found, allowed }) => {
                assert_eq!(found, [san]);
                assert_eq!(allowed, Cloud::ALL);
            }
            other => panic!("{san}: {other:?}"),
        }
    }
}

#[test]
fn rejects_wrong_san_even_when_the_cn_is_right() {
    let pki = pki_with_leaf(CertSpec {
        san: Some(vec!["www.example.com".into()]),
        ..CertSpec::imds_leaf()
    });
    match verify(&pki, &pki.sign(&content())) {
        Err(Error::SignerName { found, .. }) => assert_eq!(found, ["www.example.com"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn uses_the_cn_only_when_there_is_no_san_extension() {
    let pki = pki_with_leaf(CertSpec {
        san: None,
        ..CertSpec::imds_leaf()
    });
    assert_eq!(
        verify(&pki, &pki.sign(&content()))
            .unwrap()
            .signer()
            .dns_names,
        ["metadata.azure.com"]
    );
    let pki = pki_with_leaf(CertSpec {
        san: None,
        cn: "metadata.azure.com.evil.example".into(),
        ..CertSpec::imds_leaf()
    });
    assert_eq!(
        verify(&pki, &pki.sign(&content())).unwrap_err().kind(),
        ErrorKind::SignerName
    );
}

#[test]
fn reports_the_cloud_the_signer_name_belongs_to_and_honours_the_allowed_list() {
    for (san, cloud) in [
        ("usgovvirginia.metadata.azure.us", Cloud::UsGov),
        ("chinaeast2.metadata.azure.cn", Cloud::China),
        ("germanycentral.metadata.microsoftazure.de", Cloud::Germany),
        ("EastUS.Metadata.Azure.Com", Cloud::Public),
    ] {
        let pki = pki_with_leaf(CertSpec {
            san: Some(vec![san.into()]),
            ..CertSpec::imds_leaf()
        });
        let der = pki.sign(&content());
        assert_eq!(verify(&pki, &der).unwrap().cloud(), cloud, "{san}");
        let others: Vec<Cloud> = Cloud::ALL.into_iter().filter(|c| *c != cloud).collect();
        let r = verify_with(
            trust_for(&pki),
            Policy::default().with_clouds(&others),
            &der,
            REFERENCE_TIME,
        );
        assert_eq!(r.unwrap_err().kind(), ErrorKind::SignerName, "{san}");
    }
}

#[test]
fn rejects_signer_naming_two_clouds() {
    let pki = pki_with_leaf(CertSpec {
        san: Some(vec![
            "metadata.azure.com".into(),
            "metadata.azure.cn".into(),
        ]),
        ..CertSpec::imds_leaf()
    });
    match verify(&pki, &pki.sign(&content())) {
        Err(Error::SignerName { allowed, .. }) => {
            assert_eq!(allowed, [Cloud::Public, Cloud::China])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn chains_only_to_builtin_anchors_of_the_signer_cloud() {
    // With the built-in store, a China-named signer may only reach DigiCert Global Root CA and
    // a Germany-named one has no anchor at all; neither falls back to another cloud's roots.
    for (san, expected) in [
        ("chinaeast.metadata.azure.cn", ErrorKind::UntrustedIssuer),
        ("metadata.microsoftazure.de", ErrorKind::NoTrustAnchors),
    ] {
        let pki = pki_with_leaf(CertSpec {
            san: Some(vec![san.into()]),
            ..CertSpec::imds_leaf()
        });
        let r = verify_with(
            TrustStore::builtin(),
            Policy::default(),
            &pki.sign(&content()),
            REFERENCE_TIME,
        );
        assert_eq!(r.as_ref().unwrap_err().kind(), expected, "{san}: {r:?}");
    }
}

#[test]
fn rejects_empty_trust_store_instead_of_skipping_the_chain() {
    let pki = TestPki::azure();
    let r = verify_with(
        TrustStore::empty(),
        Policy::default(),
        &pki.sign(&content()),
        REFERENCE_TIME,
    );
    assert_eq!(
        r.unwrap_err(),
        Error::NoTrustAnchors {
            cloud: Cloud::Public
        }
    );
    // Intermediates alone are not anchors either.
    let mut only_intermediates = TrustStore::empty();
    only_intermediates
        .add_intermediates_pem(pki.intermediates_pem().as_bytes(), "i.pem")
        .unwrap();
    let r = verify_with(
        only_intermediates,
        Policy::default(),
        &pki.sign(&content()),
        REFERENCE_TIME,
    );
    assert_eq!(
        r.unwrap_err(),
        Error::NoTrustAnchors {
            cloud: Cloud::Public
        }
    );
}

#[test]
fn rejects_missing_intermediate_and_accepts_one_carried_in_the_document() {
    let pki = TestPki::azure();
    let mut roots_only = TrustStore::empty();
    roots_only
        .add_roots_pem(pki.root_pem().as_bytes(), "root.pem")
        .unwrap();
    let r = verify_with(
        roots_only.clone(),
        Policy::default(),
        &pki.sign(&content()),
        REFERENCE_TIME,
    );
    match r {
        Err(Error::UntrustedIssuer {
            subject,
            issuer,
            cloud,
            self_signed,
        }) => {
            assert_eq!(subject, "CN=metadata.azure.com,O=Microsoft Corporation");
            assert_eq!(issuer, format!("CN={ISSUING},O=Microsoft Corporation"));
            assert_eq!(cloud, Cloud::Public);
            assert!(!self_signed);
        }
        other => panic!("{other:?}"),
    }
    let carried = signed(&pki, |s| {
        s.embed = Some(vec![
            pki.leaf.cert.clone(),
            pki.intermediates[0].cert.clone(),
        ])
    });
    verify_with(roots_only, Policy::default(), &carried, REFERENCE_TIME).unwrap();
}

/// OpenSSL is given only the certificates whose names can link into the chain: every one of
/// them, so that among copies of an issuing CA with one name and key it still takes the one
/// valid at the time, wherever that copy stands in the store.
#[test]
fn chooses_among_copies_of_an_issuing_ca_the_one_valid_at_the_time() {
    let root = Issued::new(&CertSpec::ca(ROOT, 1), None);
    let expired = Issued::new(
        &CertSpec {
            not_before: REFERENCE_TIME - Duration::days(800),
            not_after: REFERENCE_TIME - Duration::days(1),
            ..CertSpec::ca(ISSUING, 2)
        },
        Some(&root),
    );
    let valid = Issued::new(&CertSpec::ca(ISSUING, 2), Some(&root));
    let leaf = Issued::new(&CertSpec::imds_leaf(), Some(&valid));
    let der = DocSpec::imds(&content()).sign(&leaf);
    for (label, first, second) in [
        ("expired copy first", &expired, &valid),
        ("valid copy first", &valid, &expired),
    ] {
        let intermediates = first.pem() + &second.pem();
        let trust = TrustStore::from_pem(root.pem().as_bytes(), intermediates.as_bytes()).unwrap();
        let verified = verify_with(trust, Policy::default(), &der, REFERENCE_TIME)
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(verified.chain().len(), 3, "{label}");
    }
    // With only the expired copy, that is the error.
    let trust = TrustStore::from_pem(root.pem().as_bytes(), expired.pem().as_bytes()).unwrap();
    match verify_with(trust, Policy::default(), &der, REFERENCE_TIME) {
        Err(Error::CertificateExpired { subject, .. }) => {
            assert_eq!(subject, format!("CN={ISSUING},O=Microsoft Corporation"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejects_documents_outside_their_validity_window_beyond_the_skew() {
    let pki = TestPki::azure();
    let der = pki.sign(&content());
    let skew = Duration::seconds(300);
    let created = REFERENCE_TIME;
    let expires = REFERENCE_TIME + Duration::hours(6);
    let cases = [
        (created - skew, None),
        (
            created - skew - Duration::seconds(1),
            Some(ErrorKind::DocumentNotYetValid),
        ),
        (expires + skew, None),
        (
            expires + skew + Duration::seconds(1),
            Some(ErrorKind::DocumentExpired),
        ),
        (
            expires + Duration::days(2),
            Some(ErrorKind::DocumentExpired),
        ),
    ];
    for (at, want) in cases {
        let r = verify_with(trust_for(&pki), Policy::default(), &der, at);
        assert_eq!(r.as_ref().err().map(Error::kind), want, "at {at}: {r:?}");
    }
    let strict = Policy::default().with_skew(Duration::ZERO);
    let r = verify_with(
        trust_for(&pki),
        strict,
        &der,
        expires + Duration::seconds(1),
    );
    assert_eq!(
        r.unwrap_err(),
        Error::DocumentExpired {
            expires_on: expires,
            at: expires + Duration::seconds(1)
        }
    );
}

#[test]
fn rejects_documents_older_than_the_maximum_age() {
    let pki = TestPki::azure();
    let der = pki.sign(&content());
    let policy = Policy::default().with_max_age(Duration::minutes(10));
    verify_with(
        trust_for(&pki),
        policy.clone(),
        &der,
        REFERENCE_TIME + Duration::minutes(10),
    )
    .unwrap();
    let r = verify_with(
        trust_for(&pki),
        policy,
        &der,
        REFERENCE_TIME + Duration::minutes(11),
    );
    assert_eq!(
        r.unwrap_err(),
        Error::DocumentTooOld {
            created_on: REFERENCE_TIME,
            age_seconds: 660,
            max_age_seconds: 600
        }
    );
}

#[test]
fn rejects_expired_and_not_yet_valid_signer_certificates() {
    let expired = pki_with_leaf(CertSpec {
        not_before: REFERENCE_TIME - Duration::days(60),
        not_after: REFERENCE_TIME - Duration::days(1),
        ..CertSpec::imds_leaf()
    });
    match verify(&expired, &expired.sign(&content())) {
        Err(Error::CertificateExpired {
            subject,
            not_after,
            at,
        }) => {
            assert_eq!(subject, "CN=metadata.azure.com,O=Microsoft Corporation");
            assert_eq!(
                (not_after, at),
                (REFERENCE_TIME - Duration::days(1), REFERENCE_TIME)
            );
        }
        other => panic!("{other:?}"),
    }
    let future = pki_with_leaf(CertSpec {
        not_before: REFERENCE_TIME + Duration::days(1),
        ..CertSpec::imds_leaf()
    });
    match verify(&future, &future.sign(&content())) {
        Err(Error::CertificateNotYetValid { not_before, .. }) => {
            assert_eq!(not_before, REFERENCE_TIME + Duration::days(1))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rejects_nonce_off_by_one_character_and_skips_it_only_when_told() {
    let pki = TestPki::azure();
    let doc = AttestedDocument::parse(&pki.sign(&content())).unwrap();
    let v = Verifier::new(trust_for(&pki), Policy::default());
    for expected in ["nonce-2", "nonce-", "nonce-11", "Nonce-1", "nonce-1 ", ""] {
        match v.verify(&doc, NonceCheck::Exact(expected), REFERENCE_TIME) {
            Err(Error::NonceMismatch { expected: e, found }) => {
                assert_eq!((e.as_str(), found.as_str()), (expected, NONCE))
            }
            other => panic!("{expected:?}: {other:?}"),
        }
    }
    let any = v
        .verify(&doc, NonceCheck::DangerousAnyNonce, REFERENCE_TIME)
        .unwrap();
    assert!(!any.nonce_checked());
}

#[test]
fn rejects_a_chain_through_a_non_ca_issuer() {
    let root = Issued::new(&CertSpec::ca(ROOT, 0), None);
    let not_ca = Issued::new(
        &CertSpec {
            ca: false,
            ..CertSpec::ca(ISSUING, 1)
        },
        Some(&root),
    );
    let leaf = Issued::new(&CertSpec::imds_leaf(), Some(&not_ca));
    let pki = TestPki {
        root,
        intermediates: vec![not_ca],
        leaf,
    };
    assert_eq!(
        chain_reason(verify(&pki, &pki.sign(&content()))),
        (ChainReason::NotCa, 1)
    );
}

#[test]
fn enforces_path_length_constraints() {
    let root = Issued::new(&CertSpec::ca(ROOT, 0), None);
    let top = Issued::new(
        &CertSpec {
            path_len: Some(0),
            ..CertSpec::ca("Test TLS RSA Root G2", 1)
        },
        Some(&root),
    );
    let issuing = Issued::new(&CertSpec::ca("Test TLS G2 RSA CA OCSP 02", 2), Some(&top));
    let leaf = Issued::new(&CertSpec::imds_leaf(), Some(&issuing));
    let pki = TestPki {
        root,
        intermediates: vec![top, issuing],
        leaf,
    };
    assert_eq!(
        chain_reason(verify(&pki, &pki.sign(&content()))).0,
        ChainReason::PathLength
    );
}

#[test]
fn rejects_two_signers() {
    let pki = TestPki::azure();
    let r = verify(&pki, &signed(&pki, |s| s.second_signer = true));
    assert_eq!(r.unwrap_err(), Error::SignerCount { count: 2 });
}

#[test]
fn checks_signed_attributes_when_present() {
    let pki = TestPki::azure();
    verify(&pki, &signed(&pki, |s| s.signed_attrs = SignedAttrs::Valid)).unwrap();
    for (attrs, reason) in [
        (
            SignedAttrs::WrongContentType,
            SignedAttributesReason::ContentTypeNotData {
                content_type: "id-signedData (1.2.840.113549.1.7.2)".into(),
            },
        ),
        (
            SignedAttrs::WrongDigest,
            SignedAttributesReason::DigestMismatch,
        ),
        (
            SignedAttrs::MissingDigest,
            SignedAttributesReason::DigestMissing,
        ),
    ] {
        assert_eq!(
            verify(&pki, &signed(&pki, |s| s.signed_attrs = attrs)).unwrap_err(),
            Error::SignedAttributes { reason },
            "{attrs:?}"
        );
    }
}

#[test]
fn rejects_detached_content() {
    let pki = TestPki::azure();
    assert_eq!(
        verify(&pki, &signed(&pki, |s| s.detached = true)).unwrap_err(),
        Error::DetachedContent
    );
}

#[test]
fn rejects_trailing_bytes_after_the_der() {
    let pki = TestPki::azure();
    let length = signed(&pki, |_| ()).len();
    for trailing in [vec![0u8], vec![0x30, 0x00], b"garbage".to_vec()] {
        assert_eq!(
            verify(&pki, &signed(&pki, |s| s.trailing = trailing.clone())).unwrap_err(),
            Error::Der {
                what: "the TLV structure",
                reason: DerReason::Tlv {
                    offset: length,
                    problem: TlvProblem::Trailing {
                        count: trailing.len()
                    },
                },
            },
            "{trailing:?}"
        );
    }
}

#[test]
fn rejects_weak_signer_keys() {
    for (kind, reason) in [
        (KeyKind::Rsa(1024), KeyReason::RsaTooSmall { bits: 1024 }),
        (
            KeyKind::Secp256k1,
            KeyReason::Curve {
                curve: "secp256k1".into(),
            },
        ),
    ] {
        let pki = pki_with_leaf(CertSpec {
            key: kind,
            ..CertSpec::imds_leaf()
        });
        let der = signed(&pki, |s| {
            if kind == KeyKind::Secp256k1 {
                s.signature_oid = OID_ECDSA_SHA256;
                s.digest_oid = OID_SHA256;
            }
        });
        assert_eq!(
            verify(&pki, &der).unwrap_err(),
            Error::WeakKey {
                subject: "CN=metadata.azure.com,O=Microsoft Corporation".into(),
                reason
            },
            "{kind:?}"
        );
    }
}

#[test]
fn rejects_weak_intermediate_key() {
    let root = Issued::new(&CertSpec::ca(ROOT, 0), None);
    let weak = Issued::new(
        &CertSpec {
            key: KeyKind::Rsa(1024),
            ..CertSpec::ca(ISSUING, 1)
        },
        Some(&root),
    );
    let leaf = Issued::new(&CertSpec::imds_leaf(), Some(&weak));
    let pki = TestPki {
        root,
        intermediates: vec![weak],
        leaf,
    };
    assert_eq!(
        chain_reason(verify(&pki, &pki.sign(&content()))),
        (ChainReason::WeakKey, 1)
    );
}

#[test]
fn rejects_md5_and_sha1_certificate_signatures_except_on_the_anchor_itself() {
    for hash in [
        MessageDigest::sha1 as fn() -> MessageDigest,
        MessageDigest::md5,
    ] {
        let pki = pki_with_leaf(CertSpec {
            hash,
            ..CertSpec::imds_leaf()
        });
        // Reported on the signer's certificate, whose signature is the weak one.
        assert_eq!(
            chain_reason(verify(&pki, &pki.sign(&content()))),
            (ChainReason::WeakSignatureAlgorithm, 0)
        );
    }
    // Baltimore CyberTrust Root signs itself with SHA-1 and must still anchor.
    let root = Issued::new(
        &CertSpec {
            hash: MessageDigest::sha1,
            ..CertSpec::ca(ROOT, 0)
        },
        None,
    );
    let issuing = Issued::new(&CertSpec::ca(ISSUING, 1), Some(&root));
    let leaf = Issued::new(&CertSpec::imds_leaf(), Some(&issuing));
    let pki = TestPki {
        root,
        intermediates: vec![issuing],
        leaf,
    };
    verify(&pki, &pki.sign(&content())).unwrap();
}

#[test]
fn accepts_ecdsa_signers_on_p256_and_p384() {
    for kind in [KeyKind::P256, KeyKind::P384] {
        let pki = pki_with_leaf(CertSpec {
            key: kind,
            ..CertSpec::imds_leaf()
        });
        let der = signed(&pki, |s| {
            s.signature_oid = OID_ECDSA_SHA256;
            s.digest_oid = OID_SHA256;
        });
        verify(&pki, &der).unwrap();
    }
}

#[test]
fn rejects_an_ecdsa_signature_that_is_not_der() {
    let pki = pki_with_leaf(CertSpec {
        key: KeyKind::P256,
        ..CertSpec::imds_leaf()
    });
    // The same (r, s) with the SEQUENCE length in long form: BER, not DER.
    fn long_form(sig: &[u8]) -> Vec<u8> {
        assert!(sig[1] < 0x80);
        [&[0x30, 0x81][..], &sig[1..]].concat()
    }
    let der = signed(&pki, |s| {
        s.signature_oid = OID_ECDSA_SHA256;
        s.digest_oid = OID_SHA256;
        s.tweak_signature = Some(long_form);
    });
    assert_eq!(
        verify(&pki, &der).unwrap_err().kind(),
        ErrorKind::BadSignature
    );
}

#[test]
fn rejects_unsupported_signature_algorithms_and_mismatched_keys() {
    let pki = TestPki::azure();
    let pss = verify(&pki, &signed(&pki, |s| s.signature_oid = OID_RSA_PSS));
    match pss {
        Err(Error::UnsupportedSignatureAlgorithm { algorithm, reason }) => {
            assert!(algorithm.contains("1.2.840.113549.1.1.10"), "{algorithm}");
            assert_eq!(reason, AlgorithmReason::NotAccepted);
        }
        other => panic!("{other:?}"),
    }
    // An ECDSA signature algorithm with an RSA signer key.
    let ecdsa = signed(&pki, |s| {
        s.signature_oid = OID_ECDSA_SHA256;
        s.digest_oid = OID_SHA256;
    });
    assert_eq!(
        verify(&pki, &ecdsa).unwrap_err(),
        Error::UnsupportedSignatureAlgorithm {
            algorithm: "ECDSA".into(),
            reason: AlgorithmReason::KeyMismatch { needs: "EC" },
        }
    );
}

/// The digest algorithm is id-sha256/384/512 with any signature, or the sha*WithRSAEncryption
/// OID IMDS writes only beside an RSA signature; an ecdsa-with-* OID is no digest algorithm.
#[test]
fn pairs_the_digest_algorithm_with_the_signature_algorithm() {
    let pki = pki_with_leaf(CertSpec {
        key: KeyKind::P256,
        ..CertSpec::imds_leaf()
    });
    let rsa_digest = signed(&pki, |s| s.signature_oid = OID_ECDSA_SHA256);
    assert_eq!(
        verify(&pki, &rsa_digest).unwrap_err(),
        Error::UnsupportedDigestAlgorithm {
            algorithm: "sha256WithRSAEncryption (1.2.840.113549.1.1.11)".into(),
            reason: AlgorithmReason::PairedWith {
                signature: "ecdsa-with-SHA256 (1.2.840.10045.4.3.2)".into()
            },
        }
    );
    let ecdsa_digest = signed(&pki, |s| {
        s.signature_oid = OID_ECDSA_SHA256;
        s.digest_oid = OID_ECDSA_SHA256;
    });
    assert_eq!(
        verify(&pki, &ecdsa_digest).unwrap_err(),
        Error::UnsupportedDigestAlgorithm {
            algorithm: "ecdsa-with-SHA256 (1.2.840.10045.4.3.2)".into(),
            reason: AlgorithmReason::NotAccepted,
        }
    );
}

#[test]
fn rejects_signer_names_that_are_not_plain_host_names() {
    for (san, reason) in [
        ("*.metadata.azure.com", NameReason::Wildcard),
        ("eastus..metadata.azure.com", NameReason::EmptyLabel),
        ("east_us.metadata.azure.com", NameReason::Character),
        ("-eastus.metadata.azure.com", NameReason::Label),
    ] {
        let pki = pki_with_leaf(CertSpec {
            san: Some(vec![san.into(), "metadata.azure.com".into()]),
            ..CertSpec::imds_leaf()
        });
        assert_eq!(
            verify(&pki, &pki.sign(&content())).unwrap_err(),
            Error::InvalidSignerName {
                name: san.into(),
                reason
            },
            "{san}"
        );
    }
}

#[test]
fn rejects_a_signer_certificate_that_is_a_ca() {
    let pki = pki_with_leaf(CertSpec {
        ca: true,
        ..CertSpec::imds_leaf()
    });
    assert_eq!(
        verify(&pki, &pki.sign(&content())).unwrap_err(),
        Error::SignerProfile {
            subject: "CN=metadata.azure.com,O=Microsoft Corporation".into(),
            reason: ProfileReason::Ca
        }
    );
}

/// The cloud is decided over every cloud before the allowed list: a signer naming two clouds
/// is refused even when only one of them is allowed.
#[test]
fn rejects_a_signer_naming_two_clouds_under_every_policy() {
    let pki = pki_with_leaf(CertSpec {
        san: Some(vec![
            "metadata.azure.com".into(),
            "metadata.azure.us".into(),
        ]),
        ..CertSpec::imds_leaf()
    });
    let der = pki.sign(&content());
    for clouds in [&Cloud::ALL[..], &[Cloud::UsGov], &[Cloud::Public]] {
        let r = verify_with(
            trust_for(&pki),
            Policy::default().with_clouds(clouds),
            &der,
            REFERENCE_TIME,
        );
        assert_eq!(
            r.unwrap_err(),
            Error::SignerName {
                found: vec!["metadata.azure.com".into(), "metadata.azure.us".into()],
                allowed: vec![Cloud::Public, Cloud::UsGov],
            },
            "{clouds:?}"
        );
    }
}

#[test]
fn rejects_a_duplicated_json_key_in_the_signed_content() {
    let pki = TestPki::azure();
    let text = String::from_utf8(content()).unwrap();
    let doubled = text.replacen(
        "\"nonce\":\"nonce-1\"",
        "\"nonce\":\"nonce-1\",\"nonce\":\"other\"",
        1,
    );
    assert_ne!(doubled, text);
    let r = verify(&pki, &pki.sign(doubled.as_bytes()));
    assert_eq!(
        r.unwrap_err(),
        Error::DuplicateKey {
            key: "nonce".into()
        }
    );
}

#[test]
fn rejects_input_larger_than_the_limit_before_decoding() {
    let big = vec![b'A'; imds_attest::DEFAULT_MAX_INPUT_BYTES + 1];
    let r = AttestedDocument::parse(&big);
    assert_eq!(
        r.unwrap_err(),
        Error::InputTooLarge {
            size: big.len(),
            max: imds_attest::DEFAULT_MAX_INPUT_BYTES
        }
    );
}
