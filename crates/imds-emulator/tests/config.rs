//! The VM config file and `--print-config`, through the binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use imds_attest_testpki::temp::{self, TempDir};
use serde_json::Value;

const JSON: &str = r#"{
  "vmId": "vm-from-file",
  "name": "web-1",
  "tags": {"env": "ci", "owner": "team"},
  "userData": "aGVsbG8=",
  "tenantId": "00000000-0000-0000-0000-000000000001",
  "identity": {
    "systemAssigned": false,
    "userAssigned": [{"clientId": "c1", "objectId": "o1", "msiResId": "/subscriptions/s/id1"}]
  },
  "loadBalancer": {
    "publicIpAddresses": [{"frontendIpAddress": "51.0.0.1", "privateIpAddress": "10.0.0.4"}],
    "inboundRules": [{"frontendIpAddress": "50.0.0.1", "protocol": "tcp", "frontendPort": 80, "backendPort": 443, "privateIpAddress": "10.0.0.4"}]
  },
  "scheduledEvents": [
    {"eventType": "Freeze", "notBeforeSeconds": 30, "durationSeconds": 5},
    {"eventType": "Reboot", "notBeforeSeconds": 300}
  ]
}"#;

const TOML: &str = r#"
vmId = "vm-from-file"
name = "web-1"
userData = "aGVsbG8="
tenantId = "00000000-0000-0000-0000-000000000001"

[tags]
env = "ci"
owner = "team"

[identity]
systemAssigned = false
userAssigned = [{ clientId = "c1", objectId = "o1", msiResId = "/subscriptions/s/id1" }]

[loadBalancer]
publicIpAddresses = [{ frontendIpAddress = "51.0.0.1", privateIpAddress = "10.0.0.4" }]
inboundRules = [{ frontendIpAddress = "50.0.0.1", protocol = "tcp", frontendPort = 80, backendPort = 443, privateIpAddress = "10.0.0.4" }]

[[scheduledEvents]]
eventType = "Freeze"
notBeforeSeconds = 30
durationSeconds = 5

[[scheduledEvents]]
eventType = "Reboot"
notBeforeSeconds = 300
"#;

/// A config file in a directory of its own, removed when dropped.
struct File {
    path: PathBuf,
    _dir: TempDir,
}

impl std::ops::Deref for File {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

fn file(name: &str, text: &str) -> File {
    let dir = temp::dir();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    File { path, _dir: dir }
}

fn emulator(config: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imds-emulator"))
        .args([
            "--pki-dir",
            "/nonexistent/pki",
            "--print-config",
            "--config",
        ])
        .arg(config)
        .args(extra)
        .output()
        .unwrap()
}

fn effective(config: &Path, extra: &[&str]) -> Value {
    let out = emulator(config, extra);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_toml_and_a_json_config_give_the_same_effective_config() {
    let from_json = effective(&file("vm.json", JSON), &[]);
    let from_toml = effective(&file("vm.toml", TOML), &[]);
    assert_eq!(from_json, from_toml);
    let vm = &from_json["vm"];
    assert_eq!(vm["vmId"], "vm-from-file");
    assert_eq!(vm["identity"]["userAssigned"][0]["clientId"], "c1");
    assert_eq!(
        vm["scheduledEvents"][1]["durationSeconds"], 60,
        "defaults fill what the file leaves out"
    );
    assert_eq!(vm["subscriptionId"], "8d10da13-8125-4ba9-a717-bf7490507b3d");
    assert_eq!(from_json["cloud"], "public");
}

#[test]
fn flags_override_the_config_file() {
    let config = effective(
        &file("override.json", JSON),
        &[
            "--vm-id",
            "vm-from-flag",
            "--region",
            "westeurope",
            "--time-scale",
            "10",
        ],
    );
    assert_eq!(config["vm"]["vmId"], "vm-from-flag");
    assert_eq!(
        config["vm"]["name"], "web-1",
        "what no flag names stays the file's"
    );
    assert_eq!(config["region"], "westeurope");
    assert_eq!(config["timeScale"], 10.0);
}

#[test]
fn the_pre_existing_json_config_still_works() {
    let config = effective(
        &file(
            "old.json",
            r#"{"vmId":"v","plan":{"name":"p","product":"o","publisher":"x"},"privateIp":"10.1.0.5"}"#,
        ),
        &[],
    );
    assert_eq!(config["vm"]["plan"]["product"], "o");
    assert_eq!(config["vm"]["privateIp"], "10.1.0.5");
}

#[test]
fn unknown_keys_are_refused_naming_the_key() {
    let cases = [
        ("typo.json", r#"{"vmID": "x"}"#, "vmID"),
        (
            "nested.json",
            r#"{"identity": {"systemAsigned": true}}"#,
            "systemAsigned",
        ),
        ("typo.toml", "vmid = \"x\"\n", "vmid"),
        (
            "nested.toml",
            "[[scheduledEvents]]\neventType = \"Reboot\"\nnotBefore = 3\n",
            "notBefore",
        ),
    ];
    for (name, text, key) in cases {
        let out = emulator(&file(name, text), &[]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("unknown field `{key}`")),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(name), "the error names the file: {stderr}");
    }
}
