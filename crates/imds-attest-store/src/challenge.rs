//! Challenges: fresh nonces, issued into a store.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::error::StoreError;
use crate::Store;

/// Issues challenges into a store: a fresh [`random_nonce`] each, valid for a TTL.
///
/// ```
/// use imds_attest_store::{open, Challenges};
/// use std::time::Duration;
/// use time::macros::datetime;
///
/// # fn main() -> Result<(), imds_attest_store::StoreError> {
/// let challenges = Challenges::new(open("memory:")?);
/// let now = datetime!(2026-12-01 12:00 UTC);
/// let challenge = challenges.issue(Duration::from_secs(300), now)?;
/// assert_eq!(challenge.nonce.len(), 32);
/// assert_eq!(challenge.expires_at, datetime!(2026-12-01 12:05 UTC));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Challenges {
    store: Arc<dyn Store>,
}

/// A nonce for a client to ask IMDS for, and until when it may be redeemed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// [`MAX_NONCE_LEN`](crate::MAX_NONCE_LEN) ASCII letters and digits.
    pub nonce: String,
    /// The first instant at which it is [`Redemption::Expired`](crate::Redemption::Expired).
    pub expires_at: OffsetDateTime,
}

impl Challenges {
    /// Challenges issued into `store` (a `Box<dyn Store>` from [`open`](crate::open), or an
    /// `Arc` shared with others).
    pub fn new(store: impl Into<Arc<dyn Store>>) -> Self {
        Challenges {
            store: store.into(),
        }
    }

    /// Issues a fresh nonce valid from `now` for `ttl`.
    ///
    /// Fails if `ttl` is zero or `now + ttl` is past the last representable instant
    /// ([`StoreError::Expiry`]), or as the store's [`Store::issue`] does.
    pub fn issue(&self, ttl: Duration, now: OffsetDateTime) -> Result<Challenge, StoreError> {
        let expires_at = time::Duration::try_from(ttl)
            .ok()
            .and_then(|ttl| now.checked_add(ttl))
            .ok_or(StoreError::Expiry {
                expires_at: now,
                now,
            })?;
        let nonce = random_nonce()?;
        self.store.issue(&nonce, expires_at, now)?;
        Ok(Challenge { nonce, expires_at })
    }

    /// The store, to redeem nonces and remember documents.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }
}

/// [`MAX_NONCE_LEN`](crate::MAX_NONCE_LEN) (32) characters from `[A-Za-z0-9]`, uniformly from the operating system's
/// CSPRNG: about 190 bits, what IMDS accepts as a nonce.
///
/// ```
/// let nonce = imds_attest_store::random_nonce().unwrap();
/// assert_eq!(nonce.len(), 32);
/// assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
/// ```
pub fn random_nonce() -> Result<String, StoreError> {
    imds_attest::random_nonce().map_err(|e| StoreError::Randomness { message: e.message })
}
