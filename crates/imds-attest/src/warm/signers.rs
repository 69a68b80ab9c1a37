//! The signer cache: what a verifier proved about a signer, remembered so that the next
//! document from the same signer costs one signature check.
//!
//! An entry is keyed by the SHA-256 of the signer certificate, the certificates the document
//! carried and the signature algorithm, so it applies only to documents that would be checked
//! exactly the same way; it lives in one [`Verifier`](crate::Verifier), whose trust store and
//! policy never change; and it is used only inside the validity window of the chain it proved.
//! Outside that window the chain is built again, and gives the same error an uncached verifier
//! gives.
//!
//! Shards behind read-write locks keep the hot path free of any global lock: a hit takes one
//! shard's read lock. Eviction is CLOCK (second chance), an LRU approximation that needs no
//! write on a hit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::algorithms::SignatureAlgorithm;
use crate::cms::SignedPart;
use crate::signer_proof::ProvenSigner;

/// The number of signers a [`Verifier`](crate::Verifier) remembers by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 4096;

const SHARDS: usize = 16;

/// A remembered proof that holds within a span of time.
pub(crate) trait Proof {
    fn valid_at(&self, at: OffsetDateTime) -> bool;
}

impl Proof for ProvenSigner {
    fn valid_at(&self, at: OffsetDateTime) -> bool {
        ProvenSigner::valid_at(self, at)
    }
}

/// A document outline verified before (see `outline.rs`): the signer it names and what its
/// SignerInfo says, everything of it but its content and signature.
#[derive(Debug)]
pub(crate) struct KnownOutline {
    pub(crate) signer: Arc<ProvenSigner>,
    /// The signed part with an empty content and signature.
    pub(crate) template: SignedPart,
}

impl Proof for KnownOutline {
    fn valid_at(&self, at: OffsetDateTime) -> bool {
        self.signer.valid_at(at)
    }
}

pub(crate) type SignerId = [u8; 32];

/// The cache key of a document's signer: its signature algorithm, the signer certificate's
/// encoding and the encodings of the other certificates it carries.
pub(crate) fn signer_id(
    algorithm: SignatureAlgorithm,
    signer: &[u8],
    others: &[Vec<u8>],
) -> SignerId {
    let mut h = Sha256::new();
    h.update([algorithm as u8]);
    for der in std::iter::once(signer).chain(others.iter().map(Vec::as_slice)) {
        h.update((der.len() as u64).to_be_bytes());
        h.update(der);
    }
    h.finalize().into()
}

/// Proofs keyed by a SHA-256, bounded, with CLOCK eviction.
#[derive(Debug)]
pub(crate) struct SignerCache<P = ProvenSigner> {
    shards: Vec<RwLock<Shard<P>>>,
    per_shard: usize,
}

#[derive(Debug)]
struct Shard<P> {
    index: HashMap<SignerId, usize>,
    slots: Vec<Slot<P>>,
    hand: usize,
}

impl<P> Default for Shard<P> {
    fn default() -> Self {
        Shard {
            index: HashMap::new(),
            slots: Vec::new(),
            hand: 0,
        }
    }
}

#[derive(Debug)]
struct Slot<P> {
    id: SignerId,
    signer: Arc<P>,
    referenced: AtomicBool,
}

impl<P: Proof> SignerCache<P> {
    /// A cache holding about `capacity` signers; 0 remembers nothing.
    pub(crate) fn new(capacity: usize) -> SignerCache<P> {
        let shards = SHARDS.min(capacity.max(1));
        SignerCache {
            shards: (0..shards).map(|_| RwLock::new(Shard::default())).collect(),
            per_shard: capacity.div_ceil(shards),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.per_shard * self.shards.len()
    }

    fn shard(&self, id: &SignerId) -> Option<&RwLock<Shard<P>>> {
        let n = usize::from(id[0]) | usize::from(id[1]) << 8;
        self.shards.get(n % self.shards.len().max(1))
    }

    /// The proven signer for `id`, if remembered and valid at `at`.
    pub(crate) fn get(&self, id: &SignerId, at: OffsetDateTime) -> Option<Arc<P>> {
        if self.per_shard == 0 {
            return None;
        }
        // A poisoned lock only means another thread panicked mid-update: the data is still a
        // valid cache, so keep using it.
        let shard = self.shard(id)?.read().unwrap_or_else(|e| e.into_inner());
        let slot = shard.slots.get(*shard.index.get(id)?)?;
        // Written only when it changes: a store on every hit would bounce the line between
        // the cores reading this entry.
        if !slot.referenced.load(Ordering::Relaxed) {
            slot.referenced.store(true, Ordering::Relaxed);
        }
        slot.signer.valid_at(at).then(|| Arc::clone(&slot.signer))
    }

    pub(crate) fn insert(&self, id: SignerId, signer: Arc<P>) {
        if self.per_shard == 0 {
            return;
        }
        let Some(lock) = self.shard(&id) else { return };
        let mut shard = lock.write().unwrap_or_else(|e| e.into_inner());
        let slot = Slot {
            id,
            signer,
            referenced: AtomicBool::new(false),
        };
        if let Some(&i) = shard.index.get(&id) {
            if let Some(existing) = shard.slots.get_mut(i) {
                *existing = slot;
            }
            return;
        }
        if shard.slots.len() < self.per_shard {
            let i = shard.slots.len();
            shard.slots.push(slot);
            shard.index.insert(id, i);
            return;
        }
        // CLOCK: pass over recently used slots once, clearing their mark; evict the first
        // unmarked one.
        let len = shard.slots.len();
        let victim = loop {
            let hand = shard.hand % len;
            shard.hand = (hand + 1) % len;
            match shard.slots.get(hand) {
                Some(s) if s.referenced.swap(false, Ordering::Relaxed) => continue,
                _ => break hand,
            }
        };
        if let Some(old) = shard.slots.get_mut(victim) {
            let old_id = std::mem::replace(old, slot).id;
            shard.index.remove(&old_id);
            shard.index.insert(id, victim);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_bounded_and_zero_disables() {
        assert_eq!(SignerCache::<ProvenSigner>::new(0).capacity(), 0);
        assert_eq!(SignerCache::<ProvenSigner>::new(1).capacity(), 1);
        assert_eq!(SignerCache::<ProvenSigner>::new(1000).capacity(), 1008);
    }
}
