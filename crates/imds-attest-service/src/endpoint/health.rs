//! `GET /healthz` (the process answers) and `GET /readyz` (the store answers too).

use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;
use serde_json::json;

use super::{now, with_store};
use crate::answer::{json_answer, Answer};
use crate::http_error::HttpError;
use crate::shared::{Held, Shared};

/// `GET /healthz`: 200 while the process answers.
pub(crate) fn healthz() -> Answer {
    json_answer(StatusCode::OK, &json!({"status": "ok"}))
}

/// `GET /readyz`: 200 only if the store issues and redeems a probe nonce now.
pub(crate) async fn readyz(shared: &Arc<Shared>, held: Held) -> Result<Answer, HttpError> {
    with_store(shared, held, false, |shared| {
        let at = now();
        let challenge = shared.challenges.issue(Duration::from_secs(60), at)?;
        shared
            .challenges
            .store()
            .redeem(&challenge.nonce, at)
            .map(|_| ())
    })
    .await??;
    Ok(json_answer(StatusCode::OK, &json!({"status": "ready"})))
}
