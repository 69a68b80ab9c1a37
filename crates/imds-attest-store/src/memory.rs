//! `memory:`: a bounded store for tests and single-process servers.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::{Backend, Operation, StoreError};
use crate::{CheckedNonce, FirstUse, Redemption, Store, Window};

/// The capacity of the store `memory:` opens: nonces and documents together.
pub const DEFAULT_MEMORY_CAPACITY: usize = 100_000;

/// A store in this process's memory, lost when it exits. Holds at most its capacity of
/// entries; when that many are unexpired, [`Store::issue`] and [`Store::remember`] fail with
/// [`StoreError::Full`] rather than evict a live challenge. Expired entries are forgotten as
/// time (the callers' `now`) passes them: nonces [`EXPIRED_NONCE_RETENTION`] after their
/// expiry, or at once when room is needed; documents at their `until`.
///
/// [`EXPIRED_NONCE_RETENTION`]: crate::EXPIRED_NONCE_RETENTION
///
/// ```
/// use imds_attest_store::{MemoryStore, Store, StoreError};
/// use time::macros::datetime;
///
/// let store = MemoryStore::with_capacity(1);
/// let now = datetime!(2026-12-01 12:00 UTC);
/// store.issue("first", now + time::Duration::MINUTE, now).unwrap();
/// assert!(matches!(
///     store.issue("second", now + time::Duration::MINUTE, now),
///     Err(StoreError::Full { capacity: 1, .. })
/// ));
/// ```
pub struct MemoryStore {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    nonces: HashMap<String, Nonce>,
    /// (expires_at ms, nonce), to forget in expiry order.
    nonce_expiry: BTreeSet<(i64, String)>,
    /// Digest to `until` ms.
    documents: HashMap<[u8; 32], i64>,
    document_expiry: BTreeSet<(i64, [u8; 32])>,
}

struct Nonce {
    expires_ms: i64,
    used: bool,
}

impl MemoryStore {
    /// A store of [`DEFAULT_MEMORY_CAPACITY`] entries.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_MEMORY_CAPACITY)
    }

    /// A store of at most `capacity` entries (nonces and documents together).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            capacity,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update below leaves the maps consistent before anything can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("MemoryStore")
            .field("capacity", &self.capacity)
            .field("nonces", &state.nonces.len())
            .field("documents", &state.documents.len())
            .finish()
    }
}

impl State {
    fn len(&self) -> usize {
        self.nonces.len().saturating_add(self.documents.len())
    }

    /// Forgets documents whose `until` is past and nonces whose expiry is past by the
    /// retention, or past at all when `pressed` for room.
    fn sweep(&mut self, now_ms: i64, pressed: bool) {
        let retention_ms =
            i64::try_from(crate::EXPIRED_NONCE_RETENTION.whole_milliseconds()).unwrap_or(i64::MAX);
        let nonce_horizon = if pressed {
            now_ms
        } else {
            now_ms.saturating_sub(retention_ms)
        };
        while let Some((expires_ms, _)) = self.nonce_expiry.first() {
            if *expires_ms > nonce_horizon {
                break;
            }
            if let Some((_, nonce)) = self.nonce_expiry.pop_first() {
                self.nonces.remove(&nonce);
            }
        }
        while let Some((until_ms, _)) = self.document_expiry.first() {
            if *until_ms > now_ms {
                break;
            }
            if let Some((_, digest)) = self.document_expiry.pop_first() {
                self.documents.remove(&digest);
            }
        }
    }

    /// Room for one more entry, forgetting expired ones if need be.
    fn make_room(
        &mut self,
        capacity: usize,
        now_ms: i64,
        operation: Operation,
    ) -> Result<(), StoreError> {
        if self.len() >= capacity {
            self.sweep(now_ms, true);
        }
        if self.len() >= capacity {
            return Err(StoreError::Full {
                capacity,
                operation,
            });
        }
        Ok(())
    }
}

impl Store for MemoryStore {
    fn insert_nonce(&self, nonce: CheckedNonce<'_>, window: Window) -> Result<(), StoreError> {
        let (nonce, now_ms, expires_ms) = (nonce.as_str(), window.from_ms(), window.until_ms());
        let mut state = self.state();
        state.sweep(now_ms, false);
        if state.nonces.contains_key(nonce) {
            return Err(StoreError::DuplicateNonce {
                location: self.describe(),
            });
        }
        state.make_room(self.capacity, now_ms, Operation::Issue)?;
        state.nonces.insert(
            nonce.to_owned(),
            Nonce {
                expires_ms,
                used: false,
            },
        );
        state.nonce_expiry.insert((expires_ms, nonce.to_owned()));
        Ok(())
    }

    fn use_nonce(&self, nonce: CheckedNonce<'_>, at_ms: i64) -> Result<Redemption, StoreError> {
        let mut state = self.state();
        state.sweep(at_ms, false);
        Ok(match state.nonces.get_mut(nonce.as_str()) {
            None => Redemption::Unknown,
            Some(n) if n.used => Redemption::AlreadyUsed,
            Some(n) if at_ms >= n.expires_ms => Redemption::Expired,
            Some(n) => {
                n.used = true;
                Redemption::Redeemed
            }
        })
    }

    fn insert_digest(&self, digest: &[u8; 32], window: Window) -> Result<FirstUse, StoreError> {
        let (at_ms, until_ms) = (window.from_ms(), window.until_ms());
        let mut state = self.state();
        state.sweep(at_ms, false);
        // The sweep forgot every digest remembered until `at` or before.
        if state.documents.contains_key(digest) {
            return Ok(FirstUse::AlreadyUsed);
        }
        state.make_room(self.capacity, at_ms, Operation::Remember)?;
        state.documents.insert(*digest, until_ms);
        state.document_expiry.insert((until_ms, *digest));
        Ok(FirstUse::First)
    }

    fn describe(&self) -> String {
        "memory:".to_owned()
    }

    fn backend(&self) -> Backend {
        Backend::Memory
    }
}
