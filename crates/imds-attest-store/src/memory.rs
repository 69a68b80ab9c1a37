//! `memory:`: a bounded store for tests and single-process servers.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use crate::error::{Backend, Operation, StoreError};
use crate::{ChallengeKey, FirstUse, Store, Window};

/// The capacity of the store `memory:` opens: remembered digests (of used nonces and of
/// single-use documents).
pub const DEFAULT_MEMORY_CAPACITY: usize = 100_000;

/// A store in this process's memory, lost when it exits. Its challenge key is made at random
/// on first use. Remembers at most its capacity of digests; when that many are unexpired,
/// [`Store::remember`] (and so a redemption) fails with [`StoreError::Full`] rather than
/// forget a live one. A digest is forgotten when time (the callers' `now`) passes its `until`.
///
/// ```
/// use imds_attest_store::{FirstUse, MemoryStore, Store, StoreError};
/// use time::macros::datetime;
///
/// let store = MemoryStore::with_capacity(1);
/// let now = datetime!(2026-12-01 12:00 UTC);
/// let until = now + time::Duration::MINUTE;
/// assert_eq!(store.remember(&[1; 32], until, now), Ok(FirstUse::First));
/// assert!(matches!(
///     store.remember(&[2; 32], until, now),
///     Err(StoreError::Full { capacity: 1, .. })
/// ));
/// ```
pub struct MemoryStore {
    capacity: usize,
    key: OnceLock<ChallengeKey>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Digest to `until` ms.
    documents: HashMap<[u8; 32], i64>,
    document_expiry: BTreeSet<(i64, [u8; 32])>,
}

impl MemoryStore {
    /// A store of [`DEFAULT_MEMORY_CAPACITY`] entries.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_MEMORY_CAPACITY)
    }

    /// A store of at most `capacity` remembered digests.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            capacity,
            key: OnceLock::new(),
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
            .field("documents", &state.documents.len())
            .finish()
    }
}

impl State {
    fn len(&self) -> usize {
        self.documents.len()
    }

    /// Forgets digests whose `until` is past.
    fn sweep(&mut self, now_ms: i64) {
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
            self.sweep(now_ms);
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
    fn challenge_key(&self) -> Result<ChallengeKey, StoreError> {
        if let Some(key) = self.key.get() {
            return Ok(key.clone());
        }
        let key = ChallengeKey::random()?;
        Ok(self.key.get_or_init(|| key).clone())
    }

    fn insert_digest(&self, digest: &[u8; 32], window: Window) -> Result<FirstUse, StoreError> {
        let (at_ms, until_ms) = (window.from_ms(), window.until_ms());
        let mut state = self.state();
        state.sweep(at_ms);
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
