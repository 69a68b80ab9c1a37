//! What every face of imds-attest builds the same way: the trust store from the files a user
//! names, the policy from a rules file and the options over it, and the clock.
//!
//! The `imds-attest` command line, the HTTP licence service and the Python package each take
//! these from their own kind of input (flags, a config file, keyword arguments) and hand them
//! here, so that the same file gives the same trust, the same policy and, when it is wrong,
//! the same error kind ([`SetupError::kind`]: `trust_file` or `rules_file`) on every face.
//! The verifier crate itself never reads a file or the clock; this crate is where that
//! happens.
//!
//! ```
//! use imds_attest_setup::{PolicySettings, TrustDir, TrustSources};
//!
//! # fn main() -> Result<(), imds_attest_setup::SetupError> {
//! let trust = TrustSources {
//!     roots: vec![],
//!     intermediates: vec![],
//!     dir: TrustDir::None,
//! }
//! .build()?;
//! let policy = PolicySettings::default().build();
//! let verifier = imds_attest::Verifier::new(trust, policy);
//! let now = imds_attest_setup::now();
//! assert_eq!(now.nanosecond(), 0);
//! # let _ = verifier;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod clock;
mod error;
mod files;
mod policy;
mod trust;

pub use clock::now;
pub use error::{FileRole, SetupError};
pub use files::{read_capped, MAX_FILE_BYTES};
pub use policy::{load_rules, PolicySettings};
pub use trust::{default_trust_dir, TrustDir, TrustSource, TrustSources};
