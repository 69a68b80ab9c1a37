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
pub use error::{Backend, NonceReason, Operation, StoreError, StoreErrorKind, UrlReason};
pub use memory::{MemoryStore, DEFAULT_MEMORY_CAPACITY};
pub use url::{DEFAULT_REDIS_PREFIX, DEFAULT_REDIS_TIMEOUT};

/// The longest nonce a store holds: what IMDS accepts (1 to 32 ASCII letters and digits).
pub use imds_attest::MAX_NONCE_LEN;

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
///
/// Callers use [`Store::issue`], [`Store::redeem`] and [`Store::remember`], which make the
/// checks every store shares and only then ask the backend. A backend implements
/// [`Store::insert_nonce`], [`Store::use_nonce`] and [`Store::insert_digest`], which receive
/// arguments those checks have proven ([`CheckedNonce`], [`Window`]) and which nothing outside
/// this crate can build, so no caller can skip them.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Records a challenge nonce valid until `expires_at` (exclusive).
    ///
    /// Refuses a nonce that is not 1 to [`MAX_NONCE_LEN`] ASCII letters and digits
    /// ([`StoreError::InvalidNonce`]), an `expires_at` not after `now` to the millisecond
    /// ([`StoreError::Expiry`]) and a nonce the store already holds
    /// ([`StoreError::DuplicateNonce`]): issuing never resets a used nonce.
    fn issue(
        &self,
        nonce: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let nonce =
            CheckedNonce::new(nonce).map_err(|reason| StoreError::InvalidNonce { reason })?;
        let window = Window::new(now, expires_at).ok_or(StoreError::Expiry { expires_at, now })?;
        self.insert_nonce(nonce, window)
    }

    /// Redeems a nonce exactly once: atomic across threads, processes and (Redis) machines.
    /// A nonce that could not have been issued (see [`Store::issue`]) is
    /// [`Redemption::Unknown`] without the store being asked.
    fn redeem(&self, nonce: &str, at: OffsetDateTime) -> Result<Redemption, StoreError> {
        match CheckedNonce::new(nonce) {
            Ok(nonce) => self.use_nonce(nonce, unix_millis(at)),
            Err(_) => Ok(Redemption::Unknown),
        }
    }

    /// Remembers a document digest until `until`; a second call before then answers
    /// [`FirstUse::AlreadyUsed`]. An `until` not after `at` (to the millisecond) is
    /// [`FirstUse::First`] and is not stored: such a document is no longer valid anyway.
    fn remember(
        &self,
        digest: &[u8; 32],
        until: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<FirstUse, StoreError> {
        match Window::new(at, until) {
            Some(window) => self.insert_digest(digest, window),
            None => Ok(FirstUse::First),
        }
    }

    /// The backend's part of [`Store::issue`]: records `nonce` as issued at
    /// [`Window::from_ms`] and valid until [`Window::until_ms`] (exclusive), or answers
    /// [`StoreError::DuplicateNonce`] if it holds the nonce already, used or not.
    fn insert_nonce(&self, nonce: CheckedNonce<'_>, window: Window) -> Result<(), StoreError>;

    /// The backend's part of [`Store::redeem`]: marks `nonce` used if it is held, unused and
    /// valid at `at_ms` (Unix milliseconds), in one atomic step; otherwise says why not.
    fn use_nonce(&self, nonce: CheckedNonce<'_>, at_ms: i64) -> Result<Redemption, StoreError>;

    /// The backend's part of [`Store::remember`]: records `digest` until
    /// [`Window::until_ms`], unless it is held until after [`Window::from_ms`] (then
    /// [`FirstUse::AlreadyUsed`]), in one atomic step.
    fn insert_digest(&self, digest: &[u8; 32], window: Window) -> Result<FirstUse, StoreError>;

    /// Where it is, for messages: `memory:`, `sqlite:/var/lib/x.db`, `redis://host:6379/0`
    /// (never a password).
    fn describe(&self) -> String;

    /// Which backend it is.
    fn backend(&self) -> Backend;
}

/// A nonce a store may hold: 1 to [`MAX_NONCE_LEN`] ASCII letters and digits. Only
/// [`Store::issue`] and [`Store::redeem`] make one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedNonce<'a>(&'a str);

impl<'a> CheckedNonce<'a> {
    fn new(nonce: &'a str) -> Result<Self, NonceReason> {
        imds_attest::check_nonce_syntax(nonce).map(CheckedNonce)
    }

    /// The nonce.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

/// From one instant to a later one, in Unix milliseconds (floored): when a nonce is issued and
/// when it expires, or when a digest is remembered and until when. `until_ms` is always after
/// `from_ms`. Only [`Store::issue`] and [`Store::remember`] make one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    from_ms: i64,
    until_ms: i64,
}

impl Window {
    fn new(from: OffsetDateTime, until: OffsetDateTime) -> Option<Self> {
        let (from_ms, until_ms) = (unix_millis(from), unix_millis(until));
        (from_ms < until_ms).then_some(Window { from_ms, until_ms })
    }

    /// The start, in Unix milliseconds.
    pub fn from_ms(&self) -> i64 {
        self.from_ms
    }

    /// The end (exclusive), in Unix milliseconds; after [`Window::from_ms`].
    pub fn until_ms(&self) -> i64 {
        self.until_ms
    }
}

/// Opens the store a URL names:
///
/// - `memory:`: a [`MemoryStore`] of [`DEFAULT_MEMORY_CAPACITY`] entries;
/// - `sqlite:PATH`, `sqlite:PATH?sync=normal` (the default) or `sqlite:PATH?sync=full`: the
///   file is created with mode 0600 if missing, and refused if others may read or write it.
///   WAL with `synchronous=NORMAL` keeps every answered redemption across a crash of the
///   process (not of the machine) and allows thousands of redemptions a second; `sync=full`
///   also survives a power loss, at the cost of a disk flush per redemption. Each SQLite
///   store runs one thread, which checkpoints the WAL into the database file every 100 ms
///   off the path of any answer and stops when the store is dropped (as with any SQLite
///   connection, do not use a store in a process forked after it was opened);
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

/// An instant as Unix milliseconds, floored, saturating outside `i64` (beyond any date the
/// `time` crate represents by default).
fn unix_millis(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}
