//! Challenge nonces and single-use documents for [imds-attest](https://docs.rs/imds-attest):
//! the state a licence server keeps so that an attested document is accepted once.
//!
//! A licence server hands each client a fresh nonce ([`Challenges::issue`]), the client asks
//! IMDS for a document carrying it, and the server, after verifying the document, redeems the
//! nonce ([`Store::redeem`]): exactly once, whatever the number of threads, processes or (with
//! Redis) machines asking at the same time. [`Store::remember`] does the same for the digest of
//! a document's content, for servers that do not issue nonces.
//!
//! Three backends, chosen by URL ([`open`]):
//!
//! - `memory:`: one process, bounded ([`DEFAULT_MEMORY_CAPACITY`] live entries; see
//!   [`MemoryStore`]);
//! - `sqlite:PATH` (`?sync=full` for power-loss durability): one machine, any number of
//!   processes; a redemption is committed before it is answered and survives a crash;
//! - `redis://[user:password@]host:port/db` and `rediss://` (TLS): several machines.
//!
//! Like the verifier, the stores never read the clock: every instant is an argument. Any
//! failure of a store is a [`StoreError`], never a success: a caller that cannot reach its store
//! refuses the licence.
//!
//! ```
//! use imds_attest_store::{open, Challenges, Redemption};
//! use time::macros::datetime;
//!
//! # fn main() -> Result<(), imds_attest_store::StoreError> {
//! let challenges = Challenges::new(open("memory:")?);
//! let now = datetime!(2026-12-01 12:00 UTC);
//! let challenge = challenges.issue(std::time::Duration::from_secs(60), now)?;
//! // ... the client returns a document carrying challenge.nonce, which the verifier checks ...
//! let later = datetime!(2026-12-01 12:00:20 UTC);
//! assert_eq!(challenges.store().redeem(&challenge.nonce, later)?, Redemption::Redeemed);
//! assert_eq!(challenges.store().redeem(&challenge.nonce, later)?, Redemption::AlreadyUsed);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod challenge;
mod error;
mod memory;
mod redeem;
mod redis;
mod sqlite;
mod url;

use time::OffsetDateTime;

pub use challenge::{random_nonce, Challenge, Challenges};
pub use error::{Backend, NonceReason, Operation, StoreError, UrlReason};
pub use memory::{MemoryStore, DEFAULT_MEMORY_CAPACITY};
pub use url::{DEFAULT_REDIS_PREFIX, DEFAULT_REDIS_TIMEOUT};

/// The longest nonce a store holds: what IMDS accepts (1 to 32 ASCII letters and digits).
pub const MAX_NONCE_LEN: usize = 32;

/// How long after its expiry a nonce is still remembered, so that redeeming it answers
/// [`Redemption::Expired`] (or [`Redemption::AlreadyUsed`]) rather than
/// [`Redemption::Unknown`]. Afterwards the store forgets it, which keeps it bounded by the issue
/// rate times (TTL + this). A full [`MemoryStore`] forgets expired nonces sooner.
pub const EXPIRED_NONCE_RETENTION: time::Duration = time::Duration::HOUR;

/// What redeeming a nonce found. Only [`Redemption::Redeemed`] lets a document through.
///
/// Deliberately not `#[non_exhaustive]`: a `match` must name every outcome, so that no
/// wildcard arm can turn a future one into an acceptance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Redemption {
    /// The nonce was issued, had not expired and had not been redeemed: it is now used.
    Redeemed,
    /// The store holds no such nonce: never issued here, malformed, or forgotten long after
    /// its expiry.
    Unknown,
    /// The nonce expired at or before the redemption time.
    Expired,
    /// The nonce was redeemed before.
    AlreadyUsed,
}

/// What remembering a document digest found. Only [`FirstUse::First`] lets a document through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum FirstUse {
    /// The digest was not remembered (or only until an instant now past): it is now.
    First,
    /// The digest is remembered until after the given time: the document was used before.
    AlreadyUsed,
}

/// A challenge and single-use store. Every method is atomic and safe to call from many
/// threads; the SQLite and Redis stores are also atomic across processes (and, for Redis,
/// machines) sharing them.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Records a challenge nonce valid until `expires_at` (exclusive).
    ///
    /// Refuses a nonce that is not 1 to [`MAX_NONCE_LEN`] ASCII letters and digits
    /// ([`StoreError::InvalidNonce`]), an `expires_at` not after `now`
    /// ([`StoreError::Expiry`]) and a nonce the store already holds
    /// ([`StoreError::DuplicateNonce`]): issuing never resets a used nonce.
    fn issue(
        &self,
        nonce: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Redeems a nonce exactly once: atomic across threads, processes and (Redis) machines.
    /// A nonce that could not have been issued (see [`Store::issue`]) is
    /// [`Redemption::Unknown`] without the store being asked.
    fn redeem(&self, nonce: &str, at: OffsetDateTime) -> Result<Redemption, StoreError>;

    /// Remembers a document digest until `until`; a second call before then answers
    /// [`FirstUse::AlreadyUsed`]. An `until` not after `at` is [`FirstUse::First`] and is not
    /// stored: such a document is no longer valid anyway.
    fn remember(
        &self,
        digest: &[u8; 32],
        until: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<FirstUse, StoreError>;

    /// Where it is, for messages: `memory:`, `sqlite:/var/lib/x.db`, `redis://host:6379/0`
    /// (never a password).
    fn describe(&self) -> String;
}

/// Opens the store a URL names:
///
/// - `memory:`: a [`MemoryStore`] of [`DEFAULT_MEMORY_CAPACITY`] entries;
/// - `sqlite:PATH`, `sqlite:PATH?sync=normal` (the default) or `sqlite:PATH?sync=full`: the
///   file is created with mode 0600 if missing, and refused if others may read or write it.
///   WAL with `synchronous=NORMAL` keeps every answered redemption across a crash of the
///   process (not of the machine) and allows thousands of redemptions a second; `sync=full`
///   also survives a power loss, at the cost of a disk flush per redemption;
/// - `redis://[user[:password]@]host[:port][/db]` and `rediss://...` (TLS, the system's
///   roots), port 6379 and database 0 by default, with optional `?prefix=P` (keys under `P`,
///   default [`DEFAULT_REDIS_PREFIX`]; letters, digits and `:_.-`) and `?timeout_ms=N`
///   (connect, read and write timeout, default [`DEFAULT_REDIS_TIMEOUT`]). The user and
///   password may be percent-encoded. Opening does not connect: a connection is made on first
///   use, and again after any failure.
///
/// ```
/// # fn main() -> Result<(), imds_attest_store::StoreError> {
/// let store = imds_attest_store::open("memory:")?;
/// assert_eq!(store.describe(), "memory:");
/// let store = imds_attest_store::open("redis://licence:s3cret@cache.internal:6380/2")?;
/// assert_eq!(store.describe(), "redis://licence@cache.internal:6380/2");
/// # Ok(()) }
/// ```
pub fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    Ok(match url::parse(url)? {
        url::Location::Memory => Box::new(MemoryStore::new()),
        url::Location::Sqlite { path, sync } => Box::new(sqlite::SqliteStore::open(path, sync)?),
        url::Location::Redis(redis) => Box::new(redis::RedisStore::open(redis)?),
    })
}

/// Whether a nonce is one a store may hold (and so could have issued).
fn check_nonce(nonce: &str) -> Result<(), NonceReason> {
    if nonce.is_empty() {
        return Err(NonceReason::Empty);
    }
    if nonce.len() > MAX_NONCE_LEN {
        return Err(NonceReason::TooLong {
            length: nonce.len(),
        });
    }
    match nonce.bytes().position(|b| !b.is_ascii_alphanumeric()) {
        Some(at) => Err(NonceReason::Character { at }),
        None => Ok(()),
    }
}

/// An instant as Unix milliseconds, floored, saturating outside `i64` (beyond any date the
/// `time` crate represents by default).
fn unix_millis(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// The checks [`Store::issue`] makes before any backend is asked.
fn check_issue(
    nonce: &str,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    check_nonce(nonce).map_err(|reason| StoreError::InvalidNonce { reason })?;
    if expires_at <= now {
        return Err(StoreError::Expiry { expires_at, now });
    }
    Ok(())
}
