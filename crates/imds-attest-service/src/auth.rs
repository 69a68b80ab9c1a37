//! The bearer token check of `/v1` calls (`[auth] tokens_file`).

use hyper::{header, HeaderMap};

use crate::http_error::HttpError;
use crate::shared::Shared;

/// With `[auth] tokens_file`, every `/v1` call needs `Authorization: Bearer <token>`; checked
/// before the body is read, so nothing is verified or redeemed without one.
pub(crate) fn check(shared: &Shared, headers: &HeaderMap) -> Result<(), HttpError> {
    let current = shared.current();
    let Some(tokens) = current.tokens.as_ref() else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let valid = given.is_some_and(|g| {
        // Every token compared in full: the time taken does not say which one was close.
        tokens.iter().fold(false, |found, t| {
            found | constant_time_eq(t.as_bytes(), g.as_bytes())
        })
    });
    if valid {
        Ok(())
    } else {
        Err(HttpError::Unauthorized)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
