//! How the emulator runs: [`Config`], the [`Faults`] it starts with, the VM config file (JSON or
//! TOML, by its extension), and the effective configuration that `imds-emulator --print-config`
//! shows.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{Chain, Cloud, VmIdentity};

/// How the emulator runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the PKI is created or reused.
    pub pki_dir: PathBuf,
    /// Whose name the signer bears.
    pub cloud: Cloud,
    /// The region in the signer's SAN and the VM's location.
    pub region: String,
    /// The VM's identity.
    pub vm: VmIdentity,
    /// Faults to start with.
    pub faults: Faults,
    /// Where the old VM extension's token endpoint (`GET /oauth2/token`) listens, if at all
    /// (it was `127.0.0.1:50342` on Azure).
    pub extension_listen: Option<SocketAddr>,
    /// How many times faster than real time scheduled events run (1 is real time).
    pub time_scale: f64,
    /// The signing chain's shape.
    pub chain: Chain,
    /// Rotate to a new issuing CA once at start (as `POST /admin/rotate` does).
    pub rotate_at_start: bool,
}

impl Config {
    /// Public cloud, eastus, the default VM, no faults.
    pub fn new(pki_dir: PathBuf) -> Config {
        Config {
            pki_dir,
            cloud: Cloud::Public,
            region: "eastus".into(),
            vm: VmIdentity::default(),
            faults: Faults::default(),
            extension_listen: None,
            time_scale: 1.0,
            chain: Chain::G1,
            rotate_at_start: false,
        }
    }

    /// The configuration the emulator runs with, as JSON.
    pub fn effective(&self) -> Value {
        json!({
            "pkiDir": self.pki_dir,
            "cloud": self.cloud.name(),
            "region": self.region,
            "extensionListen": self.extension_listen.map(|a| a.to_string()),
            "timeScale": self.time_scale,
            "chain": self.chain,
            "rotateAtStart": self.rotate_at_start,
            "faults": self.faults,
            "vm": self.vm,
        })
    }
}

/// Injected misbehaviour: set at start or by `POST /admin/faults` with the same JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Faults {
    /// Answer the next `fail_count` requests with this status (410, 429, 500 or 503).
    #[serde(default)]
    pub fail_status: Option<u16>,
    /// How many requests fail.
    #[serde(default)]
    pub fail_count: u32,
    /// The Retry-After seconds sent with 429.
    #[serde(default)]
    pub retry_after: Option<u32>,
    /// Delay before every answer, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Serve the previous attested document (its old nonce) for the next this many requests.
    #[serde(default)]
    pub stale_count: u32,
}

impl VmIdentity {
    /// Reads a VM config file: TOML if its name ends in `.toml`, JSON otherwise. Every key is
    /// optional; an unknown key is an error that names it.
    pub fn from_file(path: &Path) -> Result<VmIdentity, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let toml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        if toml {
            VmIdentity::from_toml(&text)
        } else {
            VmIdentity::from_json(&text)
        }
        .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses a JSON VM config.
    pub fn from_json(text: &str) -> Result<VmIdentity, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Parses a TOML VM config (the same keys as the JSON one).
    pub fn from_toml(text: &str) -> Result<VmIdentity, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }
}
