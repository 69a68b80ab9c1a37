//! The bearer token check of `/v1` calls (`[auth] tokens_file`).

use hyper::header::{self, HeaderValue};
use hyper::HeaderMap;
use sha2::{Digest, Sha256};

use crate::http_error::HttpError;
use crate::shared::Shared;

/// A configured token's SHA-256: what the service keeps and compares. Comparing digests of
/// equal length takes the same time whatever the lengths of the token presented and the
/// tokens configured, so a timing says neither how long a token is nor how much of it
/// matched.
pub(crate) type TokenDigest = [u8; 32];

/// The digest a token is kept and compared as.
pub(crate) fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// With `[auth] tokens_file`, every `/v1` call needs `Authorization: Bearer <token>`; checked
/// before the body is read, so nothing is verified or redeemed without one.
pub(crate) fn check(shared: &Shared, headers: &HeaderMap) -> Result<(), HttpError> {
    let current = shared.current();
    let Some(tokens) = current.tokens.as_ref() else {
        return Ok(());
    };
    if accepts(tokens, headers.get(header::AUTHORIZATION)) {
        Ok(())
    } else {
        Err(HttpError::Unauthorized)
    }
}

/// Whether the `Authorization` header carries one of the tokens.
fn accepts(tokens: &[TokenDigest], authorization: Option<&HeaderValue>) -> bool {
    let Some(given) = authorization
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
    else {
        return false;
    };
    let given = digest(given);
    // Every token compared in full: the time taken does not say which one was close.
    tokens
        .iter()
        .fold(false, |found, t| found | constant_time_eq(t, &given))
}

/// The credentials of `Bearer <token>`, the scheme in any case (RFC 7235, section 2.1: "It
/// uses a case-insensitive token as a means to identify the authentication scheme").
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn constant_time_eq(a: &TokenDigest, b: &TokenDigest) -> bool {
    // black_box: keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(value: &str) -> Option<HeaderValue> {
        HeaderValue::from_str(value).ok()
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let tokens = [digest("right-token")];
        for value in [
            "Bearer right-token",
            "bearer right-token",
            "BEARER right-token",
            "bEaReR right-token",
            "Bearer  right-token ",
        ] {
            assert!(accepts(&tokens, header(value).as_ref()), "{value:?}");
        }
    }

    #[test]
    fn anything_but_a_configured_token_is_refused() {
        let tokens = [digest("right-token"), digest("other")];
        assert!(accepts(&tokens, header("Bearer other").as_ref()));
        for value in [
            "Bearer right-toke",
            "Bearer right-token-",
            "Bearer RIGHT-TOKEN",
            "Bearer ",
            "Bearer",
            "Basic right-token",
            "Bearerright-token",
            "right-token",
            "",
        ] {
            assert!(!accepts(&tokens, header(value).as_ref()), "{value:?}");
        }
        assert!(!accepts(&tokens, None));
    }

    /// What is compared is always two 32-byte digests, whatever the lengths of the tokens.
    #[test]
    fn tokens_are_compared_as_digests_of_one_length() {
        let short = digest("a");
        let long = digest(&"a".repeat(10_000));
        assert_eq!(short.len(), long.len());
        assert!(constant_time_eq(&short, &digest("a")));
        assert!(!constant_time_eq(&short, &long));
    }
}
