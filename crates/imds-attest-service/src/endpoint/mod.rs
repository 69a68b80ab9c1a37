//! One file per endpoint (`/readyz` and `/healthz` share one), and what they share: where a
//! store call runs, and the time a document is checked at.

pub(crate) mod challenges;
pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod openapi;
pub(crate) mod verify;

use std::sync::Arc;

use crate::http_error::HttpError;
use crate::shared::{Held, Shared};

/// Runs `work`, which calls the store (and verifies), where it costs least: on this thread
/// when the store is in this process's memory, which answers in microseconds and where the
/// blocking pool's hand-off (its lock, two thread wake-ups, a thread per request in flight)
/// cost more than the verification itself; on the blocking pool for SQLite and Redis, which
/// wait on the disk or the network. A verifier that may fetch intermediates over the network
/// goes to the pool as well, whatever the store: `[trust] fetch_intermediates`, which a
/// reload may turn on.
///
/// `fetches`: whether `work` runs a verifier that may fetch (the verifier `work` holds, not
/// the current one: a reload may swap them in between). `held`: the request's permit, which
/// the blocking pool's task keeps until `work` returns, even if the request timed out. A
/// `work` that panicked (a bug) is [`HttpError::Panicked`].
pub(crate) async fn with_store<T: Send + 'static>(
    shared: &Arc<Shared>,
    held: Held,
    fetches: bool,
    work: impl FnOnce(&Shared) -> T + Send + 'static,
) -> Result<T, HttpError> {
    if shared.memory_store && !fetches {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(shared)))
            .map_err(|_| HttpError::Panicked)
    } else {
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || {
            let done = work(&shared);
            drop(held);
            done
        })
        .await
        .map_err(|_| HttpError::Panicked)
    }
}

/// The current time, to the second, as every face reads it.
pub(crate) use imds_attest_setup::now;
