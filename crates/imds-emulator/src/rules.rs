//! IMDS's request rules, applied to every request before an endpoint sees it, in IMDS's order:
//! the rate limit (the identity endpoints' apart) and injected faults (after the injected
//! latency), a path it serves, the method, the `Metadata: true` header, no `X-Forwarded-For`,
//! no duplicated query parameter; then, once the endpoint is known, the api-version it needs.

use std::time::{Duration, Instant};

use std::borrow::Cow;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::endpoints::{self, versions, Route};
use crate::response::{json_body, Shape};
use crate::state::Shared;

/// The most requests per second IMDS serves before answering 429.
pub const RATE_LIMIT_PER_SECOND: usize = 5;

/// The most managed-identity requests per second IMDS serves before answering 429, counted
/// apart from the others (Microsoft's IMDS article, "Rate limiting").
pub const IDENTITY_RATE_LIMIT_PER_SECOND: usize = 20;

/// The body's message when the rate limit answers 429: IMDS's throttling, worded so that it is
/// never mistaken for an injected fault.
pub(crate) const THROTTLED: &str =
    "Too many requests. IMDS serves at most 5 requests per second; retry after Retry-After";

/// [`THROTTLED`] on the identity endpoints.
pub(crate) const THROTTLED_IDENTITY: &str =
    "Too many requests. IMDS serves at most 20 identity requests per second; retry after Retry-After";

/// A request's query parameters, each name at most once.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// The value of parameter `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request was refused; it knows its answer.
pub(crate) enum Refusal {
    /// An error in the shape of the endpoint asked for.
    Error {
        shape: Shape,
        status: StatusCode,
        message: Cow<'static, str>,
    },
    /// Over IMDS's rate limit: 429 with Retry-After.
    Throttled(Shape),
    /// A failure injected by the faults, with Retry-After when it is 429.
    Injected {
        shape: Shape,
        status: StatusCode,
        retry_after: Option<u32>,
    },
    /// A metadata endpoint's api-version error, which lists the newest versions.
    Version(&'static str),
}

impl Refusal {
    fn bad_request(shape: Shape, message: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal::Error {
            shape,
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Error {
                shape,
                status,
                message,
            } => shape.error(status, &message),
            Refusal::Throttled(shape) => {
                let message = match shape {
                    Shape::Identity => THROTTLED_IDENTITY,
                    Shape::Metadata => THROTTLED,
                };
                let mut response = shape.error(StatusCode::TOO_MANY_REQUESTS, message);
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static("1"));
                response
            }
            Refusal::Injected {
                shape,
                status,
                retry_after,
            } => {
                let message = match (shape, status.as_u16()) {
                    (Shape::Identity, 410) => {
                        "Identity is not ready (injected fault, imds-emulator)"
                    }
                    _ => "Injected fault (imds-emulator)",
                };
                let mut response = shape.error(status, message);
                if status == StatusCode::TOO_MANY_REQUESTS {
                    if let Ok(v) = HeaderValue::from_str(&retry_after.unwrap_or(1).to_string()) {
                        response.headers_mut().insert("retry-after", v);
                    }
                }
                response
            }
            Refusal::Version(message) => (
                StatusCode::BAD_REQUEST,
                json_body(&json!({
                    "error": message,
                    "newest-versions": versions::newest(),
                })),
            )
                .into_response(),
        }
    }
}

/// Applies the rules that hold for every request on either listener (`on_extension`: the VM
/// extension's).
pub(crate) async fn admit(
    shared: &Shared,
    on_extension: bool,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Query, Refusal> {
    let path = uri.path();
    let shape = Shape::of(on_extension, path);
    let (injected, latency) = {
        let mut state = shared.lock();
        let now = Instant::now();
        let (recent, limit) = match shape {
            Shape::Identity => (&mut state.recent_identity, IDENTITY_RATE_LIMIT_PER_SECOND),
            Shape::Metadata => (&mut state.recent, RATE_LIMIT_PER_SECOND),
        };
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            recent.pop_front();
        }
        recent.push_back(now);
        let limited = recent.len() > limit;
        let injected = if limited {
            Some(Refusal::Throttled(shape))
        } else if state.faults.fail_count > 0 {
            state.faults.fail_count -= 1;
            state
                .faults
                .fail_status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .map(|status| Refusal::Injected {
                    shape,
                    status,
                    retry_after: state.faults.retry_after,
                })
        } else {
            None
        };
        (injected, state.faults.latency_ms)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if let Some(refusal) = injected {
        return Err(refusal);
    }
    // IMDS routes before it checks the request: a path it does not serve is 404 whatever the
    // headers. MSAL.NET probes `/metadata/identity/getplatformmetadata` without the Metadata
    // header and takes a 400 for "this VM has IMDSv2"; v1-only VMs answer it 404.
    if !on_extension && !endpoints::is_known(path) {
        return Err(Refusal::Error {
            shape,
            status: StatusCode::NOT_FOUND,
            message: "Resource not found".into(),
        });
    }
    // Only scheduled events take a POST (to approve events).
    let post_allowed = !on_extension && Route::of(path) == Some(Route::ScheduledEvents);
    if *method != Method::GET && !(*method == Method::POST && post_allowed) {
        return Err(Refusal::Error {
            shape,
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: "Method not allowed".into(),
        });
    }
    // `Metadata: True` too: the IMDS article's own curl samples send it so.
    let metadata = headers.get("metadata").and_then(|v| v.to_str().ok());
    if !metadata.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(Refusal::bad_request(
            shape,
            "Bad request. Required metadata header not specified",
        ));
    }
    if headers.contains_key("x-forwarded-for") {
        return Err(Refusal::bad_request(
            shape,
            "Bad request. Request must not contain an X-Forwarded-For header",
        ));
    }
    let mut query: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if query.iter().any(|(seen, _)| *seen == k) {
            return Err(Refusal::bad_request(
                shape,
                format!("Bad request. Query parameter {k} is duplicated"),
            ));
        }
        query.push((k.into_owned(), v.into_owned()));
    }
    Ok(Query(query))
}

/// A metadata endpoint's answer to a missing or unknown api-version, one message for both as
/// Microsoft's IMDS article shows it and as a VM answered `GET /metadata` without one in July
/// 2025 (MicrosoftDocs/azure-compute-docs pull request 289), beside the newest versions.
const VERSION_ERROR: &str = "Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds";

/// Which api-versions an endpoint serves.
#[derive(Clone, Copy)]
pub(crate) enum Versions {
    /// Every version IMDS knows from this one on.
    Since(&'static str),
    /// Exactly these (scheduled events keep their own list).
    Listed(&'static [&'static str]),
}

/// The request's api-version, if `versions` serves it; the refusal otherwise, shaped for the
/// endpoint (the identity endpoint's OAuth errors are shorter).
pub(crate) fn api_version(
    query: &Query,
    versions: Versions,
    shape: Shape,
) -> Result<&str, Refusal> {
    let Some(version) = query.get("api-version") else {
        if shape == Shape::Identity {
            return Err(Refusal::bad_request(
                shape,
                "Required query variable 'api-version' is missing",
            ));
        }
        return Err(Refusal::Version(VERSION_ERROR));
    };
    let served = match versions {
        Versions::Since(first) => versions::API_VERSIONS.contains(&version) && version >= first,
        Versions::Listed(list) => list.contains(&version),
    };
    if served {
        Ok(version)
    } else if shape == Shape::Identity {
        Err(Refusal::bad_request(shape, "Invalid API version"))
    } else {
        Err(Refusal::Version(VERSION_ERROR))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]

    use super::*;
    use crate::endpoints::Route;

    /// The "Version introduced" of each category in Microsoft's IMDS article; scheduled events
    /// keep their own list.
    fn first(route: Route) -> &'static str {
        match route {
            Route::Attested => "2018-10-01",
            Route::Token => "2018-02-01",
            Route::Instance => "2017-04-02",
            Route::LoadBalancer => "2020-10-01",
            Route::ScheduledEvents => "",
        }
    }

    #[test]
    fn every_known_version_is_served_by_every_endpoint_that_exists_at_it() {
        let routes = [
            (Route::Attested, Shape::Metadata),
            (Route::Token, Shape::Identity),
            (Route::Instance, Shape::Metadata),
            (Route::LoadBalancer, Shape::Metadata),
            (Route::ScheduledEvents, Shape::Metadata),
        ];
        let mut newest_served = 0;
        for version in versions::API_VERSIONS {
            let query = Query(vec![("api-version".into(), (*version).into())]);
            for (route, shape) in routes {
                let expected = if route == Route::ScheduledEvents {
                    crate::SCHEDULED_EVENTS_VERSIONS.contains(version)
                } else {
                    *version >= first(route)
                };
                let served = api_version(&query, route.versions(), shape).is_ok();
                assert_eq!(served, expected, "{version}");
                if *version == "2025-04-07" && served {
                    newest_served += 1;
                }
            }
        }
        assert_eq!(
            newest_served, 4,
            "all but scheduled events serve 2025-04-07"
        );
        // The scheduled events' own versions, 2019-04-01 among them, all answer.
        for version in crate::SCHEDULED_EVENTS_VERSIONS {
            let query = Query(vec![("api-version".into(), (*version).into())]);
            let versions = Route::ScheduledEvents.versions();
            assert!(api_version(&query, versions, Shape::Metadata).is_ok());
        }
    }

    #[test]
    fn the_list_is_sorted_and_ends_with_the_newest_microsoft_documents() {
        let list = versions::API_VERSIONS;
        assert!(list.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            versions::newest(),
            ["2025-04-07", "2024-07-17", "2024-03-15"]
        );
    }
}
