//! What the CLI's test files share: where the genuine documents are, and how to run the
//! binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use imds_attest_testpki::temp::{self, TempDir};
use imds_attest_testpki::TestPki;

/// The genuine document most tests use, its nonce, and an instant at which it verifies.
pub const REAL: &str = "taskcluster_2025_rsatls07";
pub const REAL_NONCE: &str = "20251119-185330";
pub const REAL_AT: &str = "2025-11-19T12:53:30Z";

/// The `--any-nonce` warning line, as printed on standard error.
pub const ANY_NONCE_WARNING: &str =
    "imds-attest: warning: --any-nonce: the nonce is not checked; this document could be a replay";

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The path of a file under testdata/real/ (`raw/NAME.der` and the like included).
pub fn real(name: &str) -> String {
    imds_attest_testpki::genuine::path(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// A test PKI with its root and intermediates written as PEM files, in a folder where the tests
/// also write what they pass the binary. Kept by a test binary's `static`, so it lives under
/// `CARGO_TARGET_TMPDIR`.
pub struct PkiFiles {
    /// The PKI, to sign documents with.
    pub pki: TestPki,
    /// `root.pem`'s path.
    pub root: String,
    /// `intermediate.pem`'s path.
    pub intermediate: String,
    dir: TempDir,
}

impl PkiFiles {
    /// Writes `pki`'s root and intermediates in a new folder.
    pub fn new(pki: TestPki) -> PkiFiles {
        let dir = temp::dir_in(env!("CARGO_TARGET_TMPDIR"));
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        let (root, intermediate) = (path("root.pem"), path("intermediate.pem"));
        std::fs::write(&root, pki.root_pem()).unwrap();
        std::fs::write(&intermediate, pki.intermediates_pem()).unwrap();
        PkiFiles {
            pki,
            root,
            intermediate,
            dir,
        }
    }

    /// Writes `data` as `name` in the folder; its path.
    pub fn put(&self, name: &str, data: impl AsRef<[u8]>) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

/// What a run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary with these arguments, this standard input and without IMDS_ENDPOINT.
pub fn run(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imds-attest"))
        .args(args)
        .env_remove("IMDS_ENDPOINT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit before reading everything (a usage error): ignore a broken pipe.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}
