//! Building responses: the answer type, its fixed headers, and what an answer tells the
//! request's log line. Error answers are built in one place, [`HttpError::into_answer`].
//!
//! [`HttpError::into_answer`]: crate::http_error::HttpError::into_answer

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{header, Response, StatusCode};
use serde_json::Value;

use crate::http_error::Kind;

/// An answer: hyper's response with the whole body in one piece.
pub(crate) type Answer = Response<Full<Bytes>>;

/// What a request's answer says for its log line, carried in the response's extensions: the
/// error's kind, and what a verification found.
#[derive(Clone, Default)]
pub(crate) struct Outcome {
    /// The kind of an error answer; `None` for a success.
    pub(crate) kind: Option<Kind>,
    /// What the verification found, when there was one.
    pub(crate) facts: Facts,
}

/// What a verification found: a verified document's identity and the rule that allowed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    /// `vmId`.
    pub(crate) vm_id: Option<String>,
    /// `subscriptionId`, when the document carries one.
    pub(crate) subscription_id: Option<String>,
    /// The name of the allow rule that matched.
    pub(crate) rule: Option<String>,
}

/// The JSON content type.
pub(crate) const JSON: &str = "application/json";

/// A JSON answer with this status.
pub(crate) fn json_answer(status: StatusCode, value: &Value) -> Answer {
    answer(status, JSON, value.to_string())
}

/// A response with this status, content type and body.
pub(crate) fn answer(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Answer {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    with_header(r, header::CONTENT_TYPE, content_type)
}

/// `r` with one more header, of a fixed value.
pub(crate) fn with_header(mut r: Answer, name: header::HeaderName, value: &'static str) -> Answer {
    r.headers_mut()
        .insert(name, header::HeaderValue::from_static(value));
    r
}
