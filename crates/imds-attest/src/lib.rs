//! Verify Azure Instance Metadata Service (IMDS) attested documents.
//!
//! An Azure VM gets a PKCS#7-signed JSON statement about itself from
//! `http://169.254.169.254/metadata/attested/document`. This crate checks everything that makes
//! such a document worth believing: the CMS signature over the content, the chain from the
//! certificate that actually signed to a pinned root of the signer's cloud, the signer's name
//! (`*.metadata.azure.com` and the other clouds' domains, at a label boundary), the nonce, and
//! createdOn/expiresOn against a time the caller gives. It never reads the clock, and does no
//! network I/O unless the `fetch` feature's IMDS client (`imds`) is called, or the `aia`
//! feature's fetcher of missing intermediates ([`aia`]) is given to a verifier.
//!
//! ```
//! use imds_attest::{AttestedDocument, NonceCheck, Policy, TrustStore, Verifier};
//! use time::macros::datetime;
//!
//! # fn main() -> Result<(), imds_attest::Error> {
//! let verifier = Verifier::new(TrustStore::builtin(), Policy::default());
//! let response = std::fs::read("../../testdata/real/coder_rsa_2024_rsatls08.json").unwrap();
//! let doc = AttestedDocument::parse(&response)?;           // untrusted bytes, parsed once
//! let verified = verifier.verify(&doc, NonceCheck::Exact("20240422-233245"),
//!                                datetime!(2024-04-22 17:32:45 UTC))?;
//! println!("VM {} in {}", verified.claims().vm_id, verified.cloud());
//! # assert_eq!(verified.region(), Some("eastus"));
//! # Ok(()) }
//! ```
//!
//! # What a licence server needs
//!
//! - **One [`Verifier`] per process**, shared across threads (it is `Send + Sync`): it
//!   remembers what it proved about each signer, so a document from a signer seen before costs
//!   one signature check. [`Verifier::verify_bytes`] takes the request body as it came.
//! - **Your nonce**: issue a challenge, have the VM ask IMDS for a document carrying it, and
//!   redeem it once with [`NonceCheck::Redeem`] and a [`Redeemer`]. The `imds-attest-store`
//!   crate has the stores (memory, SQLite, Redis) and stateless challenges; the verifier calls
//!   the store last, after every other check, and refuses the document when the store cannot
//!   answer.
//! - **Claim rules** ([`Rules`], attached with [`Policy::with_rules`]): which subscriptions,
//!   plans, SKUs or VMs get a licence, as a TOML file of `[[deny]]` and `[[allow]]` rules;
//!   [`VerifiedDocument::rule`] names the allow rule matched.
//! - **Your clock**: every check takes the time you pass (`time::OffsetDateTime::now_utc()` in a
//!   server; a document's own time to re-check a captured one).
//! - **Stable error kinds**: every [`Error`] has a [`kind`](Error::kind) ([`ErrorKind`], such
//!   as `nonce_already_used`, `untrusted_issuer`, `denied_by_rule`) to log, count and answer
//!   with; the message says what to do.
//! - **Rotations**: the built-in trust pins Azure's roots and intermediates; with the `aia`
//!   feature a missing intermediate is fetched from its caIssuers URL (and used only if the
//!   whole chain then verifies to a pinned root), with `trust-dir` an operator adds one.
//!
//! Features: `fetch` (the IMDS client, `imds`, for the VM's side), `aia` (the HTTP fetcher
//! of missing intermediates, `aia::http`), `trust-dir` (reading trust directories), `random`
//! (random nonces, `random_nonce`). None is on by default: the default build does no I/O.
//! The `imds-attest-service` crate is all of the above as an HTTP service.
#![forbid(unsafe_code)]

pub mod aia;
mod algorithms;
mod claims;
mod cloud;
mod cms;
mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "fetch")]
pub mod imds;
mod input;
mod inspect;
mod kind_table;
mod limits;
mod nonce;
mod policy;
mod redeem;
mod rules;
mod signature;
mod signer;
mod signer_proof;
mod strict_json;
mod tlv;
mod trust;
mod verify;
mod warm;
mod x509;

/// What [`error_kinds!`] expands to names; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}

/// The JSON types that appear in public fields ([`Claims::other`], [`Inspection::content`])
/// and results ([`VerifiedDocument::to_json`]), re-exported so that callers name the same
/// version.
pub mod json {
    pub use serde_json::{Error, Map, Value};
}

pub use aia::{IntermediateFetcher, IssuerRequest};
pub use claims::{parse_timestamp, Claims, Plan};
pub use cloud::Cloud;
pub use cms::AttestedDocument;
pub use error::{
    echoed, AiaFetchReason, AlgorithmReason, Base64Reason, ChainReason, ClaimsReason, DerReason,
    EnvelopeReason, Error, ErrorKind, FetchedReason, InputReason, KeyReason, NameReason,
    ProfileReason, RuleField, RulesReason, SignedAttributesReason, StructureReason,
    TimestampReason, TlvProblem, TrustFileReason, MAX_ECHOED_CHARS,
};
pub use inspect::{inspect, CertificateInfo, Inspection};
pub use limits::{
    DEFAULT_MAX_INPUT_BYTES, MAX_DER_DEPTH, MAX_DER_ELEMENTS, MAX_EMBEDDED_CERTIFICATES,
    MAX_INTERMEDIATES, MAX_RSA_BITS, MAX_RSA_EXPONENT, MIN_RSA_BITS,
};
pub use nonce::{check_nonce_syntax, expected_nonce, NonceSyntax, MAX_NONCE_LEN};
#[cfg(feature = "random")]
pub use nonce::{random_nonce, NoRandomness};
pub use policy::{NonceCheck, Policy, DEFAULT_SKEW};
pub use redeem::Redeemer;
pub use rules::{Rule, Rules, VerifySection};
pub use signer::SignerFacts;
pub use trust::{TrustDirRole, TrustStore, TrustedCertificate};
pub use verify::{SignerCacheStats, VerifiedDocument, Verifier};
pub use warm::DEFAULT_CACHE_CAPACITY;

/// The crate's README (its page on crates.io), compiled as a doctest so that its example
/// stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
