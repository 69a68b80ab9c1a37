//! Genuine documents captured on Azure VMs (`testdata/real/`): each verifies at its
//! `verify_at_utc` with the built-in trust store and is rejected at the present time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use imds_attest::{
    AttestedDocument, Cloud, Error, KeyReason, NonceCheck, Policy, TrustStore, Verifier,
};
use imds_attest_testpki::genuine::{self, Genuine};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn verifier() -> Verifier {
    Verifier::new(TrustStore::builtin(), Policy::default())
}

/// `real` verified at its own time with the built-in trust.
fn verified_at_its_time(real: &Genuine) -> imds_attest::VerifiedDocument {
    let doc = AttestedDocument::parse(&std::fs::read(&real.file).unwrap()).unwrap();
    verifier()
        .verify(&doc, NonceCheck::Exact(&real.nonce), real.at)
        .unwrap_or_else(|e| panic!("{}: {e}", real.name))
}

#[test]
fn every_real_document_verifies_at_its_time_with_builtin_trust() {
    for real in genuine::all() {
        let verified = verified_at_its_time(&real);
        assert_eq!(verified.claims().vm_id, real.vm_id, "{}", real.name);
        assert_eq!(verified.claims().nonce, real.nonce, "{}", real.name);
        assert_eq!(verified.cloud(), Cloud::Public, "{}", real.name);
        assert_eq!(verified.signer().sha256, real.leaf_sha256, "{}", real.name);
        assert!(verified.nonce_checked());
        assert!(
            (3..=4).contains(&verified.chain().len()),
            "{}: {:?}",
            real.name,
            verified.chain()
        );
    }
}

/// The success object written straight as text is the object `to_json` builds, for every
/// genuine document (and has the same keys, so nothing is dropped or added on either side).
#[test]
fn the_success_object_as_text_is_the_success_object() {
    for real in genuine::all() {
        let verified = verified_at_its_time(&real);
        let text = verified.to_json_string().unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let value = verified.to_json().unwrap();
        assert_eq!(parsed, value, "{}", real.name);
        assert_eq!(value["verified"], true, "{}", real.name);
        assert_eq!(value["redeemed"], false, "{}", real.name);
        assert_eq!(
            value["claims"]["vmId"],
            real.vm_id.as_str(),
            "{}",
            real.name
        );
    }
}

/// Today every genuine document has expired, and so has its chain: the document's own time is
/// reported first. With a skew wide enough to keep the document's window open, the expired
/// chain is what is left.
#[test]
fn every_real_document_is_rejected_today_because_it_and_its_chain_expired() {
    let today = OffsetDateTime::parse("2026-11-21T00:00:00Z", &Rfc3339).unwrap();
    let lenient = Verifier::new(
        TrustStore::builtin(),
        Policy::default().with_skew(time::Duration::days(4000)),
    );
    for real in genuine::all() {
        let doc = AttestedDocument::parse(&std::fs::read(&real.file).unwrap()).unwrap();
        let expires_on = verifier()
            .verify(&doc, NonceCheck::Exact(&real.nonce), real.at)
            .unwrap()
            .claims()
            .expires_on;
        assert_eq!(
            verifier()
                .verify(&doc, NonceCheck::Exact(&real.nonce), today)
                .unwrap_err(),
            Error::DocumentExpired {
                expires_on,
                at: today
            },
            "{}",
            real.name
        );
        match lenient.verify(&doc, NonceCheck::Exact(&real.nonce), today) {
            // OpenSSL reports the expired certificate nearest the root: the signer, or for
            // the 2021 documents the Baltimore root, which expired in 2025.
            Err(Error::CertificateExpired {
                subject,
                not_after,
                at,
            }) => {
                assert_eq!(at, today);
                assert!(not_after < today, "{}", real.name);
                assert!(
                    not_after == real.leaf_not_after || subject.contains("Baltimore"),
                    "{}: {subject} {not_after}",
                    real.name
                );
            }
            other => panic!("{}: {other:?}", real.name),
        }
    }
}

#[test]
fn every_real_document_parses_from_der_base64_and_json_alike() {
    for real in genuine::all() {
        let raw = genuine::path("raw");
        let der = std::fs::read(raw.join(format!("{}.der", real.name))).unwrap();
        let b64 = std::fs::read(raw.join(format!("{}.b64", real.name))).unwrap();
        let content = std::fs::read(raw.join(format!("{}.content.json", real.name))).unwrap();
        for input in [der, b64, std::fs::read(&real.file).unwrap()] {
            let doc = AttestedDocument::parse(&input).unwrap();
            assert_eq!(doc.content(), content.as_slice(), "{}", real.name);
        }
    }
}

#[test]
fn real_document_is_rejected_under_another_cloud() {
    let real = &genuine::all()[4];
    let doc = AttestedDocument::parse(&std::fs::read(&real.file).unwrap()).unwrap();
    let v = Verifier::new(
        TrustStore::builtin(),
        Policy::default().with_clouds(&[Cloud::UsGov]),
    );
    match v.verify(&doc, NonceCheck::Exact(&real.nonce), real.at) {
        Err(Error::SignerName { found, allowed }) => {
            assert_eq!(found, ["eastus.metadata.azure.com", "metadata.azure.com"]);
            assert_eq!(allowed, [Cloud::UsGov]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn real_document_is_rejected_with_empty_trust_store() {
    let real = &genuine::all()[4];
    let doc = AttestedDocument::parse(&std::fs::read(&real.file).unwrap()).unwrap();
    let v = Verifier::new(TrustStore::empty(), Policy::default());
    let r = v.verify(&doc, NonceCheck::Exact(&real.nonce), real.at);
    assert_eq!(
        r.unwrap_err(),
        Error::NoTrustAnchors {
            cloud: Cloud::Public
        }
    );
}

#[test]
fn documentation_sample_with_self_signed_signer_is_rejected() {
    let path = genuine::dir().join("not_genuine/docs_sample_testsubdomain_selfsigned.der");
    let doc = AttestedDocument::parse(&std::fs::read(path).unwrap()).unwrap();
    let at = OffsetDateTime::parse("2018-10-05T00:00:00Z", &Rfc3339).unwrap();
    match verifier().verify(&doc, NonceCheck::DangerousAnyNonce, at) {
        Err(Error::WeakKey { reason, subject }) => {
            assert_eq!(reason, KeyReason::RsaTooSmall { bits: 1024 });
            assert!(
                subject.contains("testsubdomain.metadata.azure.com"),
                "{subject}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// The verifier hands OpenSSL only the pinned certificates whose names can link into the
/// signer's chain: OpenSSL must then build the chain, or fail on the certificate, that it
/// builds or fails on from the whole store. Each genuine document at instants before, during
/// and after its chain's validity, where OpenSSL chooses between cross-signed copies by date.
#[test]
fn builds_the_chain_openssl_builds_from_the_whole_store() {
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::verify::X509VerifyParam;
    use openssl::x509::{X509PurposeId, X509Ref, X509StoreContext, X509};
    use x509_cert::der::Decode;

    let subject = |c: &X509Ref| {
        x509_cert::Certificate::from_der(&c.to_der().unwrap())
            .unwrap()
            .tbs_certificate
            .subject
            .to_string()
    };
    let whole = TrustStore::builtin();
    let openssl_verdict = |leaf: &X509, at: OffsetDateTime| -> Result<Vec<String>, String> {
        let mut store = X509StoreBuilder::new().unwrap();
        for root in whole.roots_for(Cloud::Public) {
            store.add_cert(X509::from_der(root).unwrap()).unwrap();
        }
        let mut param = X509VerifyParam::new().unwrap();
        param.set_time(at.unix_timestamp());
        param.set_depth(4);
        param.set_auth_level(2);
        param.set_purpose(X509PurposeId::ANY).unwrap();
        store.set_param(&param).unwrap();
        let store = store.build();
        let mut untrusted = Stack::new().unwrap();
        for i in whole.intermediates_for(Cloud::Public) {
            untrusted.push(X509::from_der(i).unwrap()).unwrap();
        }
        let mut ctx = X509StoreContext::new().unwrap();
        ctx.init(&store, leaf, &untrusted, |ctx| {
            Ok(if ctx.verify_cert()? {
                Ok(ctx.chain().unwrap().iter().map(subject).collect())
            } else {
                Err(ctx.current_cert().map(subject).unwrap_or_default())
            })
        })
        .unwrap()
    };
    let mut compared = 0;
    for real in genuine::all() {
        let raw =
            |ext: &str| std::fs::read(genuine::dir().join(format!("raw/{}.{ext}", real.name)));
        let leaf = X509::from_pem(&raw("leaf.pem").unwrap()).unwrap();
        let doc = AttestedDocument::parse(&raw("der").unwrap()).unwrap();
        let days = |n: i64| time::Duration::days(n);
        for at in [
            real.at,
            real.at - days(400),
            real.at + days(200),
            real.at + days(400),
            OffsetDateTime::parse("2026-11-21T00:00:00Z", &Rfc3339).unwrap(),
        ] {
            // Time is the chain's business here: the document's own window is not.
            let lenient = Policy::default().with_skew(days(4000));
            let ours = Verifier::with_cache_capacity(TrustStore::builtin(), lenient, 0)
                .verify(&doc, NonceCheck::DangerousAnyNonce, at)
                .map(|v| v.chain().to_vec())
                .map_err(|e| match e {
                    Error::CertificateExpired { subject, .. }
                    | Error::CertificateNotYetValid { subject, .. }
                    | Error::UntrustedIssuer { subject, .. }
                    | Error::Chain { subject, .. } => subject,
                    other => panic!("{} at {at}: {other:?}", real.name),
                });
            assert_eq!(ours, openssl_verdict(&leaf, at), "{} at {at}", real.name);
            compared += 1;
        }
    }
    assert_eq!(compared, 25);
}

/// The signer-cache counters: a verifier proves each signer once and then finds it (via the
/// document outline or the signer), on `verify_bytes` and `verify` alike; one that remembers
/// nothing proves every time; a rejected document still counts where its signer came from.
#[test]
fn signer_cache_stats_count_hits_and_misses() {
    let docs = genuine::all();
    let verifier = Verifier::new(TrustStore::builtin(), Policy::default());
    let stats = |v: &Verifier| {
        let s = v.signer_cache_stats();
        (s.hits, s.misses)
    };
    assert_eq!(stats(&verifier), (0, 0));
    for d in &docs {
        let bytes = std::fs::read(&d.file).unwrap();
        for _ in 0..2 {
            verifier
                .verify_bytes(&bytes, NonceCheck::Exact(&d.nonce), d.at)
                .unwrap();
        }
        let doc = AttestedDocument::parse(&bytes).unwrap();
        verifier
            .verify(&doc, NonceCheck::Exact(&d.nonce), d.at)
            .unwrap();
    }
    let n = docs.len() as u64;
    assert_eq!(stats(&verifier), (2 * n, n));

    let first = &docs[0];
    let bytes = std::fs::read(&first.file).unwrap();
    let wrong = verifier.verify_bytes(&bytes, NonceCheck::Exact("not-the-nonce"), first.at);
    assert_eq!(
        wrong.unwrap_err().kind(),
        imds_attest::ErrorKind::NonceMismatch
    );
    assert_eq!(stats(&verifier), (2 * n + 1, n));

    let forgetful = Verifier::with_cache_capacity(TrustStore::builtin(), Policy::default(), 0);
    for _ in 0..3 {
        forgetful
            .verify_bytes(&bytes, NonceCheck::Exact(&first.nonce), first.at)
            .unwrap();
    }
    assert_eq!(stats(&forgetful), (0, 3));
}
