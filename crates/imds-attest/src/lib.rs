//! Verify Azure Instance Metadata Service (IMDS) attested documents.
//!
//! An Azure VM gets a PKCS#7-signed JSON statement about itself from
//! `http://169.254.169.254/metadata/attested/document`. This crate checks everything that makes
//! such a document worth believing: the CMS signature over the content, the chain from the
//! certificate that actually signed to a pinned root of the signer's cloud, the signer's name
//! (`*.metadata.azure.com` and the other clouds' domains, at a label boundary), the nonce, and
//! createdOn/expiresOn against a time the caller gives. It never reads the clock, and does no
//! network I/O unless the `fetch` feature's IMDS client ([`fetch`]) is called.
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
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod cache;
mod claims;
mod cloud;
mod cms;
mod error;
#[cfg(feature = "fetch")]
pub mod fetch;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod input;
mod inspect;
mod limits;
mod outline;
mod policy;
mod signature;
mod signer;
mod strict_json;
mod trust;
mod verify;

pub use cache::DEFAULT_CACHE_CAPACITY;
pub use claims::{parse_timestamp, Claims, Plan};
pub use cloud::Cloud;
pub use cms::{AttestedDocument, MAX_EMBEDDED_CERTIFICATES};
pub use error::Error;
pub use inspect::{inspect, CertificateInfo, Inspection};
pub use limits::{DEFAULT_MAX_INPUT_BYTES, MAX_DER_DEPTH, MAX_DER_ELEMENTS};
pub use policy::{NonceCheck, Policy, DEFAULT_SKEW};
pub use signature::MIN_RSA_BITS;
pub use signer::SignerFacts;
pub use trust::chain::MAX_INTERMEDIATES;
pub use trust::TrustStore;
pub use verify::{VerifiedDocument, Verifier};
