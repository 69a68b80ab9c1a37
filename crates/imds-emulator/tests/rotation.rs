//! Issuing-CA rotation, AIA URLs and the G2 chain shape, over loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine;
use imds_attest::imds::fetch_blocking;
use imds_attest::{
    AttestedDocument, ErrorKind, NonceCheck, Policy, TrustStore, VerifiedDocument, Verifier,
};
use imds_emulator::{ca_issuers, Chain};
use openssl::x509::X509;
use serde_json::Value;

mod common;
use common::{start, Running};

/// A fresh document's JSON, for `nonce`.
fn document(r: &Running, nonce: &str) -> String {
    fetch_blocking(&r.with_nonce(nonce), |_| {}).unwrap().body
}

fn verify(
    body: &str,
    nonce: &str,
    root: &[u8],
    intermediates: &[u8],
) -> Result<VerifiedDocument, imds_attest::Error> {
    let trust = TrustStore::from_pem(root, intermediates).unwrap();
    let doc = AttestedDocument::parse(body.as_bytes()).unwrap();
    Verifier::new(trust, Policy::default()).verify(
        &doc,
        NonceCheck::Exact(nonce),
        time::OffsetDateTime::now_utc(),
    )
}

/// The signer certificate embedded in a document.
fn signer(body: &str) -> X509 {
    let v: Value = serde_json::from_str(body).unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(v["signature"].as_str().unwrap())
        .unwrap();
    let p7 = openssl::pkcs7::Pkcs7::from_der(&der).unwrap();
    let certs = p7.signed().unwrap().certificates().unwrap();
    assert_eq!(certs.len(), 1, "only the leaf is embedded, as IMDS does");
    certs.get(0).unwrap().to_owned()
}

/// The certificate at the document signer's AIA caIssuers URL, as PEM.
fn issuer_from_aia(r: &Running, body: &str) -> (String, Vec<u8>) {
    let url = ca_issuers(&signer(body)).expect("the signer names its issuer");
    let path = url
        .strip_prefix(&r.url)
        .unwrap_or_else(|| panic!("{url} is under {}", r.url));
    let (status, der) = r.get_bytes(path);
    assert_eq!(status, 200, "{url}");
    (url, X509::from_der(&der).unwrap().to_pem().unwrap())
}

fn read(r: &Running, name: &str) -> Vec<u8> {
    std::fs::read(r.dir.join(name)).unwrap()
}

#[test]
fn after_rotate_a_new_document_chains_only_through_the_new_ca_served_at_its_aia_url() {
    let r = start(|_| {});
    let root = read(&r, "root.pem");
    let old_intermediate = read(&r, "intermediate.pem");
    let before = document(&r, "before");
    let old = verify(&before, "before", &root, &old_intermediate).unwrap();

    let (status, body) = r.raw(reqwest::Method::POST, "/admin/rotate", &[], None);
    assert_eq!(status, 200, "{body}");
    let after = document(&r, "after");
    let refused = verify(&after, "after", &root, &old_intermediate).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::UntrustedIssuer, "{refused}");

    let (url, new_ca) = issuer_from_aia(&r, &after);
    assert!(url.ends_with("/pki/issuing-2.cer"), "{url}");
    let new = verify(&after, "after", &root, &new_ca).unwrap();
    assert_ne!(new.signer().issuer, old.signer().issuer);
    assert!(
        new.signer().issuer.contains("Issuing CA 2"),
        "{}",
        new.signer().issuer
    );
    assert_eq!(
        read(&r, "intermediate.pem"),
        new_ca,
        "intermediate.pem follows the rotation"
    );

    // The old CA stays at its URL, so documents signed before still chain from it.
    let (old_url, old_ca) = issuer_from_aia(&r, &before);
    assert!(old_url.ends_with("/pki/issuing-1.cer"), "{old_url}");
    assert_eq!(old_ca, old_intermediate);
    for missing in [
        "/pki/issuing-3.cer",
        "/pki/issuing-01.cer",
        "/pki/leaf.cer",
        "/pki/issuing-1.pem",
        "/pki/%2e%2e%2froot.cer",
    ] {
        assert_eq!(r.get_bytes(missing).0, 404, "{missing}");
    }
    assert_eq!(
        r.get_bytes("/pki/root.cer").1,
        X509::from_pem(&root).unwrap().to_der().unwrap()
    );
}

#[test]
fn rotate_at_start_signs_under_the_second_ca() {
    let r = start(|c| c.rotate_at_start = true);
    let body = document(&r, "n");
    let (url, _) = issuer_from_aia(&r, &body);
    assert!(url.ends_with("/pki/issuing-2.cer"), "{url}");
    verify(
        &body,
        "n",
        &read(&r, "root.pem"),
        &read(&r, "intermediate.pem"),
    )
    .unwrap();
}

#[test]
fn the_g2_chain_signs_through_a_cross_signed_intermediate_root_and_rotates_under_it() {
    let r = start(|c| c.chain = Chain::G2);
    let root = read(&r, "root.pem");
    let body = document(&r, "g2");
    let verified = verify(&body, "g2", &root, &read(&r, "intermediate.pem")).unwrap();
    assert_eq!(
        verified.chain().len(),
        4,
        "leaf, issuing CA, cross-signed root, root: {:?}",
        verified.chain()
    );
    assert!(
        verified.chain()[2].contains("TLS RSA Root G2"),
        "{:?}",
        verified.chain()
    );
    assert!(
        verified.signer().issuer.contains("TLS G2 RSA CA 01"),
        "{}",
        verified.signer().issuer
    );

    r.raw(reqwest::Method::POST, "/admin/rotate", &[], None);
    let after = document(&r, "g2b");
    let (_, new_ca) = issuer_from_aia(&r, &after);
    let (status, cross_der) = r.get_bytes("/pki/cross.cer");
    assert_eq!(status, 200);
    let mut intermediates = X509::from_der(&cross_der).unwrap().to_pem().unwrap();
    intermediates.extend(new_ca);
    let verified = verify(&after, "g2b", &root, &intermediates).unwrap();
    assert!(
        verified.signer().issuer.contains("TLS G2 RSA CA 02"),
        "{}",
        verified.signer().issuer
    );
    assert!(
        verified.chain()[2].contains("TLS RSA Root G2"),
        "{:?}",
        verified.chain()
    );
}

#[test]
fn a_pki_folder_of_the_other_chain_shape_is_made_afresh() {
    let r = start(|_| {});
    let g1_root = read(&r, "root.pem");
    let pki = r.stop();
    let g2 = start(|c| {
        c.pki_dir = pki.path().to_path_buf();
        c.chain = Chain::G2;
    });
    assert_ne!(read(&g2, "root.pem"), g1_root);
    let body = document(&g2, "x");
    verify(
        &body,
        "x",
        &read(&g2, "root.pem"),
        &read(&g2, "intermediate.pem"),
    )
    .unwrap();
}
