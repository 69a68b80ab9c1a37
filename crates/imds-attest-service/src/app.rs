//! The HTTP surface: routes, limits, authentication, and the one mapping of verdicts to
//! statuses. Every verdict is the verifier's; this module only carries it.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::http::request::Parts;
use hyper::{header, HeaderMap, Method, Request, Response, StatusCode};
use imds_attest::{ErrorKind, NonceCheck, VerifiedDocument, Verifier};
use imds_attest_store::Challenges;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Config;
use crate::metrics::{Metrics, Timed};

/// What a reload may change: the verifier (rules and trust) and the tokens.
pub(crate) struct Reloadable {
    pub(crate) verifier: Arc<Verifier>,
    pub(crate) tokens: Option<Arc<[String]>>,
}

/// Everything a request handler needs, shared.
pub(crate) struct Shared {
    pub(crate) current: RwLock<Arc<Reloadable>>,
    pub(crate) challenges: Challenges,
    pub(crate) ttl: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) metrics: Metrics,
    /// The store is this process's memory: its calls (and verifications, while the verifier
    /// fetches nothing) run on the async worker, not the blocking pool (see [`with_store`]).
    pub(crate) memory_store: bool,
}

impl Shared {
    pub(crate) fn new(config: Config, challenges: Challenges) -> Shared {
        let memory_store = challenges.store().describe() == "memory:";
        Shared {
            current: RwLock::new(Arc::new(Reloadable {
                verifier: Arc::new(config.verifier),
                tokens: config.tokens.map(Arc::from),
            })),
            challenges,
            ttl: config.ttl,
            max_body_bytes: config.max_body_bytes,
            request_timeout: config.request_timeout,
            permits: Arc::new(Semaphore::new(config.max_concurrent_requests)),
            metrics: Metrics::default(),
            memory_store,
        }
    }

    pub(crate) fn current(&self) -> Arc<Reloadable> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the rules, trust and tokens with a newly loaded config's.
    pub(crate) fn reload(&self, config: Config) {
        let next = Arc::new(Reloadable {
            verifier: Arc::new(config.verifier),
            tokens: config.tokens.map(Arc::from),
        });
        match self.current.write() {
            Ok(mut guard) => *guard = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }
}

/// What a verification found, for the request's log line.
#[derive(Clone, Default)]
struct Outcome {
    kind: Option<&'static str>,
    vm_id: Option<String>,
    subscription_id: Option<String>,
    rule: Option<String>,
}

/// A request's share of `max_concurrent_requests`, held until the request is answered and
/// whatever it handed to the blocking pool has returned: a 408 does not stop a store call or
/// a verification already running there, and the limit counts it until it ends.
struct Held(#[allow(dead_code)] OwnedSemaphorePermit);

/// An answer: hyper's response with the whole body in one piece.
pub(crate) type Answer = Response<Full<Bytes>>;

/// The endpoints.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Challenges,
    Verify,
    Healthz,
    Readyz,
    Metrics,
}

impl Route {
    fn of(path: &str) -> Option<Route> {
        Some(match path {
            "/v1/challenges" => Route::Challenges,
            "/v1/verify" => Route::Verify,
            "/healthz" => Route::Healthz,
            "/readyz" => Route::Readyz,
            "/metrics" => Route::Metrics,
            _ => return None,
        })
    }

    /// The one method each endpoint answers (and HEAD where it is GET).
    fn method(self) -> Method {
        match self {
            Route::Challenges | Route::Verify => Method::POST,
            Route::Healthz | Route::Readyz | Route::Metrics => Method::GET,
        }
    }

    /// `/v1` calls need a token when `[auth] tokens_file` is set.
    fn needs_token(self) -> bool {
        matches!(self, Route::Challenges | Route::Verify)
    }
}

/// Answers one request: the concurrency limit (429), the request timeout (408), the route
/// (404, 405), the token (401), the endpoint; then the request's log line and latency.
///
/// One plain function rather than axum's router with middleware layers, where each layer
/// boxed the request's future and cloned the service under it: the router cost a fifth of
/// the service's CPU time per verify request (107 -> 85 us, `cargo bench --bench serve`).
pub(crate) async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Answer {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let response = match shared.permits.clone().try_acquire_owned() {
        Err(_) => error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "the service is at its max_concurrent_requests; retry shortly".into(),
        ),
        Ok(permit) => {
            let held = Held(permit);
            let routed = route(&shared, held, &parts, body);
            match tokio::time::timeout(shared.request_timeout, routed).await {
                Ok(response) => response,
                Err(_) => with_header(
                    error_response(
                        StatusCode::REQUEST_TIMEOUT,
                        "request_timeout",
                        "the request took longer than request_timeout_seconds".into(),
                    ),
                    header::CONNECTION,
                    "close",
                ),
            }
        }
    };
    let elapsed = started.elapsed();
    shared.metrics.requests.observe(elapsed);
    let outcome = response.extensions().get::<Outcome>();
    tracing::info!(
        method = %parts.method,
        path = %parts.uri.path(),
        status = response.status().as_u16(),
        kind = outcome.and_then(|o| o.kind),
        vm_id = outcome.and_then(|o| o.vm_id.as_deref()),
        subscription_id = outcome.and_then(|o| o.subscription_id.as_deref()),
        rule = outcome.and_then(|o| o.rule.as_deref()),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

async fn route(shared: &Arc<Shared>, held: Held, parts: &Parts, body: Incoming) -> Answer {
    let path = parts.uri.path();
    let Some(route) = Route::of(path) else {
        return error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no endpoint {path}: the service answers POST /v1/challenges, POST /v1/verify, \
                 GET /healthz, GET /readyz and GET /metrics"
            ),
        );
    };
    let allowed = route.method();
    if parts.method != allowed && !(allowed == Method::GET && parts.method == Method::HEAD) {
        let mut r = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{path} answers {allowed} only"),
        );
        if let Ok(value) = header::HeaderValue::from_str(allowed.as_str()) {
            r.headers_mut().insert(header::ALLOW, value);
        }
        return r;
    }
    if route.needs_token() {
        if let Some(refused) = unauthorized(shared, &parts.headers) {
            return refused;
        }
    }
    match route {
        Route::Challenges => challenges(shared, held).await,
        Route::Verify => verify(shared, held, &parts.headers, body).await,
        Route::Healthz => healthz(),
        Route::Readyz => readyz(shared, held).await,
        Route::Metrics => metrics(shared),
    }
}

/// With `[auth] tokens_file`, every `/v1` call needs `Authorization: Bearer <token>`; checked
/// before the body is read, so nothing is verified or redeemed without one. The 401, or
/// `None` to go on.
fn unauthorized(shared: &Shared, headers: &HeaderMap) -> Option<Answer> {
    let current = shared.current();
    let tokens = current.tokens.as_ref()?;
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
        return None;
    }
    Some(with_header(
        error_response(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required: send Authorization: Bearer <token>".into(),
        ),
        header::WWW_AUTHENTICATE,
        "Bearer",
    ))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `POST /v1/challenges`: 201 with a fresh nonce, or 503 when the store cannot record it.
async fn challenges(shared: &Arc<Shared>, held: Held) -> Answer {
    let issued = with_store(shared, held, false, |shared| {
        let started = Instant::now();
        let issued = shared.challenges.issue(shared.ttl, now());
        shared.metrics.store.observe(started.elapsed());
        issued
    })
    .await;
    match issued {
        Ok(Ok(challenge)) => {
            let expires_at = challenge.expires_at.format(&Rfc3339).unwrap_or_default();
            json_answer(
                StatusCode::CREATED,
                &json!({"nonce": challenge.nonce, "expiresAt": expires_at}),
            )
        }
        Ok(Err(e)) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            e.kind().as_str(),
            e.to_string(),
        ),
        Err(Panicked) => internal(),
    }
}

/// `POST /v1/verify`: the verifier's verdict, the nonce redeemed as its last step.
async fn verify(shared: &Arc<Shared>, held: Held, headers: &HeaderMap, body: Incoming) -> Answer {
    let max = shared.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX)) {
        return too_large(max);
    }
    let bytes: Bytes = match Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return if e.is::<LengthLimitError>() {
                too_large(max)
            } else {
                error_response(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    format!("the request body could not be read: {e}"),
                )
            };
        }
    };
    let current = shared.current();
    let fetches = current.verifier.fetches_intermediates();
    let verdict = with_store(shared, held, fetches, move |shared| {
        let timed = Timed {
            inner: &shared.challenges,
            metrics: &shared.metrics,
        };
        current
            .verifier
            .verify_bytes(&bytes, NonceCheck::Redeem(&timed), now())
    })
    .await;
    match &verdict {
        Ok(Ok(_)) => shared.metrics.verification("verified"),
        Ok(Err(e)) => shared.metrics.verification(e.kind().as_str()),
        Err(Panicked) => {}
    }
    match verdict {
        Ok(Ok(verified)) => {
            let claims = verified.claims();
            let outcome = Outcome {
                kind: None,
                vm_id: Some(claims.vm_id.clone()),
                subscription_id: claims.subscription_id.clone(),
                rule: verified.rule().map(str::to_owned),
            };
            verified_response(success_body(&verified), outcome)
        }
        Ok(Err(e)) => {
            let kind = e.kind();
            let status = match kind {
                ErrorKind::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            error_response(status, kind.as_str(), e.to_string())
        }
        Err(Panicked) => internal(),
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
fn verified_response(body: Result<String, serde_json::Error>, outcome: Outcome) -> Answer {
    match body {
        Ok(body) => {
            let mut r = answer(StatusCode::OK, JSON, body);
            r.extensions_mut().insert(outcome);
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "a verified document's facts could not be written as JSON");
            let mut r = error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!(
                    "the document verified and its nonce was redeemed, but the verdict could not \
                     be written as JSON ({e}); ask for a new challenge, and see the service log"
                ),
            );
            r.extensions_mut().insert(Outcome {
                kind: Some("internal"),
                ..outcome
            });
            r
        }
    }
}

/// `GET /metrics`: Prometheus text.
fn metrics(shared: &Shared) -> Answer {
    let current = shared.current();
    let text = shared.metrics.render(
        current.verifier.proven_issuers(),
        current.verifier.signer_cache_stats(),
    );
    answer(StatusCode::OK, "text/plain; version=0.0.4", text)
}

/// `GET /healthz`: the process answers.
fn healthz() -> Answer {
    json_answer(StatusCode::OK, &json!({"status": "ok"}))
}

/// `GET /readyz`: 200 only if the store issues and redeems a probe nonce now.
async fn readyz(shared: &Arc<Shared>, held: Held) -> Answer {
    let probe = with_store(shared, held, false, |shared| {
        let at = now();
        let challenge = shared.challenges.issue(Duration::from_secs(60), at)?;
        shared
            .challenges
            .store()
            .redeem(&challenge.nonce, at)
            .map(|_| ())
    })
    .await;
    match probe {
        Ok(Ok(())) => json_answer(StatusCode::OK, &json!({"status": "ready"})),
        Ok(Err(e)) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            e.kind().as_str(),
            e.to_string(),
        ),
        Err(Panicked) => internal(),
    }
}

/// A verification or store call that panicked (a bug): answered 500 `internal`.
struct Panicked;

/// Runs `work`, which calls the store (and verifies), where it costs least: on this thread
/// when the store is in this process's memory, which answers in microseconds and where the
/// blocking pool's hand-off (its lock, two thread wake-ups, a thread per request in flight)
/// cost more than the verification itself; on the blocking pool for SQLite and Redis, which
/// wait on the disk or the network. A verifier that may fetch intermediates over the network
/// goes to the pool as well, whatever the store: `[trust] fetch_intermediates`, which a
/// reload may turn on.
///
/// `fetches`: whether `work` runs a verifier that may fetch (the verifier `work` holds, not
/// the current one: a reload may swap them in between). `held`: the request's permit, which
/// the blocking pool's task keeps until `work` returns, even if the request timed out.
async fn with_store<T: Send + 'static>(
    shared: &Arc<Shared>,
    held: Held,
    fetches: bool,
    work: impl FnOnce(&Shared) -> T + Send + 'static,
) -> Result<T, Panicked> {
    if shared.memory_store && !fetches {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(shared)))
            .map_err(|_| Panicked)
    } else {
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || {
            let done = work(&shared);
            drop(held);
            done
        })
        .await
        .map_err(|_| Panicked)
    }
}

fn too_large(max: usize) -> Answer {
    // The rest of the body is not read: the connection cannot be reused.
    with_header(
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::InputTooLarge.as_str(),
            format!("the request body exceeds max_body_bytes ({max} bytes); send the IMDS response as fetched"),
        ),
        header::CONNECTION,
        "close",
    )
}

fn internal() -> Answer {
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "a task of the service failed (a bug); see the service log".into(),
    )
}

/// `{"verified":false,"error":{"kind","message"}}` with this status; the kind is also in the
/// log line.
fn error_response(status: StatusCode, kind: &'static str, message: String) -> Answer {
    let mut r = json_answer(
        status,
        &json!({"verified": false, "error": {"kind": kind, "message": message}}),
    );
    r.extensions_mut().insert(Outcome {
        kind: Some(kind),
        ..Outcome::default()
    });
    r
}

const JSON: &str = "application/json";

fn json_answer(status: StatusCode, value: &Value) -> Answer {
    answer(status, JSON, value.to_string())
}

/// A response with this status, content type and body.
fn answer(status: StatusCode, content_type: &'static str, body: String) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    with_header(r, header::CONTENT_TYPE, content_type)
}

/// `r` with one more header, of a fixed value.
fn with_header(mut r: Answer, name: header::HeaderName, value: &'static str) -> Answer {
    r.headers_mut()
        .insert(name, header::HeaderValue::from_static(value));
    r
}

/// The current time, to the second: documents carry whole seconds.
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - time::Duration::nanoseconds(now.nanosecond().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a response carries: the status, the JSON body and the log line's outcome.
    fn read(response: Answer) -> (StatusCode, Value, Option<&'static str>) {
        let status = response.status();
        let kind = response.extensions().get::<Outcome>().and_then(|o| o.kind);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = runtime
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body, kind)
    }

    #[test]
    fn a_verdict_that_cannot_be_written_is_a_500_internal_never_a_200() {
        let failed = <serde_json::Error as serde::ser::Error>::custom("year out of range");
        let outcome = Outcome {
            vm_id: Some("vm".into()),
            ..Outcome::default()
        };
        let (status, body, kind) = read(verified_response(Err(failed), outcome));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["verified"], false);
        assert_eq!(body["error"]["kind"], "internal");
        assert_eq!(kind, Some("internal"));
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("year out of range"), "{message}");
        assert!(message.contains("ask for a new challenge"), "{message}");
    }

    #[test]
    fn a_written_verdict_is_a_200_with_that_body() {
        let (status, body, kind) = read(verified_response(
            Ok(r#"{"verified":true}"#.into()),
            Outcome::default(),
        ));
        assert_eq!(
            (status, body["verified"].as_bool(), kind),
            (StatusCode::OK, Some(true), None)
        );
    }
}
