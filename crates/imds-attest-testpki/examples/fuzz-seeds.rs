//! Writes test-PKI documents, certificates and claims into a folder, as fuzz seeds:
//! `cargo run -p imds-attest-testpki --example fuzz-seeds -- DIR` (see fuzz/seed-corpus.sh).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use imds_attest_testpki::{
    claims_json, imds_response, CertSpec, DocSpec, KeyKind, SignedAttrs, TestPki, OID_ECDSA_SHA256,
    OID_SHA256, REFERENCE_TIME,
};

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: fuzz-seeds DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, data: &[u8]| std::fs::write(dir.join(name), data).unwrap();
    let content = claims_json("seed-nonce", REFERENCE_TIME);
    let azure = TestPki::azure();
    let ec = TestPki::with_leaf(
        &["Test ECC CA"],
        &CertSpec {
            key: KeyKind::P256,
            ..CertSpec::imds_leaf()
        },
        0,
    );
    let cn_only = TestPki::with_leaf(
        &["Test CA"],
        &CertSpec {
            san: None,
            ..CertSpec::imds_leaf()
        },
        0,
    );
    let docs: Vec<(&str, Vec<u8>)> = vec![
        ("azure", azure.sign(&content)),
        ("g2", TestPki::azure_g2().sign(&content)),
        ("cn-only", cn_only.sign(&content)),
        (
            "signed-attrs",
            DocSpec {
                signed_attrs: SignedAttrs::Valid,
                ..DocSpec::imds(&content)
            }
            .sign(&azure.leaf),
        ),
        (
            "ski",
            DocSpec {
                sid_by_ski: true,
                ..DocSpec::imds(&content)
            }
            .sign(&azure.leaf),
        ),
        (
            "two-signers",
            DocSpec {
                second_signer: true,
                ..DocSpec::imds(&content)
            }
            .sign(&azure.leaf),
        ),
        (
            "detached",
            DocSpec {
                detached: true,
                ..DocSpec::imds(&content)
            }
            .sign(&azure.leaf),
        ),
        (
            "carried-intermediate",
            DocSpec {
                embed: Some(vec![
                    azure.leaf.cert.clone(),
                    azure.intermediates[0].cert.clone(),
                ]),
                ..DocSpec::imds(&content)
            }
            .sign(&azure.leaf),
        ),
        (
            "ecdsa",
            DocSpec {
                signature_oid: OID_ECDSA_SHA256,
                digest_oid: OID_SHA256,
                ..DocSpec::imds(&content)
            }
            .sign(&ec.leaf),
        ),
    ];
    for (name, der) in &docs {
        write(&format!("doc-{name}.der"), der);
        write(&format!("doc-{name}.json"), imds_response(der).as_bytes());
    }
    for (name, pki) in [("azure", &azure), ("ec", &ec)] {
        write(
            &format!("cert-{name}-leaf.der"),
            &pki.leaf.cert.to_der().unwrap(),
        );
        write(&format!("cert-{name}-root.pem"), pki.root_pem().as_bytes());
    }
    write("claims-azure.json", &content);
    write("claims-old-api.json", br#"{"nonce":"20190101-000000","plan":{"name":"","product":"","publisher":""},"timeStamp":{"createdOn":"01/01/19 00:00:00 -0000","expiresOn":"01/01/19 06:00:00 -0000"},"vmId":"v"}"#);
    for (i, name) in [
        "metadata.azure.com",
        "eastus.metadata.azure.com",
        "evilmetadata.azure.com",
        "metadata.azure.com.evil",
        "X.METADATA.AZURE.US",
        "metadata.microsoftazure.de",
    ]
    .iter()
    .enumerate()
    {
        write(&format!("name-{i}.txt"), name.as_bytes());
    }
}
