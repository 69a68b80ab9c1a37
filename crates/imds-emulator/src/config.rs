//! The VM config file, JSON or TOML (by its extension), and the effective configuration that
//! `imds-emulator --print-config` shows.

use std::path::Path;

use serde_json::{json, Value};

use crate::{Config, VmIdentity};

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

impl Config {
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
