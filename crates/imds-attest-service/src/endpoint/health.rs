//! `GET /healthz` (the process answers) and `GET /readyz` (the store answers too).

use std::sync::Arc;

use hyper::StatusCode;
use serde_json::json;

use super::with_store;
use crate::answer::{json_answer, Answer};
use crate::http_error::HttpError;
use crate::shared::{Held, Shared};

/// `GET /healthz`: 200 while the process answers.
pub(crate) fn healthz() -> Answer {
    json_answer(StatusCode::OK, &json!({"status": "ok"}))
}

/// `GET /readyz`: 200 only if the store gives the challenge key now. A read, never a write
/// (but for the key itself on a store's very first use): probing readiness, as often as
/// anyone likes, cannot grow the store.
pub(crate) async fn readyz(shared: &Arc<Shared>, held: Held) -> Result<Answer, HttpError> {
    with_store(shared, held, false, |shared| {
        // The store itself, not the key `Challenges` keeps in memory: readiness is the
        // store's.
        shared.challenges.store().challenge_key().map(|_| ())
    })
    .await??;
    Ok(json_answer(StatusCode::OK, &json!({"status": "ready"})))
}
