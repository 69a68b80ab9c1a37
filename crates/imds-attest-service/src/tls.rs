//! `[tls]`: HTTPS with rustls (ring). Handshakes run beside the accept loop, each bounded by
//! the header read timeout and counted in `max_connections`, so a client that never finishes one holds up no other.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::read_capped;
use crate::connections::{Counted, CountedListener};

/// How many finished handshakes may wait for the server to take them.
const QUEUE: usize = 64;

/// Reads the certificate chain and key (each at most
/// [`imds_attest_setup::MAX_FILE_BYTES`]); the error names the key at fault.
pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, (&'static str, String)> {
    let cert_pem = read_capped(cert).map_err(|e| ("tls.cert", e.describe(cert)))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            (
                "tls.cert",
                format!(
                    "cannot read a PEM certificate chain from {}: {e}",
                    cert.display()
                ),
            )
        })?;
    if chain.is_empty() {
        return Err((
            "tls.cert",
            format!("{} holds no CERTIFICATE block", cert.display()),
        ));
    }
    let key_pem = read_capped(key).map_err(|e| ("tls.key", e.describe(key)))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        (
            "tls.key",
            format!("cannot read a PEM private key from {}: {e}", key.display()),
        )
    })?;
    // rustls 0.23.48 deprecates ring's provider (no post-quantum key exchange). Kept
    // deliberately: ring is the one TLS crypto the workspace links beside OpenSSL (aws-lc-rs
    // would add a third C library and cmake to every build); the lock pins 0.23.46, and a
    // fresh lockfile builds without the warning. Revisit when ring gains ML-KEM.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| {
            (
                "tls.key",
                format!("the key does not fit the certificate: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A listener that hands the accept loop finished TLS connections (axum's `Listener` trait).
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<Counted<TcpStream>>, SocketAddr)>,
    addr: SocketAddr,
}

impl TlsListener {
    pub(crate) fn new(mut tcp: CountedListener, acceptor: TlsAcceptor, timeout: Duration) -> Self {
        let addr = tcp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let (tx, ready) = mpsc::channel(QUEUE);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = tcp.accept() => accepted,
                    // The server stopped taking connections: stop accepting them.
                    () = tx.closed() => break,
                };
                // Counted from here: a handshake in progress is a connection too.
                let (stream, peer) = accepted;
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::info!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::info!("TLS handshake timed out"),
                    }
                });
            }
        });
        TlsListener { ready, addr }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<Counted<TcpStream>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop ended: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}
