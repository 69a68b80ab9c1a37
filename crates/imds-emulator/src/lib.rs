//! A local Azure Instance Metadata Service: attested documents signed exactly as IMDS signs
//! them (the sha256WithRSAEncryption digest OID, no signed attributes, only the leaf embedded),
//! instance metadata with route filtering, IMDS's request rules, and injectable faults.
//!
//! ```no_run
//! # async fn run() -> Result<(), String> {
//! let config = imds_emulator::Config::new("pki".into());
//! let server = imds_emulator::Emulator::bind(config, "127.0.0.1:0".parse().unwrap()).await?;
//! println!("http://{}", server.addr());
//! server.serve().await
//! # }
//! ```
//!
//! The modules: `server` (binding, serving, [`Background`]), `rules` (what IMDS checks on every
//! request), `endpoints/` (one file per endpoint, and the admin endpoints), `response` (the two
//! error shapes), `state` (what requests share), `config` ([`Config`], [`Faults`], the VM config
//! file), `vm`, `identity`, `schedule` and `pki` (what the endpoints serve).
#![forbid(unsafe_code)]

mod config;
mod endpoints;
mod identity;
mod pki;
mod range;
mod response;
mod rules;
mod schedule;
mod server;
mod state;
mod vm;

pub use config::{Config, Faults};
pub use endpoints::attested::FIRST_ATTESTED_VERSION;
pub use endpoints::instance::FIRST_USER_DATA_VERSION;
pub use endpoints::load_balancer::FIRST_LOAD_BALANCER_VERSION;
pub use endpoints::scheduled_events::SCHEDULED_EVENTS_VERSIONS;
pub use endpoints::token::FIRST_IDENTITY_VERSION;
pub use endpoints::versions::API_VERSIONS;
pub use identity::{Identities, UserAssigned, TOKEN_LIFETIME_SECONDS};
pub use imds_attest::Cloud;
pub use pki::{ca_issuers, Chain, Pki};
pub use rules::{IDENTITY_RATE_LIMIT_PER_SECOND, RATE_LIMIT_PER_SECOND};
pub use schedule::{EventSpec, EventType, MAX_SCHEDULED_EVENTS};
pub use server::{Background, Emulator};
pub use vm::{InboundRule, LoadBalancer, OutboundRule, Plan, PublicIpAddress, VmIdentity};
