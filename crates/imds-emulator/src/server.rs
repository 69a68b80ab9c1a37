//! The server: [`Emulator`] binds its listeners and serves until the process ends,
//! [`Background`] runs one on its own threads for Rust tests, and [`handle`] sends each request
//! through the admin endpoints or IMDS's rules to its endpoint.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;

use crate::endpoints::{self, admin};
use crate::identity::TokenSigner;
use crate::rules;
use crate::schedule::Schedule;
use crate::state::Shared;
use crate::{Config, Pki};

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
        config.check()?;
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
        let tokens = TokenSigner::open(&pki_dir)?;
        // The scenario's clock starts once the slow part (creating keys) is done.
        let mut schedule = Schedule::new(config.time_scale);
        let started = Instant::now();
        for spec in &config.vm.scheduled_events {
            schedule.add(spec.clone(), started)?;
        }
        let shared = Arc::new(Shared::new(
            tokens,
            config.region,
            config.vm,
            config.faults,
            schedule,
            pki,
        ));
        let router = |on_extension| {
            Router::new().fallback(handle).with_state(Listener {
                shared: shared.clone(),
                on_extension,
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
    pub fn pki_dir(&self) -> &Path {
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
    pub fn pki_dir(&self) -> &Path {
        &self.pki_dir
    }
}

/// Which listener a request came in on.
#[derive(Clone)]
struct Listener {
    shared: Arc<Shared>,
    /// The old VM extension's listener: only `/oauth2/token`.
    on_extension: bool,
}

/// Every request: the admin endpoints (on the main listener), else IMDS's rules, then the
/// endpoint.
async fn handle(
    State(listener): State<Listener>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let shared = &*listener.shared;
    let path = uri.path();
    if !listener.on_extension {
        if let Some(response) = admin::serve(shared, &method, path, &body) {
            return response;
        }
    }
    match rules::admit(shared, listener.on_extension, &method, &uri, &headers).await {
        Ok(query) => endpoints::serve(shared, listener.on_extension, &method, path, &query, &body),
        Err(refusal) => refusal.into_response(),
    }
}
