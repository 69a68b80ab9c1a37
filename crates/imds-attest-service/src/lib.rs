//! The imds-attest licence-check service: a small HTTP server that issues challenges and
//! verifies Azure IMDS attested documents against them, redeeming each challenge once, so that
//! a licence server in any language needs two HTTP calls.
//!
//! - `POST /v1/challenges`: 201 `{"nonce","expiresAt"}`;
//! - `POST /v1/verify` with the IMDS response as fetched: 200 with the verified facts, 422
//!   `{"verified":false,"error":{"kind","message"}}` for every rejection, 503 (kind
//!   `store_unavailable`) when the store cannot answer, 401, 413, 429 and 408 for requests
//!   refused before any verification, 500 (kind `internal`) for a fault of the service;
//! - `GET /healthz`, `GET /readyz` (200 only while the store answers), `GET /metrics`
//!   (Prometheus text), `GET /openapi.json` (all of this as an OpenAPI 3.1 document, whose
//!   source is the crate's `openapi.yaml`);
//! - 404 (kind `not_found`) and 405 (kind `method_not_allowed`, with `Allow`) otherwise.
//!
//! Every verdict is [`imds_attest::Verifier`]'s; the service maps its
//! [`kind`](imds_attest::Error::kind) to a status and re-implements no check. The kinds only
//! the service answers are [`HttpErrorKind`]'s; every other kind it answers is an
//! [`imds_attest::ErrorKind`]. `limits.max_body_bytes` is also the verifier's input limit, so
//! a body the service reads is parsed, not refused as `input_too_large` by the library's
//! default limit.
//!
//! ```no_run
//! # fn main() -> Result<(), imds_attest_service::ServiceError> {
//! let config = imds_attest_service::Config::load("/etc/imds-attest/service.toml".as_ref())?;
//! imds_attest_service::serve(config)?; // until SIGTERM or SIGINT
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod answer;
mod auth;
mod config;
mod connections;
mod endpoint;
mod error;
mod http_error;
mod log;
mod metrics;
mod routing;
mod shared;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use imds_attest_store::Challenges;

pub use config::{
    Config, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT_SECONDS, DEFAULT_STORE, DEFAULT_TTL_SECONDS,
    MAX_BODY_BYTES_RANGE, MAX_CONCURRENT_REQUESTS_RANGE, MAX_CONNECTIONS_RANGE,
    MAX_HEADER_READ_TIMEOUT, REQUEST_TIMEOUT_SECONDS_RANGE, TTL_SECONDS_RANGE,
};
pub use error::{ConfigProblem, ServiceError, ServiceErrorKind};
pub use http_error::HttpErrorKind;

/// How long requests in flight may take to finish after SIGTERM or SIGINT.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// Human-readable text.
    Text,
    /// One JSON object a line.
    Json,
}

/// Sends the service's log lines (one a request) to standard error, at `info` unless
/// `RUST_LOG`-style filtering is added by the caller; coloured only on a terminal without
/// `NO_COLOR`. Call once.
pub fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .with_ansi(colour_on_stderr());
    // A second call (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder.event_format(log::JsonLines).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Colours only for a person: standard error is a terminal, and `NO_COLOR` is unset or empty
/// (<https://no-color.org>); a redirected log gets no escape sequences.
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Runs the service from a loaded config until SIGTERM or SIGINT, reloading rules, trust and
/// tokens on SIGHUP (a bad new config is logged and the old one kept). In-flight requests get
/// [`SHUTDOWN_GRACE`] to finish.
pub fn serve(config: Config) -> Result<(), ServiceError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServiceError::Serve)?;
    let trusting = config
        .trust_sources
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    runtime.block_on(async {
        let service = Service::bind(config).await?;
        // Once bound, with the address bound (port 0 picks one): where to point a client.
        if let Some(addr) = service.local_addr() {
            let scheme = if service.tls.is_some() {
                "https"
            } else {
                "http"
            };
            tracing::info!("listening on {scheme}://{addr}");
        }
        tracing::info!("trusting {trusting}");
        let file = service.config_file.clone();
        let shared = service.shared.clone();
        tokio::spawn(reload_on_hangup(file, shared));
        service.run(shutdown_signal()).await
    })
}

/// A bound, not yet serving, service: for embedding and for tests that need the port.
pub struct Service {
    listener: connections::CountedListener,
    header_read_timeout: Duration,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<shared::Shared>,
    config_file: PathBuf,
}

impl Service {
    /// Opens the store and binds the listen address (port 0 picks a free one).
    pub async fn bind(config: Config) -> Result<Service, ServiceError> {
        let store =
            imds_attest_store::open(&config.store_url).map_err(|e| ServiceError::Config {
                file: config.file.clone(),
                key: "store.url".into(),
                problem: ConfigProblem::Store(e.kind()),
                message: e.to_string(),
            })?;
        // Converted once; a document that is not YAML (which a test rules out) stops startup.
        let openapi = endpoint::openapi::to_json().map_err(|e| {
            ServiceError::Serve(std::io::Error::other(format!("openapi.yaml: {e}")))
        })?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServiceError::Bind {
                addr: config.listen,
                source,
            })?;
        let config_file = config.file.clone();
        let tls = config.tls.clone();
        let header_read_timeout = config.header_read_timeout();
        Ok(Service {
            listener: connections::CountedListener::new(listener, config.max_connections),
            header_read_timeout,
            tls,
            shared: Arc::new(shared::Shared::new(config, Challenges::new(store), openapi)),
            config_file,
        })
    }

    /// The address bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish for at most
    /// [`SHUTDOWN_GRACE`].
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServiceError> {
        let timeout = self.header_read_timeout;
        let shared = self.shared;
        match self.tls {
            None => accept_loop(self.listener, shared, timeout, shutdown).await,
            Some(acceptor) => {
                let listener = tls::TlsListener::new(self.listener, acceptor, timeout);
                accept_loop(listener, shared, timeout, shutdown).await
            }
        }
        Ok(())
    }
}

/// Serves connections until `shutdown`, then waits for those open (at most
/// [`SHUTDOWN_GRACE`]). Each connection must send its request headers within `timeout`, and
/// an idle one its next request (axum's own loop has no such limit, so a client sending a
/// byte a second would stay).
async fn accept_loop<L: axum::serve::Listener>(
    mut listener: L,
    shared: Arc<shared::Shared>,
    timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(timeout);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            (io, _) = listener.accept() => {
                let shared = shared.clone();
                let service = hyper::service::service_fn(move |request| {
                    let answered = routing::handle(shared.clone(), request);
                    async move { Ok::<_, std::convert::Infallible>(answered.await) }
                });
                let connection = http.serve_connection(hyper_util::rt::TokioIo::new(io), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    tracing::info!("shutting down: finishing requests in flight");
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still in flight after the grace period were dropped");
        }
    }
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// On SIGHUP, reloads the config file's rules, trust and tokens; the listen address, store
/// and limits stay as started.
async fn reload_on_hangup(file: PathBuf, shared: Arc<shared::Shared>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: reloads are off");
            return;
        };
        while hup.recv().await.is_some() {
            let loaded = {
                let file = file.clone();
                tokio::task::spawn_blocking(move || Config::load(&file)).await
            };
            match loaded {
                Ok(Ok(config)) => {
                    shared.reload(config);
                    tracing::info!("reloaded rules, trust and tokens");
                }
                // Fail closed: a bad file (an emptied rules file among them) never replaces
                // the rules, trust and tokens in force.
                Ok(Err(e)) => tracing::error!(
                    kind = e.kind(),
                    error = %e,
                    "reload refused; the old config is kept"
                ),
                Err(e) => tracing::error!(error = %e, "reload failed; the old config is kept"),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, shared);
    }
}
