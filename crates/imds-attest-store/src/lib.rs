//! Challenge nonces and single-use documents for [imds-attest](https://docs.rs/imds-attest):
//! the state a licence server keeps so that an attested document is accepted once.
//!
//! A licence server hands each client a challenge ([`Challenges::issue`]): a nonce that
//! carries its own expiry and a MAC under the store's key, so that issuing writes nothing. The
//! client asks IMDS for a document carrying it, and the server, after verifying the document,
//! redeems the nonce ([`Challenges::redeem`]): a forged or expired nonce is refused without the
//! store being asked, and a genuine one is accepted exactly once, whatever the number of
//! threads, processes or (with Redis) machines asking at the same time. [`Store::remember`]
//! does the same for the digest of a document's content, for servers that do not issue
//! nonces. A store thus holds its key, the nonces of redeemed documents until their expiry
//! and the digests of single-use documents until theirs: nothing an unauthenticated caller
//! can add to.
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
//! assert_eq!(challenges.redeem(&challenge.nonce, later)?, Redemption::Redeemed);
//! assert_eq!(challenges.redeem(&challenge.nonce, later)?, Redemption::AlreadyUsed);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod challenge;
mod error;
mod memory;
mod redeem;
mod redis;
mod signed_nonce;
mod sqlite;
mod url;

use time::OffsetDateTime;

pub use challenge::{random_nonce, Challenge, Challenges};
pub use error::{Backend, NonceReason, Operation, StoreError, StoreErrorKind, UrlReason};
pub use memory::{MemoryStore, DEFAULT_MEMORY_CAPACITY};
pub use signed_nonce::ChallengeKey;
pub use url::{DEFAULT_REDIS_PREFIX, DEFAULT_REDIS_TIMEOUT};

/// The longest nonce a store holds: what IMDS accepts (1 to 32 ASCII letters and digits).
pub use imds_attest::MAX_NONCE_LEN;

/// What redeeming a nonce found. Only [`Redemption::Redeemed`] lets a document through.
///
/// Deliberately not `#[non_exhaustive]`: a `match` must name every outcome, so that no
/// wildcard arm can turn a future one into an acceptance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Redemption {
    /// The nonce was issued, had not expired and had not been redeemed: it is now used.
    Redeemed,
    /// Not a nonce issued under this store's key: forged, altered, malformed or issued
    /// elsewhere.
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

/// A challenge and single-use store: it keeps the challenges' key and remembers digests
/// (of used nonces and of single-use documents) until an instant. Every method is atomic and
/// safe to call from many threads; the SQLite and Redis stores are also atomic across
/// processes (and, for Redis, machines) sharing them.
///
/// Callers use [`Challenges`] and [`Store::remember`], which make the checks every store
/// shares and only then ask the backend. A backend implements [`Store::challenge_key`] and
/// [`Store::insert_digest`], which receives arguments those checks have proven ([`Window`])
/// and which nothing outside this crate can build, so no caller can skip them.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The key challenges are signed with: created at random on the first call, atomically
    /// (two instances asking at once get the same key), and the same for every later call and
    /// every instance sharing the store. After the first call, only reads.
    fn challenge_key(&self) -> Result<ChallengeKey, StoreError>;

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

/// From one instant to a later one, in Unix milliseconds (floored): when a digest is
/// remembered and until when. `until_ms` is always after `from_ms`. Only [`Store::remember`]
/// makes one.
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
