//! An official Node client: `@azure/identity`'s `ManagedIdentityCredential` (MSAL Node makes
//! the IMDS request underneath), pointed at the emulator the way both document for IMDS
//! (`AZURE_POD_IDENTITY_AUTHORITY_HOST`, the IMDS base URL), gets tokens for the
//! system-assigned identity and for a user-assigned one by each of its three ids, and each
//! verifies against the emulator's JWKS.
//!
//! The client is pinned in tests/node/package-lock.json. `.ci/run` installs it with `npm ci`;
//! run by hand, this test does the same on first use (about 20 s). Without node and npm on
//! PATH when it was built it is marked ignored (see `build.rs`), except under `CI=true`, where
//! it runs and fails instead.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use imds_emulator::{Identities, UserAssigned};
use serde_json::{json, Value};

mod common;
use common::{jwks, start, verified_claims};

const RESOURCE_ID: &str =
    "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2";

fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("node")
}

/// Installs the pinned packages (by `npm ci`) if they are missing. node and npm are on PATH:
/// without them the test is marked ignored by the build script (never under `CI=true`).
fn install_node_packages() {
    let dir = node_dir();
    if !dir
        .join("node_modules/@azure/identity/package.json")
        .exists()
    {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status();
        match installed {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("npm ci in {} failed: {s}", dir.display()),
            Err(e) => panic!("npm cannot run ({e}), although it was on PATH at build time"),
        }
    }
}

#[test]
#[cfg_attr(
    any(no_node, no_npm),
    ignore = "node and npm are not installed (Node.js 20 or newer)"
)]
fn azure_identity_js_managed_identity_credential_gets_tokens_that_verify() {
    install_node_packages();
    let r = start(|c| {
        c.vm.identity = Identities {
            user_assigned: vec![
                UserAssigned {
                    client_id: "client-1".into(),
                    object_id: "object-1".into(),
                    msi_res_id: RESOURCE_ID.replace("id2", "id1"),
                },
                UserAssigned {
                    client_id: "client-2".into(),
                    object_id: "object-2".into(),
                    msi_res_id: RESOURCE_ID.into(),
                },
            ],
            ..Identities::default()
        };
    });
    let system = Identities::default();
    let scope = "https://management.azure.com/.default";
    let cases = json!([
        {"name": "system", "options": {}, "scope": scope},
        {"name": "clientId", "options": {"clientId": "client-2"}, "scope": scope},
        {"name": "objectId", "options": {"objectId": "object-2"}, "scope": scope},
        {"name": "resourceId", "options": {"resourceId": RESOURCE_ID}, "scope": scope},
    ]);
    let out = Command::new("node")
        .arg(node_dir().join("managed_identity.mjs"))
        .arg(cases.to_string())
        .current_dir(node_dir())
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", &r.url)
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IDENTITY_HEADER")
        .env_remove("IMDS_ENDPOINT")
        .env_remove("MSI_ENDPOINT")
        .env_remove("MSI_SECRET")
        .env_remove("IDENTITY_SERVER_THUMBPRINT")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "node failed: {stderr}");
    let results: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let keys = jwks(&r);
    for (name, appid, oid) in [
        (
            "system",
            system.system_client_id.as_str(),
            system.system_object_id.as_str(),
        ),
        ("clientId", "client-2", "object-2"),
        ("objectId", "client-2", "object-2"),
        ("resourceId", "client-2", "object-2"),
    ] {
        let got = &results[name];
        let token = got["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {got}"));
        let claims = verified_claims(token, &keys);
        // The SDK turns the scope into the resource: ".default" dropped.
        assert_eq!(claims["aud"], "https://management.azure.com", "{name}");
        assert_eq!(
            (claims["appid"].as_str(), claims["oid"].as_str()),
            (Some(appid), Some(oid)),
            "{name}"
        );
        // MSAL Node computes the expiry from `expires_in` against its own clock, so a second
        // that ends between the emulator's answer and the SDK reading it adds one.
        let sdk = got["expiresOnTimestamp"].as_i64().unwrap_or_default();
        let exp = claims["exp"].as_i64().unwrap_or_default() * 1000;
        assert!(
            (0..=1000).contains(&(sdk - exp)),
            "{name}: the SDK's expiresOnTimestamp {sdk} is not the token's exp {exp} (to a second)"
        );
    }
}
