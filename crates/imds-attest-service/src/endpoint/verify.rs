//! `POST /v1/verify`: the verifier's verdict on the body, the nonce redeemed as its last step.

use std::sync::Arc;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{header, HeaderMap, StatusCode};
use imds_attest::{
    AttestedDocument, NonceCheck, VerifiedDocument, Verifier, DEFAULT_MAX_INPUT_BYTES,
};
use time::OffsetDateTime;

use super::{now, with_store};
use crate::answer::{answer, Answer, Facts, Outcome, JSON};
use crate::http_error::HttpError;
use crate::metrics::Timed;
use crate::shared::{Held, Shared};

/// 200 with the verified facts, or the verifier's refusal (422, 503 when the store cannot
/// answer); a body over `max_body_bytes` is 413 `input_too_large` without being read.
pub(crate) async fn verify(
    shared: &Arc<Shared>,
    held: Held,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<Answer, HttpError> {
    let max = shared.max_body_bytes;
    let bytes = read_body(headers, body, max).await?;
    let current = shared.current();
    let fetches = current.verifier.fetches_intermediates();
    let verdict = with_store(shared, held, fetches, move |shared| {
        let timed = Timed {
            inner: &shared.challenges,
            metrics: &shared.metrics,
        };
        verdict(
            &current.verifier,
            &bytes,
            max,
            NonceCheck::Redeem(&timed),
            now(),
        )
    })
    .await?;
    shared.metrics.verification(match &verdict {
        Ok(_) => "verified",
        Err(e) => e.kind().as_str(),
    });
    let verified = verdict?;
    let claims = verified.claims();
    let facts = Facts {
        vm_id: Some(claims.vm_id.clone()),
        subscription_id: claims.subscription_id.clone(),
        rule: verified.rule().map(str::to_owned),
    };
    verified_response(success_body(&verified), facts)
}

/// The body, if it is at most `max` bytes: refused on its declared length before any of it
/// is read, or as soon as it is longer.
async fn read_body(headers: &HeaderMap, body: Incoming, max: usize) -> Result<Bytes, HttpError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX)) {
        return Err(HttpError::BodyTooLarge { max });
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(HttpError::BodyTooLarge { max }),
        Err(e) => Err(HttpError::UnreadableBody(e)),
    }
}

/// The verifier's verdict on `input` with `max` (`max_body_bytes`) as its input limit, so
/// that a body the service accepted is parsed, as `verify --max-input` parses it, rather than
/// refused by the library's default limit: one configured limit, one answer on every face.
fn verdict(
    verifier: &Verifier,
    input: &[u8],
    max: usize,
    nonce: NonceCheck<'_>,
    at: OffsetDateTime,
) -> Result<VerifiedDocument, imds_attest::Error> {
    if input.len() <= DEFAULT_MAX_INPUT_BYTES {
        // The warm path, whose limit is the default: the same verdict as parse then verify.
        verifier.verify_bytes(input, nonce, at)
    } else {
        let doc = AttestedDocument::parse_with_max_size(input, max)?;
        verifier.verify(&doc, nonce, at)
    }
}

/// The 200 body: the library's success object ([`VerifiedDocument::to_json`]), the one
/// `verify --json` and Python's `to_dict()` give.
fn success_body(verified: &VerifiedDocument) -> Result<String, serde_json::Error> {
    verified.to_json_string()
}

/// 200 with the body, or 500 `internal` if it could not be written: a verdict is never a 200
/// without its facts. The nonce is redeemed by then, so the message says to ask for a new
/// challenge.
fn verified_response(
    body: Result<String, serde_json::Error>,
    facts: Facts,
) -> Result<Answer, HttpError> {
    match body {
        Ok(body) => {
            let mut r = answer(StatusCode::OK, JSON, body);
            r.extensions_mut().insert(Outcome { kind: None, facts });
            Ok(r)
        }
        Err(source) => {
            tracing::error!(error = %source, "a verified document's facts could not be written as JSON");
            Err(HttpError::Unwritable { source, facts })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use serde_json::Value;

    use super::*;
    use crate::http_error::Kind;

    /// What a response carries: the status, the JSON body and the log line's outcome.
    fn read(response: Answer) -> (StatusCode, Value, Option<&'static str>, Facts) {
        let status = response.status();
        let outcome = response.extensions().get::<Outcome>().cloned();
        let kind = outcome.as_ref().and_then(|o| o.kind).map(Kind::as_str);
        let facts = outcome.map(|o| o.facts).unwrap_or_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = runtime
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body, kind, facts)
    }

    #[test]
    fn a_verdict_that_cannot_be_written_is_a_500_internal_never_a_200() {
        let failed = <serde_json::Error as serde::ser::Error>::custom("year out of range");
        let facts = Facts {
            vm_id: Some("vm".into()),
            ..Facts::default()
        };
        let refused = verified_response(Err(failed), facts.clone()).unwrap_err();
        let (status, body, kind, logged) = read(refused.into_answer());
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["verified"], false);
        assert_eq!(body["error"]["kind"], "internal");
        assert_eq!(kind, Some("internal"));
        // The log line still names the document that verified.
        assert_eq!(logged, facts);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("year out of range"), "{message}");
        assert!(message.contains("ask for a new challenge"), "{message}");
    }

    #[test]
    fn a_written_verdict_is_a_200_with_that_body() {
        let answered =
            verified_response(Ok(r#"{"verified":true}"#.into()), Facts::default()).unwrap();
        let (status, body, kind, _) = read(answered);
        assert_eq!(
            (status, body["verified"].as_bool(), kind),
            (StatusCode::OK, Some(true), None)
        );
    }

    #[test]
    fn a_body_over_the_default_input_limit_but_within_max_is_parsed_not_refused() {
        let verifier = Verifier::new(
            imds_attest::TrustStore::builtin(),
            imds_attest::Policy::default(),
        );
        let at = OffsetDateTime::UNIX_EPOCH;
        // Base64 text beyond the default limit that decodes to no document.
        let body = "QUFB".repeat(DEFAULT_MAX_INPUT_BYTES / 4 + 1);
        let within = verdict(
            &verifier,
            body.as_bytes(),
            2 << 20,
            NonceCheck::DangerousAnyNonce,
            at,
        );
        let kind = within.expect_err("not a document").kind();
        assert_ne!(kind, imds_attest::ErrorKind::InputTooLarge);
        let library = AttestedDocument::parse_with_max_size(body.as_bytes(), 2 << 20)
            .expect_err("not a document")
            .kind();
        assert_eq!(kind, library);
        // Over `max`, the library's own refusal: the same limit, the same kind.
        let over = verdict(
            &verifier,
            body.as_bytes(),
            body.len() - 1,
            NonceCheck::DangerousAnyNonce,
            at,
        );
        assert_eq!(
            over.expect_err("too large").kind(),
            imds_attest::ErrorKind::InputTooLarge
        );
    }
}
