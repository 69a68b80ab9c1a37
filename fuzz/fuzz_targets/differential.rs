#![no_main]
//! Differential: for inputs both accept as structurally valid, our signature-and-chain verdict
//! must agree with OpenSSL's PKCS#7 verification under the same trust, time and security level.
use std::sync::OnceLock;

use imds_attest::{AttestedDocument, Cloud, Error, TrustStore};
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509PurposeId, X509};
use time::OffsetDateTime;

const AT: OffsetDateTime = time::macros::datetime!(2025-11-19 12:53:30 UTC);

/// Every documented policy difference, and only these: where we are stricter than OpenSSL on
/// purpose, OpenSSL may accept what we reject.
fn stricter_by_policy(e: &Error) -> bool {
    matches!(
        e,
        // We require a signer name under one cloud domain, made of plain host-name labels;
        // OpenSSL checks no name.
        Error::SignerName { .. }
            | Error::InvalidSignerName { .. }
        // We require a signer shaped like a TLS server certificate (not a CA, keyUsage with
        // digitalSignature, serverAuth or anyExtendedKeyUsage, one CN without a SAN); OpenSSL's
        // purpose ANY checks none of that.
            | Error::SignerProfile { .. }
        // We accept only SHA-2 digests, RSA >= 2048 and ECDSA P-256/P-384 signers.
            | Error::UnsupportedDigestAlgorithm { .. }
            | Error::UnsupportedSignatureAlgorithm { .. }
            | Error::WeakKey { .. }
        // We require content-type id-data and exactly one value per signed attribute.
            | Error::SignedAttributes { .. }
        // We take the signer only from the embedded certificates, require exactly one
        // SignerInfo, attached content and version rules, and cap certificates.
            | Error::SignerCertificateNotFound { .. }
            | Error::SignerCount { .. }
            | Error::DetachedContent
            | Error::Structure { .. }
        // We anchor each cloud only at its own roots; OpenSSL at any root of the store.
            | Error::UntrustedIssuer { .. }
            | Error::NoTrustAnchors { .. }
    )
}

struct Trust {
    ours: TrustStore,
    store: X509Store,
    no_certs: Stack<X509>,
}

fn trust() -> &'static Trust {
    static TRUST: OnceLock<Trust> = OnceLock::new();
    TRUST.get_or_init(|| {
        let ours = TrustStore::builtin();
        let mut builder = X509StoreBuilder::new().unwrap();
        let mut roots: Vec<&[u8]> = Vec::new();
        for cloud in Cloud::ALL {
            for root in ours.roots_for(cloud) {
                if !roots.contains(&root) {
                    roots.push(root);
                    builder.add_cert(X509::from_der(root).unwrap()).unwrap();
                }
            }
        }
        // PKCS7_verify builds chains only from the document's own certificates and the store,
        // so the intermediates go into the store: without PARTIAL_CHAIN they are not anchors.
        for cert in ours.intermediates_for(Cloud::Public) {
            builder.add_cert(X509::from_der(cert).unwrap()).unwrap();
        }
        let mut param = X509VerifyParam::new().unwrap();
        param.set_time(AT.unix_timestamp());
        param.set_depth(imds_attest::MAX_INTERMEDIATES);
        param.set_auth_level(2);
        param.set_purpose(X509PurposeId::ANY).unwrap();
        builder.set_param(&param).unwrap();
        Trust {
            ours,
            store: builder.build(),
            no_certs: Stack::new().unwrap(),
        }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(doc) = AttestedDocument::from_der(data) else {
        return;
    };
    let Ok(p7) = Pkcs7::from_der(data) else {
        return;
    };
    let t = trust();
    let ours = imds_attest::fuzzing::verify_signature_and_chain(&doc, &t.ours, AT);
    let mut out = Vec::new();
    let theirs = p7.verify(
        &t.no_certs,
        &t.store,
        None,
        Some(&mut out),
        Pkcs7Flags::empty(),
    );
    match (&ours, &theirs) {
        (Ok(()), Ok(())) => assert_eq!(out, doc.content(), "both accept but see other content"),
        (Err(_), Err(_)) => {}
        (Ok(()), Err(e)) => panic!("we accept what OpenSSL rejects: {e}"),
        (Err(e), Ok(())) => assert!(
            stricter_by_policy(e),
            "OpenSSL accepts what we reject: {e:?}"
        ),
    }
});
