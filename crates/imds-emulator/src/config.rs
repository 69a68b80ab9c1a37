//! How the emulator runs: [`Config`], the [`Faults`] it starts with, the VM config file (JSON or
//! TOML, by its extension), and the effective configuration that `imds-emulator --print-config`
//! shows.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{de, Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use crate::range::Range;
use crate::{Chain, Cloud, VmIdentity};

/// The statuses a fault can inject: IMDS's transient failures.
pub(crate) const FAULT_STATUSES: [u16; 4] = [410, 429, 500, 503];
/// `failCount`, `staleCount`: a million requests is more than any test makes.
pub(crate) const FAIL_COUNT: Range = Range::new("failCount", 0, 1_000_000);
/// `staleCount`.
pub(crate) const STALE_COUNT: Range = Range::new("staleCount", 0, 1_000_000);
/// `retryAfter`: up to a day, in seconds.
pub(crate) const RETRY_AFTER: Range = Range::new("retryAfter", 0, 86_400);
/// `latencyMs`: up to a minute, longer than any client waits for IMDS.
pub(crate) const LATENCY_MS: Range = Range::new("latencyMs", 0, 60_000);
/// The slowest and fastest time scales: at these, a year-long event's times stay far inside
/// what the clocks can represent.
pub(crate) const TIME_SCALES: (f64, f64) = (0.001, 1_000_000.0);

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

    /// Checks every number's range (what the JSON and TOML parsers check for what they read,
    /// for a configuration built in code), naming the field and range otherwise.
    pub fn check(&self) -> Result<(), String> {
        let (slowest, fastest) = TIME_SCALES;
        if !(slowest..=fastest).contains(&self.time_scale) {
            return Err(format!(
                "the time scale must be a number from {slowest} to {fastest}, not {}",
                self.time_scale
            ));
        }
        self.faults.check()?;
        let events = self.vm.scheduled_events.len();
        if events > crate::schedule::MAX_SCHEDULED_EVENTS {
            return Err(format!(
                "scheduledEvents holds {events} events; the most is {}",
                crate::schedule::MAX_SCHEDULED_EVENTS
            ));
        }
        for spec in &self.vm.scheduled_events {
            spec.check()?;
        }
        Ok(())
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
    #[serde(default, deserialize_with = "fail_status")]
    pub fail_status: Option<u16>,
    /// How many requests fail (up to 1000000).
    #[serde(default, deserialize_with = "fail_count")]
    pub fail_count: u32,
    /// The Retry-After seconds sent with 429 (up to 86400).
    #[serde(default, deserialize_with = "retry_after")]
    pub retry_after: Option<u32>,
    /// Delay before every answer, in milliseconds (up to 60000).
    #[serde(default, deserialize_with = "latency_ms")]
    pub latency_ms: u64,
    /// Serve the previous attested document (its old nonce) for the next this many requests
    /// (up to 1000000).
    #[serde(default, deserialize_with = "stale_count")]
    pub stale_count: u32,
}

impl Faults {
    /// Checks every number's range, for faults built in code.
    pub fn check(&self) -> Result<(), String> {
        if let Some(status) = self.fail_status {
            fault_status(status)?;
        }
        FAIL_COUNT.check(self.fail_count)?;
        if let Some(seconds) = self.retry_after {
            RETRY_AFTER.check(seconds)?;
        }
        LATENCY_MS.check(self.latency_ms)?;
        STALE_COUNT.check(self.stale_count)?;
        Ok(())
    }
}

fn fault_status(status: u16) -> Result<u16, String> {
    if FAULT_STATUSES.contains(&status) {
        Ok(status)
    } else {
        Err(format!(
            "failStatus must be one of 410, 429, 500 or 503, not {status}"
        ))
    }
}

fn fail_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    const STATUS: Range = Range::new("failStatus", 410, 503);
    STATUS
        .deserialize_option::<D, u16>(d)?
        .map(fault_status)
        .transpose()
        .map_err(de::Error::custom)
}

fn fail_count<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    FAIL_COUNT.deserialize(d)
}

fn retry_after<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    RETRY_AFTER.deserialize_option(d)
}

fn latency_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    LATENCY_MS.deserialize(d)
}

fn stale_count<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    STALE_COUNT.deserialize(d)
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
