//! The emulator's signing PKI: created in a folder on first start, reused after.
//!
//! `root.pem` and `intermediate.pem` are what a verifier trusts (`--root`, `--intermediate`);
//! the keys stay beside them so that a restarted emulator signs with the same chain.

use std::path::{Path, PathBuf};

use imds_attest_testpki::{CertSpec, Issued};
use time::{Duration, OffsetDateTime};

use crate::Cloud;

/// The signing chain and where it lives.
pub struct Pki {
    /// The folder.
    pub dir: PathBuf,
    /// The document signer.
    pub leaf: Issued,
}

const FILES: [&str; 5] = [
    "root.pem",
    "intermediate.pem",
    "intermediate.key.pem",
    "leaf.pem",
    "leaf.key.pem",
];

impl Pki {
    /// Loads the PKI in `dir`, or creates one there (a root, an issuing CA and a leaf named for
    /// `cloud` in `region`). A leaf that has expired or is for another name is re-issued by
    /// the same CA.
    pub fn open(dir: &Path, cloud: Cloud, region: &str) -> Result<Pki, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let read = |name: &str| std::fs::read(dir.join(name));
        let existing = FILES.iter().all(|f| dir.join(f).exists());
        let now = OffsetDateTime::now_utc();
        let leaf_spec = leaf_spec(cloud, region, now);
        let intermediate = if existing {
            let cert = read("intermediate.pem").map_err(|e| e.to_string())?;
            let key = read("intermediate.key.pem").map_err(|e| e.to_string())?;
            Issued::from_pem(&cert, &key).ok_or_else(|| {
                format!(
                    "{}: intermediate.pem or its key is unreadable",
                    dir.display()
                )
            })?
        } else {
            let root = Issued::new(&ca_spec("IMDS Emulator Test Root", now), None);
            let intermediate = Issued::new(&ca_spec("IMDS Emulator Issuing CA", now), Some(&root));
            write(dir, "root.pem", &root.pem())?;
            write(dir, "intermediate.pem", &intermediate.pem())?;
            write(dir, "intermediate.key.pem", &intermediate.key_pem())?;
            intermediate
        };
        let reusable = existing
            .then(|| {
                let leaf = Issued::from_pem(&read("leaf.pem").ok()?, &read("leaf.key.pem").ok()?)?;
                let names: Vec<String> = leaf
                    .cert
                    .subject_alt_names()?
                    .iter()
                    .filter_map(|n| n.dnsname().map(str::to_owned))
                    .collect();
                let valid =
                    leaf.cert.not_after() > openssl::asn1::Asn1Time::days_from_now(1).ok()?;
                (valid && Some(&names) == leaf_spec.san.as_ref()).then_some(leaf)
            })
            .flatten();
        let leaf = match reusable {
            Some(leaf) => leaf,
            None => {
                let leaf = Issued::new(&leaf_spec, Some(&intermediate));
                write(dir, "leaf.pem", &leaf.pem())?;
                write(dir, "leaf.key.pem", &leaf.key_pem())?;
                leaf
            }
        };
        Ok(Pki {
            dir: dir.to_path_buf(),
            leaf,
        })
    }
}

fn ca_spec(cn: &str, now: OffsetDateTime) -> CertSpec {
    CertSpec {
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(3650),
        // Fresh keys: an emulator's PKI must not share keys with anything else.
        slot: usize::MAX,
        ..CertSpec::ca(cn, 0)
    }
}

fn leaf_spec(cloud: Cloud, region: &str, now: OffsetDateTime) -> CertSpec {
    let domain = cloud.domain();
    CertSpec {
        cn: domain.into(),
        san: Some(vec![format!("{region}.{domain}"), domain.into()]),
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(365),
        slot: usize::MAX,
        ..CertSpec::imds_leaf()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
