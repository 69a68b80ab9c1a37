//! A real client: Python's azure-identity `ManagedIdentityCredential`, pointed at the emulator
//! the way the SDK documents for IMDS (`AZURE_POD_IDENTITY_AUTHORITY_HOST`), gets a token that
//! verifies against the emulator's JWKS.
//!
//! It makes a virtualenv under target/ and installs a pinned azure-identity from PyPI on first
//! run (about 20 s; later runs reuse it). Without python3 on PATH when it was built it is marked
//! ignored (see `build.rs`), except under `CI=true`, where it runs and fails instead; python3
//! without its venv module fails, saying what to install.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

mod common;
use common::{jwks, start, verified_claims};

const AZURE_IDENTITY: &str = "azure-identity==1.27.0";

/// The virtualenv's python, made on first use (python3 is on PATH: without it the test is
/// marked ignored by the build script, never under `CI=true`).
fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pyvenv-azure-identity");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "python3 -m venv failed: install python3-venv (python3 without it is not enough)"
        );
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            AZURE_IDENTITY,
        ])
        .status()
        .unwrap();
    assert!(installed.success(), "pip install {AZURE_IDENTITY}");
    python
}

const SCRIPT: &str = r#"
import json
from azure.identity import ManagedIdentityCredential
token = ManagedIdentityCredential().get_token("https://management.azure.com/.default")
print(json.dumps({"token": token.token, "expires_on": token.expires_on}))
"#;

#[test]
#[cfg_attr(no_python3, ignore = "python3 is not installed")]
fn azure_identity_managed_identity_credential_gets_a_token_that_verifies() {
    let python = python();
    let r = start(|_| {});
    let out = Command::new(python)
        .args(["-c", SCRIPT])
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", &r.url)
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IMDS_ENDPOINT")
        .env_remove("MSI_ENDPOINT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let claims = verified_claims(got["token"].as_str().unwrap(), &jwks(&r));
    // The SDK turns the scope into the resource: ".default" dropped.
    assert_eq!(claims["aud"], "https://management.azure.com");
    assert_eq!(claims["exp"], got["expires_on"]);
}
