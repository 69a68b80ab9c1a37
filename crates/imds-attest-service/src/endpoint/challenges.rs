//! `POST /v1/challenges`: a fresh nonce, signed with the store's key; nothing is stored.

use std::sync::Arc;
use std::time::Instant;

use hyper::StatusCode;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use super::{now, with_store};
use crate::answer::{json_answer, Answer};
use crate::http_error::HttpError;
use crate::shared::{Held, Shared};

/// 201 `{"nonce","expiresAt"}`, or 503 when the store cannot give its key (only asked once
/// per process).
pub(crate) async fn issue(shared: &Arc<Shared>, held: Held) -> Result<Answer, HttpError> {
    // Once the key is known, issuing is a MAC: answered here, with no thread hop to where
    // store calls run (which cost SQLite and Redis services half their challenge rate).
    let challenge = match shared.challenges.issue_if_key_known(shared.ttl, now()) {
        Some(issued) => issued?,
        None => {
            with_store(shared, held, false, |shared| {
                let started = Instant::now();
                let issued = shared.challenges.issue(shared.ttl, now());
                shared.metrics.store.observe(started.elapsed());
                issued
            })
            .await??
        }
    };
    let expires_at = challenge.expires_at.format(&Rfc3339).unwrap_or_default();
    Ok(json_answer(
        StatusCode::CREATED,
        &json!({"nonce": challenge.nonce, "expiresAt": expires_at}),
    ))
}
