//! One request's way through the service: the concurrency limit (429), the request timeout
//! (408), the route (404, 405, HEAD), the token (401), the endpoint; then the request's log
//! line and latency. Every verdict is the verifier's; this module only carries it.

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Method, Request};

use crate::answer::{Answer, Outcome};
use crate::endpoint;
use crate::http_error::{HttpError, Kind};
use crate::shared::{Held, Shared};

/// Answers one request, and logs it.
///
/// One plain function rather than axum's router with middleware layers, where each layer
/// boxed the request's future and cloned the service under it: the router cost a fifth of
/// the service's CPU time per verify request (107 -> 85 us, `cargo bench --bench serve`).
pub(crate) async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Answer {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let response = admit(&shared, &parts, body)
        .await
        .unwrap_or_else(HttpError::into_answer);
    let elapsed = started.elapsed();
    shared.metrics.requests.observe(elapsed);
    let outcome = response.extensions().get::<Outcome>();
    tracing::info!(
        method = %parts.method,
        path = %parts.uri.path(),
        status = response.status().as_u16(),
        kind = outcome.and_then(|o| o.kind).map(Kind::as_str),
        vm_id = outcome.and_then(|o| o.facts.vm_id.as_deref()),
        subscription_id = outcome.and_then(|o| o.facts.subscription_id.as_deref()),
        rule = outcome.and_then(|o| o.facts.rule.as_deref()),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Every endpoint: its path, its method (and HEAD where it is GET), and every status it
/// answers, 408 and 429 included. The router looks the path up here, and a test checks that
/// the OpenAPI document (`openapi.yaml`) has these operations with these statuses.
pub(crate) const ROUTES: [Endpoint; 6] = [
    Endpoint {
        path: "/v1/challenges",
        method: Method::POST,
        route: Route::Challenges,
        statuses: &[201, 401, 408, 429, 500, 503],
    },
    Endpoint {
        path: "/v1/verify",
        method: Method::POST,
        route: Route::Verify,
        statuses: &[200, 400, 401, 408, 413, 422, 429, 500, 503],
    },
    Endpoint {
        path: "/healthz",
        method: Method::GET,
        route: Route::Healthz,
        statuses: &[200, 408, 429],
    },
    Endpoint {
        path: "/readyz",
        method: Method::GET,
        route: Route::Readyz,
        statuses: &[200, 408, 429, 500, 503],
    },
    Endpoint {
        path: "/metrics",
        method: Method::GET,
        route: Route::Metrics,
        statuses: &[200, 408, 429],
    },
    Endpoint {
        path: "/openapi.json",
        method: Method::GET,
        route: Route::OpenApi,
        statuses: &[200, 408, 429],
    },
];

/// One row of [`ROUTES`].
pub(crate) struct Endpoint {
    pub(crate) path: &'static str,
    pub(crate) method: Method,
    pub(crate) route: Route,
    /// Read by the test that holds `openapi.yaml` to this table.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) statuses: &'static [u16],
}

/// The endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Challenges,
    Verify,
    Healthz,
    Readyz,
    Metrics,
    OpenApi,
}

impl Route {
    /// `/v1` calls need a token when `[auth] tokens_file` is set.
    pub(crate) fn needs_token(self) -> bool {
        matches!(self, Route::Challenges | Route::Verify)
    }
}

/// The request within `max_concurrent_requests` and `request_timeout_seconds`.
async fn admit(shared: &Arc<Shared>, parts: &Parts, body: Incoming) -> Result<Answer, HttpError> {
    let permit = shared
        .permits
        .clone()
        .try_acquire_owned()
        .map_err(|_| HttpError::TooManyRequests)?;
    let routed = route(shared, Held(permit), parts, body);
    tokio::time::timeout(shared.request_timeout, routed)
        .await
        .map_err(|_| HttpError::RequestTimeout)?
}

/// The endpoint at the request's path, if the method is its own and the token valid.
async fn route(
    shared: &Arc<Shared>,
    held: Held,
    parts: &Parts,
    body: Incoming,
) -> Result<Answer, HttpError> {
    let path = parts.uri.path();
    let Some(endpoint) = ROUTES.iter().find(|e| e.path == path) else {
        return Err(HttpError::NotFound { path: path.into() });
    };
    let (route, allowed) = (endpoint.route, &endpoint.method);
    if parts.method != allowed && !(allowed == Method::GET && parts.method == Method::HEAD) {
        return Err(HttpError::MethodNotAllowed {
            path: path.into(),
            allowed: allowed.clone(),
        });
    }
    if route.needs_token() {
        crate::auth::check(shared, &parts.headers)?;
    }
    match route {
        Route::Challenges => endpoint::challenges::issue(shared, held).await,
        Route::Verify => endpoint::verify::verify(shared, held, &parts.headers, body).await,
        Route::Healthz => Ok(endpoint::health::healthz()),
        Route::Readyz => endpoint::health::readyz(shared, held).await,
        Route::Metrics => Ok(endpoint::metrics::render(shared)),
        Route::OpenApi => Ok(endpoint::openapi::document(shared)),
    }
}
