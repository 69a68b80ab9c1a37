//! Every failure the service answers, as one type that knows its status, its kind and its
//! body (axum's `AppError`): handlers return `Result<Answer, HttpError>` and none writes a
//! status or an error body by hand.

use std::fmt;

use hyper::{header, Method, StatusCode};
use imds_attest::ErrorKind;
use imds_attest_store::{StoreError, StoreErrorKind};
use serde_json::json;

use crate::answer::{json_answer, with_header, Answer, Facts, Outcome};

imds_attest::error_kinds! {
    /// The kinds only the HTTP service answers: requests refused before any verification, and
    /// the service's own faults. Every other failure it answers has the library's
    /// [`ErrorKind`] (the verifier's verdicts, the store's failures, and a body over
    /// `max_body_bytes`, which is `input_too_large` as on every face). No name here is one of
    /// the library's.
    pub enum HttpErrorKind {
        /// 401: `/v1` needs a valid bearer token and the request has none.
        Unauthorized = "unauthorized",
        /// 429: the service is at its `max_concurrent_requests`.
        TooManyRequests = "too_many_requests",
        /// 400: the request body could not be read.
        UnreadableBody = "unreadable_body",
        /// 408: the request took longer than `request_timeout_seconds`.
        RequestTimeout = "request_timeout",
        /// 404: no such endpoint.
        NotFound = "not_found",
        /// 405: the endpoint answers another method (named in `Allow`).
        MethodNotAllowed = "method_not_allowed",
        /// 500: a fault of the service (a task that panicked, a verdict it could not write).
        Internal = "internal",
    }
}

/// The kind an error answer names: the library's where the verifier or the store decided
/// (or the failure means the same on every face), the service's own otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One of the library's kinds.
    Library(ErrorKind),
    /// One of the stores' (`store_unavailable` when the store fails while serving).
    Store(StoreErrorKind),
    /// One of the service's own.
    Http(HttpErrorKind),
}

impl Kind {
    /// The stable snake_case name: the body's `kind` and the log line's.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Kind::Library(kind) => kind.as_str(),
            Kind::Store(kind) => kind.as_str(),
            Kind::Http(kind) => kind.as_str(),
        }
    }
}

/// A failure the service answers.
#[derive(Debug)]
pub(crate) enum HttpError {
    /// Over `max_concurrent_requests`.
    TooManyRequests,
    /// Over `request_timeout_seconds`.
    RequestTimeout,
    /// No endpoint at this path.
    NotFound {
        /// The path asked for.
        path: String,
    },
    /// The endpoint answers another method.
    MethodNotAllowed {
        /// The path asked for.
        path: String,
        /// The method it answers.
        allowed: Method,
    },
    /// `/v1` without a valid bearer token.
    Unauthorized,
    /// The body is (or is declared) longer than `max_body_bytes`.
    BodyTooLarge {
        /// `max_body_bytes`.
        max: usize,
    },
    /// The body could not be read (the connection broke while sending it).
    UnreadableBody(Box<dyn std::error::Error + Send + Sync>),
    /// The verifier refused the document (or its store could not answer).
    Rejected(imds_attest::Error),
    /// The challenge store could not answer.
    Store(StoreError),
    /// A verification or store call panicked (a bug).
    Panicked,
    /// The document verified and its nonce was redeemed, but the verdict could not be written
    /// as JSON: never a 200 without its facts.
    Unwritable {
        /// Why it could not be written.
        source: serde_json::Error,
        /// What the verification found, for the request's log line.
        facts: Facts,
    },
}

impl HttpError {
    /// The status it is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            HttpError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            HttpError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            HttpError::NotFound { .. } => StatusCode::NOT_FOUND,
            HttpError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            HttpError::Unauthorized => StatusCode::UNAUTHORIZED,
            HttpError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::UnreadableBody(_) => StatusCode::BAD_REQUEST,
            HttpError::Rejected(e) => match e.kind() {
                ErrorKind::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            HttpError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::Panicked | HttpError::Unwritable { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The kind its body and log line name.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            HttpError::TooManyRequests => Kind::Http(HttpErrorKind::TooManyRequests),
            HttpError::RequestTimeout => Kind::Http(HttpErrorKind::RequestTimeout),
            HttpError::NotFound { .. } => Kind::Http(HttpErrorKind::NotFound),
            HttpError::MethodNotAllowed { .. } => Kind::Http(HttpErrorKind::MethodNotAllowed),
            HttpError::Unauthorized => Kind::Http(HttpErrorKind::Unauthorized),
            // The library's kind: the same limit's refusal is the same on every face.
            HttpError::BodyTooLarge { .. } => Kind::Library(ErrorKind::InputTooLarge),
            HttpError::UnreadableBody(_) => Kind::Http(HttpErrorKind::UnreadableBody),
            HttpError::Rejected(e) => Kind::Library(e.kind()),
            HttpError::Store(e) => Kind::Store(e.kind()),
            HttpError::Panicked | HttpError::Unwritable { .. } => {
                Kind::Http(HttpErrorKind::Internal)
            }
        }
    }

    /// The answer: `{"verified":false,"error":{"kind","message"}}` with [`status`](Self::status),
    /// the headers this failure needs, and the kind for the request's log line.
    pub(crate) fn into_answer(self) -> Answer {
        let status = self.status();
        let kind = self.kind();
        let body = json!({
            "verified": false,
            "error": {"kind": kind.as_str(), "message": self.to_string()},
        });
        let mut r = json_answer(status, &body);
        match &self {
            // The rest of the request is not read: the connection cannot be reused.
            HttpError::RequestTimeout | HttpError::BodyTooLarge { .. } => {
                r = with_header(r, header::CONNECTION, "close");
            }
            HttpError::Unauthorized => r = with_header(r, header::WWW_AUTHENTICATE, "Bearer"),
            HttpError::MethodNotAllowed { allowed, .. } => {
                if let Ok(value) = header::HeaderValue::from_str(allowed.as_str()) {
                    r.headers_mut().insert(header::ALLOW, value);
                }
            }
            _ => {}
        }
        let facts = match self {
            HttpError::Unwritable { facts, .. } => facts,
            _ => Facts::default(),
        };
        r.extensions_mut().insert(Outcome {
            kind: Some(kind),
            facts,
        });
        r
    }
}

/// The body's `message`: what was wrong and what to do.
impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::TooManyRequests => {
                f.write_str("the service is at its max_concurrent_requests; retry shortly")
            }
            HttpError::RequestTimeout => {
                f.write_str("the request took longer than request_timeout_seconds")
            }
            HttpError::NotFound { path } => {
                write!(f, "no endpoint {path}: the service answers ")?;
                let last = crate::routing::ROUTES.len().saturating_sub(1);
                for (i, endpoint) in crate::routing::ROUTES.iter().enumerate() {
                    let sep = match i {
                        0 => "",
                        _ if i == last => " and ",
                        _ => ", ",
                    };
                    write!(f, "{sep}{} {}", endpoint.method, endpoint.path)?;
                }
                Ok(())
            }
            HttpError::MethodNotAllowed { path, allowed } => {
                write!(f, "{path} answers {allowed} only")
            }
            HttpError::Unauthorized => {
                f.write_str("a valid bearer token is required: send Authorization: Bearer <token>")
            }
            HttpError::BodyTooLarge { max } => write!(
                f,
                "the request body exceeds max_body_bytes ({max} bytes); send the IMDS response \
                 as fetched"
            ),
            HttpError::UnreadableBody(e) => write!(f, "the request body could not be read: {e}"),
            HttpError::Rejected(e) => e.fmt(f),
            HttpError::Store(e) => e.fmt(f),
            HttpError::Panicked => {
                f.write_str("a task of the service failed (a bug); see the service log")
            }
            HttpError::Unwritable { source, .. } => write!(
                f,
                "the document verified and its nonce was redeemed, but the verdict could not \
                 be written as JSON ({source}); ask for a new challenge, and see the service log"
            ),
        }
    }
}

impl From<imds_attest::Error> for HttpError {
    fn from(e: imds_attest::Error) -> HttpError {
        HttpError::Rejected(e)
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> HttpError {
        HttpError::Store(e)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use http_body_util::BodyExt;
    use serde_json::Value;

    use super::*;

    /// The status, the headers and the JSON body of an answer.
    fn read(answer: Answer) -> (StatusCode, hyper::HeaderMap, Value) {
        let status = answer.status();
        let headers = answer.headers().clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = runtime
            .block_on(answer.into_body().collect())
            .unwrap()
            .to_bytes();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    /// A failure and what its answer must be.
    struct Case {
        error: HttpError,
        status: u16,
        kind: &'static str,
        message: &'static str,
        /// Every header beside `Content-Type`.
        headers: &'static [(&'static str, &'static str)],
    }

    #[test]
    fn each_failure_has_its_status_kind_message_and_headers() {
        let cases = [
            Case {
                error: HttpError::TooManyRequests,
                status: 429,
                kind: "too_many_requests",
                message: "the service is at its max_concurrent_requests; retry shortly",
                headers: &[],
            },
            Case {
                error: HttpError::RequestTimeout,
                status: 408,
                kind: "request_timeout",
                message: "the request took longer than request_timeout_seconds",
                headers: &[("connection", "close")],
            },
            Case {
                error: HttpError::NotFound { path: "/x".into() },
                status: 404,
                kind: "not_found",
                message: "no endpoint /x: the service answers POST /v1/challenges, POST \
                          /v1/verify, GET /healthz, GET /readyz, GET /metrics and GET \
                          /openapi.json",
                headers: &[],
            },
            Case {
                error: HttpError::MethodNotAllowed {
                    path: "/healthz".into(),
                    allowed: Method::GET,
                },
                status: 405,
                kind: "method_not_allowed",
                message: "/healthz answers GET only",
                headers: &[("allow", "GET")],
            },
            Case {
                error: HttpError::Unauthorized,
                status: 401,
                kind: "unauthorized",
                message: "a valid bearer token is required: send Authorization: Bearer <token>",
                headers: &[("www-authenticate", "Bearer")],
            },
            Case {
                error: HttpError::BodyTooLarge { max: 10 },
                status: 413,
                kind: "input_too_large",
                message: "the request body exceeds max_body_bytes (10 bytes); send the IMDS \
                          response as fetched",
                headers: &[("connection", "close")],
            },
            Case {
                error: HttpError::UnreadableBody("connection reset".into()),
                status: 400,
                kind: "unreadable_body",
                message: "the request body could not be read: connection reset",
                headers: &[],
            },
            Case {
                error: HttpError::Rejected(imds_attest::Error::DetachedContent),
                status: 422,
                kind: "detached_content",
                message: "",
                headers: &[],
            },
            Case {
                error: HttpError::Panicked,
                status: 500,
                kind: "internal",
                message: "a task of the service failed (a bug); see the service log",
                headers: &[],
            },
        ];
        for case in cases {
            let kind = case.kind;
            // A verdict's message is the library's, word for word.
            let message = match &case.error {
                HttpError::Rejected(e) => e.to_string(),
                _ => case.message.to_owned(),
            };
            let answer = case.error.into_answer();
            let outcome = answer.extensions().get::<Outcome>().unwrap().kind;
            assert_eq!(outcome.map(Kind::as_str), Some(kind));
            let (status, headers, body) = read(answer);
            assert_eq!(status.as_u16(), case.status, "{kind}");
            assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{kind}");
            assert_eq!(headers.len(), 1 + case.headers.len(), "{kind}: {headers:?}");
            for (name, value) in case.headers {
                assert_eq!(headers[*name], *value, "{kind}");
            }
            assert_eq!(
                body,
                json!({"verified": false, "error": {"kind": kind, "message": message}})
            );
        }
    }

    #[test]
    fn a_store_failure_is_503_store_unavailable() {
        let error = HttpError::from(StoreError::Full {
            capacity: 1,
            operation: imds_attest_store::Operation::Issue,
        });
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.kind(), Kind::Store(StoreErrorKind::StoreUnavailable));
        // The name a verification through a failing store gives too.
        assert_eq!(error.kind().as_str(), ErrorKind::StoreUnavailable.as_str());
    }
}
