//! A local Azure Instance Metadata Service: attested documents signed exactly as IMDS signs
//! them (the sha256WithRSAEncryption digest OID, no signed attributes, only the leaf embedded),
//! instance metadata with route filtering, IMDS's request rules, and injectable faults.
//!
//! ```no_run
//! # async fn run() -> Result<(), String> {
//! let config = imds_emulator::Config::new("pki".into());
//! let server = imds_emulator::Emulator::bind(config, "127.0.0.1:0".parse().unwrap()).await?;
//! println!("http://{}", server.addr());
//! server.serve().await
//! # }
//! ```
#![forbid(unsafe_code)]

mod config;
mod events;
mod identity;
mod pki;
mod vm;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
pub use imds_attest::Cloud;
use imds_attest_testpki::{imds_response, DocSpec};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

pub use events::{EventSpec, EventType, SCHEDULED_EVENTS_VERSIONS};
pub use identity::{Identities, UserAssigned, TOKEN_LIFETIME_SECONDS};
pub use pki::{ca_issuers, Chain, Pki};
pub use vm::{
    InboundRule, LoadBalancer, OutboundRule, Plan, PublicIpAddress, VmIdentity,
    FIRST_LOAD_BALANCER_VERSION, FIRST_USER_DATA_VERSION,
};

/// The api-versions this emulator knows, oldest first (IMDS's list as of 2023).
pub const API_VERSIONS: &[&str] = &[
    "2017-03-01",
    "2017-04-02",
    "2017-08-01",
    "2017-10-01",
    "2017-12-01",
    "2018-02-01",
    "2018-04-02",
    "2018-10-01",
    "2019-02-01",
    "2019-03-11",
    "2019-04-30",
    "2019-06-01",
    "2019-06-04",
    "2019-08-01",
    "2019-08-15",
    "2019-11-01",
    "2020-06-01",
    "2020-07-15",
    "2020-09-01",
    "2020-10-01",
    "2020-12-01",
    "2021-01-01",
    "2021-02-01",
    "2021-03-01",
    "2021-05-01",
    "2021-08-01",
    "2021-10-01",
    "2021-11-01",
    "2021-11-15",
    "2021-12-13",
    "2023-07-01",
];

/// The first api-version that serves managed-identity tokens.
pub const FIRST_IDENTITY_VERSION: &str = "2018-02-01";

/// The first api-version that serves the attested document.
pub const FIRST_ATTESTED_VERSION: &str = "2018-10-01";

/// The most requests per second IMDS serves before answering 429.
pub const RATE_LIMIT_PER_SECOND: usize = 5;

/// How the emulator runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the PKI is created or reused.
    pub pki_dir: PathBuf,
    /// Whose name the signer bears.
    pub cloud: Cloud,
    /// The region in the signer's SAN and the VM's location.
    pub region: String,
    /// The VM's identity.
    pub vm: VmIdentity,
    /// Faults to start with.
    pub faults: Faults,
    /// Where the old VM extension's token endpoint (`GET /oauth2/token`) listens, if at all
    /// (it was `127.0.0.1:50342` on Azure).
    pub extension_listen: Option<SocketAddr>,
    /// How many times faster than real time scheduled events run (1 is real time).
    pub time_scale: f64,
    /// The signing chain's shape.
    pub chain: Chain,
    /// Rotate to a new issuing CA once at start (as `POST /admin/rotate` does).
    pub rotate_at_start: bool,
}

impl Config {
    /// Public cloud, eastus, the default VM, no faults.
    pub fn new(pki_dir: PathBuf) -> Config {
        Config {
            pki_dir,
            cloud: Cloud::Public,
            region: "eastus".into(),
            vm: VmIdentity::default(),
            faults: Faults::default(),
            extension_listen: None,
            time_scale: 1.0,
            chain: Chain::G1,
            rotate_at_start: false,
        }
    }
}

/// Injected misbehaviour: set at start or by `POST /admin/faults` with the same JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Faults {
    /// Answer the next `fail_count` requests with this status (410, 429, 500 or 503).
    #[serde(default)]
    pub fail_status: Option<u16>,
    /// How many requests fail.
    #[serde(default)]
    pub fail_count: u32,
    /// The Retry-After seconds sent with 429.
    #[serde(default)]
    pub retry_after: Option<u32>,
    /// Delay before every answer, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Serve the previous attested document (its old nonce) for the next this many requests.
    #[serde(default)]
    pub stale_count: u32,
}

struct Shared {
    tokens: identity::TokenSigner,
    cloud_region: String,
    vm: VmIdentity,
    state: Mutex<Mutable>,
}

struct Mutable {
    faults: Faults,
    recent: VecDeque<Instant>,
    last_document: Option<String>,
    events: events::Schedule,
    pki: Pki,
}

/// Which listener a request came in on.
#[derive(Clone)]
struct Endpoint {
    shared: Arc<Shared>,
    /// The old VM extension's listener: only `/oauth2/token`.
    extension: bool,
}

/// A bound, not yet serving, emulator.
pub struct Emulator {
    listener: tokio::net::TcpListener,
    router: Router,
    extension: Option<(tokio::net::TcpListener, Router)>,
    pki_dir: PathBuf,
}

impl Emulator {
    /// Binds `addr` (port 0 picks a free port), then creates or reuses the PKI, whose leaves
    /// name their issuer at `http://<bound address>/pki/...`.
    pub async fn bind(config: Config, addr: SocketAddr) -> Result<Emulator, String> {
        if !(config.time_scale.is_finite() && config.time_scale > 0.0) {
            return Err(format!(
                "the time scale must be a positive number, not {}",
                config.time_scale
            ));
        }
        if base64::engine::general_purpose::STANDARD
            .decode(&config.vm.user_data)
            .is_err()
        {
            return Err("userData must be base64 (as given to ARM)".into());
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("cannot read the address bound: {e}"))?;
        let mut pki = Pki::open(
            &config.pki_dir,
            config.cloud,
            &config.region,
            config.chain,
            &format!("http://{bound}"),
        )?;
        if config.rotate_at_start {
            pki.rotate()?;
        }
        let pki_dir = pki.dir.clone();
        let tokens = identity::TokenSigner::open(&pki_dir)?;
        // The scenario's clock starts once the slow part (creating keys) is done.
        let mut schedule = events::Schedule::new(config.time_scale);
        let started = Instant::now();
        for spec in &config.vm.scheduled_events {
            schedule.add(spec.clone(), started);
        }
        let shared = Arc::new(Shared {
            tokens,
            cloud_region: config.region,
            vm: config.vm,
            state: Mutex::new(Mutable {
                faults: config.faults,
                recent: VecDeque::new(),
                last_document: None,
                events: schedule,
                pki,
            }),
        });
        let router = |extension| {
            Router::new().fallback(handle).with_state(Endpoint {
                shared: shared.clone(),
                extension,
            })
        };
        let extension = match config.extension_listen {
            Some(addr) => Some((
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))?,
                router(true),
            )),
            None => None,
        };
        Ok(Emulator {
            listener,
            router: router(false),
            extension,
            pki_dir,
        })
    }

    /// The address of the VM extension's token endpoint, if it listens.
    pub fn extension_addr(&self) -> Option<SocketAddr> {
        self.extension
            .as_ref()
            .and_then(|(l, _)| l.local_addr().ok())
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The PKI folder: `root.pem` and `intermediate.pem` are what to trust.
    pub fn pki_dir(&self) -> &std::path::Path {
        &self.pki_dir
    }

    /// Serves until the process ends.
    pub async fn serve(self) -> Result<(), String> {
        let main = axum::serve(self.listener, self.router);
        match self.extension {
            Some((listener, router)) => tokio::select! {
                served = main => served,
                served = axum::serve(listener, router) => served,
            },
            None => main.await,
        }
        .map_err(|e| format!("server failed: {e}"))
    }
}

/// An emulator serving on an ephemeral loopback port from its own runtime threads, for tests
/// written in Rust; it stops when dropped.
pub struct Background {
    url: String,
    extension_url: Option<String>,
    pki_dir: PathBuf,
    _runtime: tokio::runtime::Runtime,
}

impl Background {
    /// Starts one on 127.0.0.1 with a free port.
    pub fn start(config: Config) -> Result<Background, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let emulator = runtime.block_on(Emulator::bind(config, loopback))?;
        let url = format!("http://{}", emulator.addr());
        let extension_url = emulator.extension_addr().map(|a| format!("http://{a}"));
        let pki_dir = emulator.pki_dir().to_path_buf();
        runtime.spawn(emulator.serve());
        Ok(Background {
            url,
            extension_url,
            pki_dir,
            _runtime: runtime,
        })
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The VM extension token endpoint's base URL, if [`Config::extension_listen`] was set.
    pub fn extension_url(&self) -> Option<&str> {
        self.extension_url.as_deref()
    }

    /// The PKI folder: `root.pem` and `intermediate.pem` are what to trust.
    pub fn pki_dir(&self) -> &std::path::Path {
        &self.pki_dir
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, json_body(&json!({ "error": message }))).into_response()
}

/// The identity endpoints' error shape: an OAuth error code and a description.
fn oauth_error(status: StatusCode, description: &str) -> Response {
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

fn json_body(value: &Value) -> ([(axum::http::HeaderName, HeaderValue); 1], String) {
    json_body_text(value.to_string())
}

fn newest_versions() -> Vec<&'static str> {
    API_VERSIONS.iter().rev().take(3).copied().collect()
}

/// How errors look where a request went: the metadata endpoints' `{"error": message}` or the
/// identity endpoints' OAuth shape.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Metadata,
    Identity,
}

impl Shape {
    fn error(self, status: StatusCode, message: &str) -> Response {
        match self {
            Shape::Metadata => error(status, message),
            Shape::Identity => oauth_error(status, message),
        }
    }
}

const IDENTITY_PATH: &str = "/metadata/identity/oauth2/token";
const EXTENSION_PATH: &str = "/oauth2/token";
const SCHEDULED_EVENTS_PATH: &str = "/metadata/scheduledevents";
const LOAD_BALANCER_PATH: &str = "/metadata/loadbalancer";

async fn handle(
    State(endpoint): State<Endpoint>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let shared = &*endpoint.shared;
    let path = uri.path().to_owned();
    if !endpoint.extension {
        // The emulator's own endpoints, outside IMDS's rules.
        match (&method, path.as_str()) {
            (&Method::POST, "/admin/faults") => return set_faults(shared, &body),
            (&Method::POST, "/admin/scheduled-events") => return inject_event(shared, &body),
            (&Method::POST, "/admin/rotate") => return rotate(shared),
            (&Method::GET, p) if p.starts_with("/pki/") => return ca_certificate(shared, p),
            (&Method::GET, "/admin/jwks") => {
                return (StatusCode::OK, json_body(shared.tokens.jwks())).into_response()
            }
            _ => {}
        }
    }
    let shape = if endpoint.extension || path.starts_with("/metadata/identity") {
        Shape::Identity
    } else {
        Shape::Metadata
    };
    let (injected, latency) = {
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        while state
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            state.recent.pop_front();
        }
        state.recent.push_back(now);
        let limited = state.recent.len() > RATE_LIMIT_PER_SECOND;
        let injected = if limited {
            Some((StatusCode::TOO_MANY_REQUESTS, Some(1)))
        } else if state.faults.fail_count > 0 {
            state.faults.fail_count -= 1;
            state
                .faults
                .fail_status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .map(|s| (s, state.faults.retry_after))
        } else {
            None
        };
        (injected, state.faults.latency_ms)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if let Some((status, retry_after)) = injected {
        let message = match (shape, status.as_u16()) {
            (Shape::Identity, 410) => "Identity is not ready (injected fault, imds-emulator)",
            _ => "Injected fault (imds-emulator)",
        };
        let mut response = shape.error(status, message);
        if status == StatusCode::TOO_MANY_REQUESTS {
            if let Ok(v) = HeaderValue::from_str(&retry_after.unwrap_or(1).to_string()) {
                response.headers_mut().insert("retry-after", v);
            }
        }
        return response;
    }
    let post_allowed = !endpoint.extension && path == SCHEDULED_EVENTS_PATH;
    if method != Method::GET && !(method == Method::POST && post_allowed) {
        return shape.error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    }
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return shape.error(
            StatusCode::BAD_REQUEST,
            "Bad request. Required metadata header not specified",
        );
    }
    if headers.contains_key("x-forwarded-for") {
        return shape.error(
            StatusCode::BAD_REQUEST,
            "Bad request. Request must not contain an X-Forwarded-For header",
        );
    }
    let mut query: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if query.iter().any(|(seen, _)| *seen == k) {
            return shape.error(
                StatusCode::BAD_REQUEST,
                &format!("Bad request. Query parameter {k} is duplicated"),
            );
        }
        query.push((k.into_owned(), v.into_owned()));
    }
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if endpoint.extension {
        if path != EXTENSION_PATH {
            return oauth_error(StatusCode::NOT_FOUND, "Resource not found");
        }
        return token(shared, &param);
    }
    if path == "/metadata/versions" {
        return (
            StatusCode::OK,
            json_body(&json!({ "apiVersions": API_VERSIONS })),
        )
            .into_response();
    }
    let known = path == "/metadata/attested/document"
        || path == IDENTITY_PATH
        || path == SCHEDULED_EVENTS_PATH
        || path == LOAD_BALANCER_PATH
        || vm::is_instance_path(&path);
    if !known {
        return shape.error(StatusCode::NOT_FOUND, "Resource not found");
    }
    let Some(version) = param("api-version") else {
        if shape == Shape::Identity {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "Required query variable 'api-version' is missing",
            );
        }
        return (
            StatusCode::BAD_REQUEST,
            json_body(&json!({
                "error": "Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds",
                "newest-versions": newest_versions(),
            })),
        )
            .into_response();
    };
    let serves = |first: &str| API_VERSIONS.contains(&version) && version >= first;
    if path == SCHEDULED_EVENTS_PATH {
        if !SCHEDULED_EVENTS_VERSIONS.contains(&version) {
            return invalid_version();
        }
        return scheduled_events(shared, method == Method::POST, &body);
    }
    if path == IDENTITY_PATH {
        if !serves(FIRST_IDENTITY_VERSION) {
            return oauth_error(StatusCode::BAD_REQUEST, "Invalid API version");
        }
        return token(shared, &param);
    }
    if path == LOAD_BALANCER_PATH {
        if !serves(FIRST_LOAD_BALANCER_VERSION) {
            return invalid_version();
        }
        return shared.vm.load_balancer();
    }
    if path == "/metadata/attested/document" {
        if !serves(FIRST_ATTESTED_VERSION) {
            return invalid_version();
        }
        return attested(shared, param("nonce"));
    }
    if !serves("2017-03-01") {
        return invalid_version();
    }
    shared
        .vm
        .instance(&path, param("format"), &shared.cloud_region, version)
}

/// `GET /metadata/identity/oauth2/token` (and the extension's `/oauth2/token`): a token for
/// `resource` from the identity the selectors pick.
fn token<'q>(shared: &Shared, param: &dyn Fn(&str) -> Option<&'q str>) -> Response {
    let Some(resource) = param("resource").filter(|r| !r.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "Required audience parameter not specified",
        );
    };
    let picked =
        match shared
            .vm
            .identity
            .pick(param("client_id"), param("object_id"), param("msi_res_id"))
        {
            Ok(p) => p,
            Err(e) => return oauth_error(StatusCode::BAD_REQUEST, e.description()),
        };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    match shared
        .tokens
        .token_response(&picked, resource, &shared.vm.tenant_id, now)
    {
        Ok(body) => (StatusCode::OK, json_body(&body)).into_response(),
        Err(e) => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

/// `GET /metadata/scheduledevents`, or `POST` to approve (start) events.
fn scheduled_events(shared: &Shared, approve: bool, body: &[u8]) -> Response {
    let now = Instant::now();
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    if approve {
        let ids: Vec<String> = match serde_json::from_slice::<events::StartRequests>(body) {
            Ok(r) => r.requests.into_iter().map(|r| r.event_id).collect(),
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("Bad request. The body must be {{\"StartRequests\":[{{\"EventId\":\"...\"}}]}}: {e}"),
                )
            }
        };
        return match state.events.approve(&ids, now) {
            Ok(()) => StatusCode::OK.into_response(),
            Err(message) => error(StatusCode::BAD_REQUEST, &message),
        };
    }
    let document = state.events.document(&shared.vm.name, now);
    (StatusCode::OK, json_body(&document)).into_response()
}

/// `POST /admin/scheduled-events`: schedules one event ([`EventSpec`] JSON).
fn inject_event(shared: &Shared, body: &[u8]) -> Response {
    match serde_json::from_slice::<EventSpec>(body) {
        Ok(spec) => {
            let id = shared
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .events
                .add(spec, Instant::now());
            (StatusCode::OK, json_body(&json!({ "EventId": id }))).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &format!("bad event JSON: {e}")),
    }
}

fn invalid_version() -> Response {
    (
        StatusCode::BAD_REQUEST,
        json_body(&json!({
            "error": "Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds",
            "newest-versions": newest_versions(),
        })),
    )
        .into_response()
}

/// `POST /admin/rotate`: a new issuing CA and signer.
fn rotate(shared: &Shared) -> Response {
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    match state.pki.rotate() {
        Ok(()) => (
            StatusCode::OK,
            json_body(&json!({
                "issuer": state.pki.issuer_name(),
                "caIssuers": state.pki.issuer_url(),
            })),
        )
            .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

/// `GET /pki/<name>.cer`: a CA certificate, DER, where the leaves' AIA points.
fn ca_certificate(shared: &Shared, path: &str) -> Response {
    let name = path
        .strip_prefix("/pki/")
        .and_then(|p| p.strip_suffix(".cer"))
        .unwrap_or_default();
    let der = shared
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pki
        .ca_der(name);
    match der {
        Some(der) => (
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/pkix-cert"),
            )],
            der,
        )
            .into_response(),
        None => error(StatusCode::NOT_FOUND, "Resource not found"),
    }
}

fn set_faults(shared: &Shared, body: &[u8]) -> Response {
    match serde_json::from_slice::<Faults>(body) {
        Ok(faults) => {
            shared
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .faults = faults;
            (StatusCode::OK, json_body(&json!({"ok": true}))).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &format!("bad faults JSON: {e}")),
    }
}

fn attested(shared: &Shared, nonce: Option<&str>) -> Response {
    if let Some(n) = nonce {
        if n.is_empty() || n.len() > 32 || !n.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return error(
                StatusCode::BAD_REQUEST,
                "Bad request. Nonce must be 1-32 alphanumeric characters",
            );
        }
    }
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    if state.faults.stale_count > 0 {
        if let Some(previous) = state.last_document.clone() {
            state.faults.stale_count -= 1;
            return (StatusCode::OK, json_body_text(previous)).into_response();
        }
    }
    let created = OffsetDateTime::now_utc();
    let expires = created + time::Duration::hours(6);
    let default_nonce = format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        expires.year(),
        u8::from(expires.month()),
        expires.day(),
        expires.hour(),
        expires.minute(),
        expires.second()
    );
    let content = shared
        .vm
        .attested_content(nonce.unwrap_or(&default_nonce), created, expires);
    let der = DocSpec::imds(content.as_bytes()).sign(&state.pki.leaf);
    let body = imds_response(&der);
    state.last_document = Some(body.clone());
    (StatusCode::OK, json_body_text(body)).into_response()
}

fn json_body_text(text: String) -> ([(axum::http::HeaderName, HeaderValue); 1], String) {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        text,
    )
}
