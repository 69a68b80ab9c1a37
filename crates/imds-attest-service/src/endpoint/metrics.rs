//! `GET /metrics`: the counters of [`crate::metrics`], as Prometheus text.

use hyper::StatusCode;

use crate::answer::{answer, Answer};
use crate::shared::Shared;

/// 200 with the text exposition, with the current verifier's counts.
pub(crate) fn render(shared: &Shared) -> Answer {
    let current = shared.current();
    let text = shared.metrics.render(
        current.verifier.proven_issuers(),
        current.verifier.signer_cache_stats(),
    );
    answer(StatusCode::OK, "text/plain; version=0.0.4", text)
}
