//! What every request sees: the VM, the token signer, and behind one lock what changes (the
//! faults, the rate limit's window, the last document, the scheduled events, the PKI).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::identity::TokenSigner;
use crate::schedule::Schedule;
use crate::{Faults, Pki, VmIdentity};

/// The state both listeners share.
pub(crate) struct Shared {
    pub(crate) tokens: TokenSigner,
    pub(crate) region: String,
    pub(crate) vm: VmIdentity,
    state: Mutex<Mutable>,
}

/// What requests change.
pub(crate) struct Mutable {
    pub(crate) faults: Faults,
    /// When the requests of the last second came, for the rate limit.
    pub(crate) recent: VecDeque<Instant>,
    /// The same for the managed-identity endpoints, which have a limit of their own.
    pub(crate) recent_identity: VecDeque<Instant>,
    /// The last attested document served, for stale answers.
    pub(crate) last_document: Option<String>,
    pub(crate) events: Schedule,
    pub(crate) pki: Pki,
}

impl Shared {
    pub(crate) fn new(
        tokens: TokenSigner,
        region: String,
        vm: VmIdentity,
        faults: Faults,
        events: Schedule,
        pki: Pki,
    ) -> Shared {
        Shared {
            tokens,
            region,
            vm,
            state: Mutex::new(Mutable {
                faults,
                recent: VecDeque::new(),
                recent_identity: VecDeque::new(),
                last_document: None,
                events,
                pki,
            }),
        }
    }

    /// The mutable state, locked; a poisoned lock is used as it is, so that one panicking
    /// request does not stop the emulator.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Mutable> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
