//! The genuine documents captured on Azure VMs, read from `testdata/real/index.json`: the one
//! loader of that index for every crate's tests. Only inside the workspace (a published copy of
//! this crate has no `testdata/`).

use std::path::PathBuf;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How many genuine documents the index lists: a test that reads them all checks this, so
/// that a lost entry fails instead of shrinking the test.
pub const COUNT: usize = 5;

/// One genuine document, as its index entry describes it.
#[derive(Debug, Clone)]
pub struct Genuine {
    /// Its name, `taskcluster_2025_rsatls07` and the like.
    pub name: String,
    /// The IMDS JSON response as captured.
    pub file: PathBuf,
    /// The signature's DER (`raw/NAME.der`).
    pub der: PathBuf,
    /// The nonce it carries.
    pub nonce: String,
    /// The VM it names.
    pub vm_id: String,
    /// An instant at which it verifies (its `verify_at_utc`).
    pub at: OffsetDateTime,
    /// The SHA-256 of its signer certificate, upper-case hex.
    pub leaf_sha256: String,
    /// When its signer certificate expires.
    pub leaf_not_after: OffsetDateTime,
}

impl Genuine {
    /// The IMDS JSON response's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.file).unwrap_or_else(|e| panic!("{}: {e}", self.file.display()))
    }
}

/// `testdata/real/`.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real")
}

/// A file under `testdata/real/` (`raw/NAME.der` and the like included).
pub fn path(name: &str) -> PathBuf {
    dir().join(name)
}

/// Every genuine document, in the index's order; exactly [`COUNT`] of them.
pub fn all() -> Vec<Genuine> {
    let index: Value = serde_json::from_slice(&std::fs::read(path("index.json")).unwrap())
        .expect("testdata/real/index.json is JSON");
    let docs: Vec<Genuine> = index
        .as_array()
        .expect("the index is a list")
        .iter()
        .map(entry)
        .collect();
    assert_eq!(docs.len(), COUNT, "every genuine document is listed");
    docs
}

/// The genuine document called `name`.
pub fn named(name: &str) -> Genuine {
    all()
        .into_iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no genuine document {name} in testdata/real/index.json"))
}

fn entry(d: &Value) -> Genuine {
    let text = |key: &str| -> String {
        d[key]
            .as_str()
            .unwrap_or_else(|| panic!("index entry without {key}: {d}"))
            .to_owned()
    };
    let time = |key: &str| OffsetDateTime::parse(&text(key), &Rfc3339).unwrap();
    Genuine {
        name: text("name"),
        file: path(&text("file")),
        der: path(&text("der")),
        nonce: text("nonce"),
        vm_id: text("vmId"),
        at: time("verify_at_utc"),
        leaf_sha256: text("leaf_sha256"),
        leaf_not_after: time("leaf_not_after"),
    }
}
