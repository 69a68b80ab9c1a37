//! Challenges: stateless nonces, issued without writing anything, redeemed once.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::{Operation, StoreError};
use crate::signed_nonce::{self, ChallengeKey};
use crate::{FirstUse, Redemption, Store};

/// Issues and redeems challenges over a store.
///
/// A nonce carries its own expiry and a MAC under the store's [`ChallengeKey`]
/// ([`Store::challenge_key`]), fetched on first use and then kept in this process: issuing
/// writes nothing, so an unauthenticated caller asking for challenges cannot grow the store.
/// Redeeming checks the MAC and the expiry before it asks the store anything; then it reads
/// the store's key again (a store that lost its data, and with it the record of used nonces,
/// has a new key, and every nonce of the old one is unknown rather than redeemable again) and
/// remembers the nonce as used until its expiry ([`Store::remember`]). The store holds only
/// the nonces of documents that reached it, each until its expiry. Instances over one SQLite
/// file or one Redis share the key, and so accept each other's challenges.
///
/// ```
/// use imds_attest_store::{open, Challenges, Redemption};
/// use std::time::Duration;
/// use time::macros::datetime;
///
/// # fn main() -> Result<(), imds_attest_store::StoreError> {
/// let challenges = Challenges::new(open("memory:")?);
/// let now = datetime!(2026-12-01 12:00 UTC);
/// let challenge = challenges.issue(Duration::from_secs(300), now)?;
/// assert_eq!(challenge.nonce.len(), 32);
/// assert_eq!(challenge.expires_at, datetime!(2026-12-01 12:05 UTC));
/// let later = datetime!(2026-12-01 12:00:20 UTC);
/// assert_eq!(challenges.redeem(&challenge.nonce, later)?, Redemption::Redeemed);
/// assert_eq!(challenges.redeem(&challenge.nonce, later)?, Redemption::AlreadyUsed);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Challenges {
    store: Arc<dyn Store>,
    // Shared by the clones: the key as the store last gave it.
    key: Arc<RwLock<Option<ChallengeKey>>>,
}

/// A nonce for a client to ask IMDS for, and until when it may be redeemed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// [`MAX_NONCE_LEN`](crate::MAX_NONCE_LEN) ASCII letters and digits.
    pub nonce: String,
    /// The first instant at which it is [`Redemption::Expired`](crate::Redemption::Expired):
    /// a whole second (the nonce carries seconds).
    pub expires_at: OffsetDateTime,
}

/// What a used nonce is remembered as: a digest in its own domain, so that no document's
/// content digest ([`Store::remember`] for single-use documents) can collide with it.
const NONCE_DOMAIN: &[u8] = b"imds-attest challenge nonce\0";

impl Challenges {
    /// Challenges over `store` (a `Box<dyn Store>` from [`open`](crate::open), or an `Arc`
    /// shared with others).
    pub fn new(store: impl Into<Arc<dyn Store>>) -> Self {
        Challenges {
            store: store.into(),
            key: Arc::new(RwLock::new(None)),
        }
    }

    /// Issues a fresh nonce valid from `now` for `ttl` (its expiry floored to the second).
    /// Writes nothing; the first call of a process reads (or creates) the store's key.
    ///
    /// Fails if the expiry is not after `now` (a zero or sub-second `ttl`), or too far to
    /// represent ([`StoreError::Expiry`]), or if the store cannot give its key.
    pub fn issue(&self, ttl: Duration, now: OffsetDateTime) -> Result<Challenge, StoreError> {
        Self::issue_with(&self.key(Operation::Issue)?, ttl, now)
    }

    /// Issues as [`issue`](Self::issue) does when the store's key is already known in this
    /// process, so without touching the store or blocking (a server may answer on its event
    /// loop); `None` before the first [`issue`](Self::issue) or redemption has fetched it.
    pub fn issue_if_key_known(
        &self,
        ttl: Duration,
        now: OffsetDateTime,
    ) -> Option<Result<Challenge, StoreError>> {
        let key = self
            .key
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        Some(Self::issue_with(&key, ttl, now))
    }

    fn issue_with(
        key: &ChallengeKey,
        ttl: Duration,
        now: OffsetDateTime,
    ) -> Result<Challenge, StoreError> {
        let too_far = || StoreError::Expiry {
            expires_at: now,
            now,
        };
        let expires_unix = time::Duration::try_from(ttl)
            .ok()
            .and_then(|ttl| now.checked_add(ttl))
            .map(|t| t.unix_timestamp())
            .ok_or_else(too_far)?;
        let expires_at =
            OffsetDateTime::from_unix_timestamp(expires_unix).map_err(|_| too_far())?;
        if expires_at <= now {
            return Err(StoreError::Expiry { expires_at, now });
        }
        let nonce = signed_nonce::issue(key, expires_unix)?
            .ok_or(StoreError::Expiry { expires_at, now })?;
        Ok(Challenge { nonce, expires_at })
    }

    /// Redeems a nonce exactly once: atomic across threads, processes and (Redis) machines.
    ///
    /// A nonce these challenges (or others over the same store) did not issue is
    /// [`Redemption::Unknown`], and one at or past its expiry [`Redemption::Expired`], without
    /// the store being asked anything (but its key, on this process's first use).
    pub fn redeem(&self, nonce: &str, at: OffsetDateTime) -> Result<Redemption, StoreError> {
        let cached = self.key(Operation::Redeem)?;
        let Some(expires_unix) = signed_nonce::verify(&cached, nonce) else {
            return Ok(Redemption::Unknown);
        };
        let Ok(expires_at) = OffsetDateTime::from_unix_timestamp(expires_unix) else {
            return Ok(Redemption::Unknown);
        };
        if at >= expires_at {
            return Ok(Redemption::Expired);
        }
        // Only for a nonce we signed: a read, which no forged nonce can cause.
        let current = self
            .store
            .challenge_key()
            .map_err(|e| e.during(Operation::Redeem))?;
        if current != cached {
            // The store lost the key, and whatever it knew of the nonces signed with it.
            *self.key.write().unwrap_or_else(PoisonError::into_inner) = Some(current);
            return Ok(Redemption::Unknown);
        }
        let digest: [u8; 32] = Sha256::new()
            .chain_update(NONCE_DOMAIN)
            .chain_update(nonce.as_bytes())
            .finalize()
            .into();
        match self
            .store
            .remember(&digest, expires_at, at)
            .map_err(|e| e.during(Operation::Redeem))?
        {
            FirstUse::First => Ok(Redemption::Redeemed),
            FirstUse::AlreadyUsed => Ok(Redemption::AlreadyUsed),
        }
    }

    /// The store, to remember single-use documents and to describe.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The store's key, fetched on first use (failing as part of `operation`).
    fn key(&self, operation: Operation) -> Result<ChallengeKey, StoreError> {
        if let Some(key) = &*self.key.read().unwrap_or_else(PoisonError::into_inner) {
            return Ok(key.clone());
        }
        let key = self
            .store
            .challenge_key()
            .map_err(|e| e.during(operation))?;
        // Two threads may both fetch it; the store gives both the same key.
        *self.key.write().unwrap_or_else(PoisonError::into_inner) = Some(key.clone());
        Ok(key)
    }
}

impl std::fmt::Debug for Challenges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Challenges")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// [`MAX_NONCE_LEN`](crate::MAX_NONCE_LEN) (32) characters from `[A-Za-z0-9]`, uniformly from the operating system's
/// CSPRNG: about 190 bits, what IMDS accepts as a nonce (not a challenge: see
/// [`Challenges::issue`]).
///
/// ```
/// let nonce = imds_attest_store::random_nonce().unwrap();
/// assert_eq!(nonce.len(), 32);
/// assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
/// ```
pub fn random_nonce() -> Result<String, StoreError> {
    imds_attest::random_nonce().map_err(|e| StoreError::Randomness { message: e.message })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// Without its key the fast path says so rather than block on the store; once the key is
    /// known it issues nonces the store redeems as any other.
    #[test]
    fn issuing_without_the_store_waits_for_the_key_then_redeems_alike() {
        let challenges = Challenges::new(crate::open("memory:").unwrap());
        let now = datetime!(2026-12-01 12:00 UTC);
        let ttl = Duration::from_secs(300);
        assert!(challenges.issue_if_key_known(ttl, now).is_none());
        let first = challenges.issue(ttl, now).unwrap();
        let fast = challenges.issue_if_key_known(ttl, now).unwrap().unwrap();
        assert_eq!(fast.expires_at, first.expires_at);
        assert_ne!(fast.nonce, first.nonce);
        let later = datetime!(2026-12-01 12:01 UTC);
        assert_eq!(
            challenges.redeem(&fast.nonce, later).unwrap(),
            Redemption::Redeemed
        );
        assert_eq!(
            challenges.redeem(&fast.nonce, later).unwrap(),
            Redemption::AlreadyUsed
        );
    }
}
