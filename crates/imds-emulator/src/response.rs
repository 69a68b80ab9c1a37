//! The answers every endpoint shares: JSON bodies, and errors in the two shapes IMDS writes
//! them (the metadata endpoints' `{"error": message}`, the identity endpoints' OAuth error).

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// How errors look where a request went: the metadata endpoints' `{"error": message}` or the
/// identity endpoints' OAuth shape.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Metadata,
    Identity,
}

impl Shape {
    /// The shape of errors for `path`; everything on the VM extension's listener is identity.
    pub(crate) fn of(on_extension: bool, path: &str) -> Shape {
        if on_extension || path.starts_with("/metadata/identity") {
            Shape::Identity
        } else {
            Shape::Metadata
        }
    }

    /// An error of this shape.
    pub(crate) fn error(self, status: StatusCode, message: &str) -> Response {
        match self {
            Shape::Metadata => error(status, message),
            Shape::Identity => oauth_error(status, message),
        }
    }
}

/// The metadata endpoints' error: `{"error": message}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (status, json_body(&json!({ "error": message }))).into_response()
}

/// The identity endpoints' error shape: an OAuth error code and a description.
pub(crate) fn oauth_error(status: StatusCode, description: &str) -> Response {
    let code = match status.as_u16() {
        429 => "too_many_requests",
        410 | 500..=599 => "temporarily_unavailable",
        _ => "invalid_request",
    };
    (
        status,
        json_body(&json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

/// 200 with `value` as its JSON body.
pub(crate) fn ok_json(value: &Value) -> Response {
    (StatusCode::OK, json_body(value)).into_response()
}

/// A JSON body with IMDS's content type.
pub(crate) fn json_body(value: &Value) -> ([(HeaderName, HeaderValue); 1], String) {
    json_body_text(value.to_string())
}

/// JSON already written, with IMDS's content type.
pub(crate) fn json_body_text(text: String) -> ([(HeaderName, HeaderValue); 1], String) {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        text,
    )
}
