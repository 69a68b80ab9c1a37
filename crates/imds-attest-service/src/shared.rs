//! What every request shares: the current verifier and tokens (swapped by a reload), the
//! challenge store, the limits, the concurrency permits and the metrics.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use imds_attest::Verifier;
use imds_attest_store::Challenges;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::{self, TokenDigest};
use crate::config::Config;
use crate::metrics::Metrics;

/// What a reload may change: the verifier (rules and trust) and the tokens.
pub(crate) struct Reloadable {
    pub(crate) verifier: Arc<Verifier>,
    /// The tokens' digests, as [`auth`] compares them.
    pub(crate) tokens: Option<Arc<[TokenDigest]>>,
}

impl Reloadable {
    fn of(verifier: Verifier, tokens: Option<Vec<String>>) -> Reloadable {
        Reloadable {
            verifier: Arc::new(verifier),
            tokens: tokens.map(|tokens| tokens.iter().map(|t| auth::digest(t)).collect()),
        }
    }
}

/// Everything a request handler needs, shared.
pub(crate) struct Shared {
    pub(crate) current: RwLock<Arc<Reloadable>>,
    pub(crate) challenges: Challenges,
    pub(crate) ttl: Duration,
    /// The largest body read, which is also the verifier's input limit for it: one configured
    /// limit, one answer on every face.
    pub(crate) max_body_bytes: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) metrics: Metrics,
    /// The store is this process's memory: its calls (and verifications, while the verifier
    /// fetches nothing) run on the async worker, not the blocking pool (see
    /// [`with_store`](crate::endpoint::with_store)).
    pub(crate) memory_store: bool,
    /// `GET /openapi.json`'s body.
    pub(crate) openapi: hyper::body::Bytes,
}

impl Shared {
    pub(crate) fn new(
        config: Config,
        challenges: Challenges,
        openapi: hyper::body::Bytes,
    ) -> Shared {
        let memory_store = challenges.store().describe() == "memory:";
        Shared {
            current: RwLock::new(Arc::new(Reloadable::of(config.verifier, config.tokens))),
            challenges,
            ttl: config.ttl,
            max_body_bytes: config.max_body_bytes,
            request_timeout: config.request_timeout,
            permits: Arc::new(Semaphore::new(config.max_concurrent_requests)),
            metrics: Metrics::default(),
            memory_store,
            openapi,
        }
    }

    pub(crate) fn current(&self) -> Arc<Reloadable> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the rules, trust and tokens with a newly loaded config's.
    pub(crate) fn reload(&self, config: Config) {
        let next = Arc::new(Reloadable::of(config.verifier, config.tokens));
        match self.current.write() {
            Ok(mut guard) => *guard = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }
}

/// A request's share of `max_concurrent_requests`, held until the request is answered and
/// whatever it handed to the blocking pool has returned: a 408 does not stop a store call or
/// a verification already running there, and the limit counts it until it ends.
pub(crate) struct Held(#[allow(dead_code)] pub(crate) OwnedSemaphorePermit);
