//! The HTTP [`IntermediateFetcher`] (feature `aia`): allow-listed hosts only, `http` or
//! `https` (rustls with ring; the server's certificate checked against the platform's TLS
//! roots and any added), no proxy, no redirects, at most [`MAX_AIA_BYTES`], a time limit per
//! fetch.
//!
//! What it remembers, so that a hostile document cannot make it fetch in a loop, nor make a
//! genuine document fail: certificates that completed a verified chain, by subject and key
//! identifier, until their notAfter (in memory, and in a directory when given one); every
//! answer a URL gave, and every URL whose fetch failed, for five minutes, by URL alone. A
//! document naming a genuine issuer therefore costs at most one request per URL, and neither
//! evicts a certificate that passed nor blocks another document's URL. Each memory holds a
//! bounded number of entries ([`MAX_PASSED`], [`MAX_ANSWERS`], [`MAX_FAILURES`]), the oldest
//! dropped first.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use der::Decode;
use x509_cert::Certificate;

use super::bounded::BoundedMap;
use super::MAX_AIA_BYTES;
use super::{AiaAllowList, AiaUrl, IntermediateFetcher, IssuerRequest, DEFAULT_AIA_TIMEOUT};
use crate::error::{AiaFetchReason, Error};

/// How long a URL whose fetch failed is not retried, and how long a URL's answer is used again
/// rather than fetched.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(5 * 60);

/// How many certificates that passed are remembered (each at most [`MAX_AIA_BYTES`]).
pub const MAX_PASSED: usize = 256;

/// How many URLs' answers are remembered (each at most [`MAX_AIA_BYTES`]).
pub const MAX_ANSWERS: usize = 64;

/// How many failed URLs are remembered (each at most
/// [`MAX_AIA_URL_BYTES`](super::MAX_AIA_URL_BYTES)).
pub const MAX_FAILURES: usize = 1024;

/// A certificate's subject (DER) and subjectKeyIdentifier: what a request asks for.
type Key = (Vec<u8>, Option<Vec<u8>>);

/// Fetches intermediates over HTTP from allow-listed hosts.
///
/// ```
/// use imds_attest::aia::{http::HttpFetcher, AiaAllowList};
/// use imds_attest::{Policy, TrustStore, Verifier};
/// use std::sync::Arc;
///
/// let fetcher = HttpFetcher::new(AiaAllowList::default());
/// let verifier = Verifier::new(TrustStore::builtin(), Policy::default())
///     .with_fetcher(Arc::new(fetcher));
/// # let _ = verifier;
/// ```
#[derive(Debug)]
pub struct HttpFetcher {
    allow: AiaAllowList,
    timeout: Duration,
    dir: Option<PathBuf>,
    /// Certificates that completed a verified chain, with their notAfter.
    passed: Mutex<BoundedMap<Key, (Vec<u8>, SystemTime)>>,
    /// What each URL answered, and when.
    answers: Mutex<BoundedMap<String, (Vec<u8>, Instant)>>,
    /// When each URL's fetch failed.
    failed: Mutex<BoundedMap<String, Instant>>,
    requests: AtomicUsize,
    platform_roots: bool,
    extra_tls_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    tls: OnceLock<Arc<rustls::ClientConfig>>,
}

impl HttpFetcher {
    /// A fetcher for the hosts of `allow`, with the default time limit.
    pub fn new(allow: AiaAllowList) -> HttpFetcher {
        HttpFetcher {
            allow,
            timeout: DEFAULT_AIA_TIMEOUT,
            dir: None,
            passed: Mutex::new(BoundedMap::new(MAX_PASSED)),
            answers: Mutex::new(BoundedMap::new(MAX_ANSWERS)),
            failed: Mutex::new(BoundedMap::new(MAX_FAILURES)),
            requests: AtomicUsize::new(0),
            platform_roots: true,
            extra_tls_roots: Vec::new(),
            tls: OnceLock::new(),
        }
    }

    /// Also trusts the certificates of `pem` as TLS roots of `https` caIssuers URLs, beside
    /// the platform's: for a server whose certificate the system does not know (a test's
    /// loopback server). `source` names the file in errors. TLS only keeps the fetch private;
    /// what comes back is trusted only by the chain check.
    pub fn with_tls_roots(mut self, pem: &[u8], source: &str) -> Result<HttpFetcher, Error> {
        for (_, der) in crate::x509::pem_certificates(pem, source)? {
            self.extra_tls_roots.push(der.into());
        }
        self.tls = OnceLock::new();
        Ok(self)
    }

    /// Trusts only the roots of [`with_tls_roots`](Self::with_tls_roots) for `https`, not the
    /// platform's (for tests that must not depend on the machine's CA bundle).
    pub fn without_platform_tls_roots(mut self) -> HttpFetcher {
        self.platform_roots = false;
        self.tls = OnceLock::new();
        self
    }

    /// The time limit of one fetch (connection to last byte).
    pub fn with_timeout(mut self, timeout: Duration) -> HttpFetcher {
        self.timeout = timeout;
        self
    }

    /// Keeps certificates that passed in `dir` too (the trust directory's `fetched/`): each
    /// as `<sha256>.pem`. The verifier loading them does not trust them more than a fetch:
    /// they are offered again through this fetcher and checked again.
    pub fn with_dir(mut self, dir: PathBuf) -> HttpFetcher {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut passed = self.passed.lock().unwrap_or_else(|e| e.into_inner());
            for entry in entries.flatten() {
                let der = std::fs::read(entry.path())
                    .ok()
                    .and_then(|pem| openssl::x509::X509::from_pem(&pem).ok())
                    .and_then(|x509| x509.to_der().ok());
                if let Some(der) = der {
                    if let Some((key, not_after)) = key_of_issued(&der) {
                        passed.insert(key, (der, not_after), |(_, t)| past(*t));
                    }
                }
            }
        }
        self.dir = Some(dir);
        self
    }

    /// How many HTTP requests this fetcher has made.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// What this fetcher remembers, for tests of its bounds: certificates that passed, URLs'
    /// answers, failed URLs.
    #[cfg(test)]
    fn remembered(&self) -> (usize, usize, usize) {
        fn len<K: std::hash::Hash + Eq, V>(m: &Mutex<BoundedMap<K, V>>) -> usize {
            m.lock().map_or(0, |m| m.len())
        }
        (len(&self.passed), len(&self.answers), len(&self.failed))
    }

    /// `url`'s own outcome, remembered for [`FAILURE_MEMORY`]: its answer, or that it failed.
    fn remember(&self, url: &str, outcome: &Result<Vec<u8>, AiaFetchReason>) {
        let now = Instant::now();
        match outcome {
            Ok(bytes) => {
                let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
                answers.insert(url.to_owned(), (bytes.clone(), now), |(_, at)| stale(*at));
            }
            Err(_) => {
                let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
                failed.insert(url.to_owned(), now, |at| stale(*at));
            }
        }
    }

    fn get(&self, url: &AiaUrl) -> Result<Vec<u8>, AiaFetchReason> {
        let tls = if url.https {
            Some(self.tls_config()?)
        } else {
            None
        };
        let timeout = self.timeout;
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.requests.fetch_add(1, Ordering::Relaxed);
        // Its own thread and runtime: callable from inside another runtime.
        std::thread::scope(|scope| {
            let fetch = move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| AiaFetchReason::Connect {
                        message: e.to_string(),
                    })?;
                let answer = runtime.block_on(async {
                    tokio::time::timeout(timeout, download(url, tls))
                        .await
                        .unwrap_or(Err(AiaFetchReason::Timeout { millis }))
                });
                // Not waiting for a name lookup still running on the runtime's blocking pool
                // (getaddrinfo cannot be cancelled): the time limit is the caller's wait.
                runtime.shutdown_background();
                answer
            };
            let failed = |message: String| AiaFetchReason::Connect { message };
            match std::thread::Builder::new().spawn_scoped(scope, fetch) {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|_| Err(failed("the fetch thread failed".into()))),
                Err(e) => Err(failed(format!("cannot start the fetch thread: {e}"))),
            }
        })
    }

    /// The TLS client of `https` URLs, made at the first one: the platform's roots and those
    /// added, ring as the crypto provider.
    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, AiaFetchReason> {
        if let Some(config) = self.tls.get() {
            return Ok(Arc::clone(config));
        }
        let mut roots = rustls::RootCertStore::empty();
        if self.platform_roots {
            // Unreadable system certificates are skipped: a server that needs them then fails
            // its handshake with its own message.
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
        roots.add_parsable_certificates(self.extra_tls_roots.iter().cloned());
        let tls_error = |e: rustls::Error| AiaFetchReason::Connect {
            message: format!("no TLS client: {e}"),
        };
        // rustls 0.23.48 deprecates ring's provider (no post-quantum key exchange). Kept
        // deliberately: ring is the one TLS crypto the workspace links beside OpenSSL (aws-lc-rs
        // would add a third C library and cmake to every build); the lock pins 0.23.46, and a
        // fresh lockfile builds without the warning. Revisit when ring gains ML-KEM.
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::clone(self.tls.get_or_init(|| Arc::new(config))))
    }
}

/// One GET on its own connection (HTTP/1.1, no proxy, redirects returned as such), the body
/// read up to [`MAX_AIA_BYTES`] + 1.
async fn download(
    url: &AiaUrl,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Vec<u8>, AiaFetchReason> {
    let connect = |e: &dyn std::fmt::Display| AiaFetchReason::Connect {
        message: e.to_string(),
    };
    let tcp = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| connect(&e))?;
    let request = hyper::Request::get(url.path.as_str())
        .header(hyper::header::HOST, url.authority())
        .header(hyper::header::USER_AGENT, "imds-attest")
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())
        .map_err(|_| AiaFetchReason::Malformed)?;
    let response = match tls {
        None => send(tcp, request).await?,
        Some(config) => {
            let tls_error = |message: String| AiaFetchReason::Tls {
                host: url.authority(),
                message,
            };
            let name = rustls::pki_types::ServerName::try_from(url.host.clone())
                .map_err(|e| tls_error(e.to_string()))?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| tls_error(e.to_string()))?;
            send(stream, request).await?
        }
    };
    let status = response.status().as_u16();
    if response.status().is_redirection() {
        let location = response
            .headers()
            .get(hyper::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        return Err(AiaFetchReason::Redirect { status, location });
    }
    if status != 200 {
        return Err(AiaFetchReason::Status { status });
    }
    let too_large = AiaFetchReason::TooLarge { max: MAX_AIA_BYTES };
    let declared = response
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_AIA_BYTES as u64) {
        return Err(too_large);
    }
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
        let frame = frame.map_err(|e| connect(&e))?;
        if let Some(chunk) = frame.data_ref() {
            // Checked before the copy: a frame can be as large as hyper's read buffer.
            if bytes.len().saturating_add(chunk.len()) > MAX_AIA_BYTES {
                return Err(too_large);
            }
            bytes.extend_from_slice(chunk);
        }
    }
    Ok(bytes)
}

/// Sends `request` over `io` as HTTP/1.1 and returns the response head.
async fn send<S>(
    io: S,
    request: hyper::Request<http_body_util::Empty<hyper::body::Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, AiaFetchReason>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let connect = |e: hyper::Error| AiaFetchReason::Connect {
        message: e.to_string(),
    };
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(connect)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender.send_request(request).await.map_err(connect)
}

impl IntermediateFetcher for HttpFetcher {
    fn fetch(&self, request: &IssuerRequest) -> Result<Vec<u8>, AiaFetchReason> {
        // The URL first, so that a URL never fetched is refused the same way, remembered
        // certificate or not.
        let url = self.allow.check(&request.url)?;
        {
            let passed = self.passed.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((der, not_after)) = passed.get(&key_of(request)) {
                if !past(*not_after) {
                    return Ok(der.clone());
                }
            }
        }
        {
            let failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(at) = failed.get(&request.url) {
                let left = FAILURE_MEMORY.saturating_sub(at.elapsed());
                if !left.is_zero() {
                    return Err(AiaFetchReason::RecentlyFailed {
                        retry_in_secs: left.as_secs().max(1),
                    });
                }
            }
        }
        {
            let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((bytes, at)) = answers.get(&request.url) {
                if !stale(*at) {
                    return Ok(bytes.clone());
                }
            }
        }
        let outcome = self.get(&url);
        self.remember(&request.url, &outcome);
        outcome
    }

    fn accepted(&self, _request: &IssuerRequest, der: &[u8]) {
        // Keyed by the certificate's own subject and key identifier, which the verifier
        // checked are those asked for.
        let Some((key, not_after)) = key_of_issued(der) else {
            return;
        };
        let mut passed = self.passed.lock().unwrap_or_else(|e| e.into_inner());
        passed.insert(key, (der.to_vec(), not_after), |(_, t)| past(*t));
        drop(passed);
        if let Some(dir) = &self.dir {
            let name = crate::x509::hex(&openssl::sha::sha256(der));
            // A cache: failing to write it only costs a fetch next time.
            if let Some(pem) = openssl::x509::X509::from_der(der)
                .ok()
                .and_then(|x509| x509.to_pem().ok())
            {
                let _ = std::fs::create_dir_all(dir)
                    .and_then(|()| std::fs::write(dir.join(format!("{name}.pem")), pem));
            }
        }
    }

    // `refused` is the trait's: nothing more to remember. The URL's answer is already
    // remembered, so the same document is answered the same way without a request, and the
    // refusal may be the request's fault (a forged document asking a genuine URL for another
    // issuer), which must not block the URL for others.
}

/// Whether a URL's answer or failure remembered at `at` is too old to use.
fn stale(at: Instant) -> bool {
    at.elapsed() >= FAILURE_MEMORY
}

/// Whether a certificate that passed is past its notAfter.
fn past(not_after: SystemTime) -> bool {
    SystemTime::now() >= not_after
}

fn key_of(request: &IssuerRequest) -> Key {
    (request.issuer_der.clone(), request.key_id.clone())
}

/// The key a certificate would be asked for by (its subject and subjectKeyIdentifier) and its
/// notAfter.
fn key_of_issued(der: &[u8]) -> Option<(Key, SystemTime)> {
    let cert = Certificate::from_der(der).ok()?;
    let subject = der::Encode::to_der(&cert.tbs_certificate.subject).ok()?;
    let ski = crate::x509::subject_key_identifier(&cert);
    let not_after = cert.tbs_certificate.validity.not_after.to_system_time();
    Some(((subject, ski), not_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_at_most_its_bound_of_failed_urls_and_answers() {
        let fetcher = HttpFetcher::new(AiaAllowList::default());
        for i in 0..10 * MAX_FAILURES {
            let url = format!(
                "http://caissuers.microsoft.com/{i}/{}.crt",
                "x".repeat(1500)
            );
            fetcher.remember(&url, &Err(AiaFetchReason::Status { status: 404 }));
        }
        for i in 0..10 * MAX_ANSWERS {
            let url = format!("http://caissuers.microsoft.com/{i}.crt");
            fetcher.remember(&url, &Ok(vec![0; MAX_AIA_BYTES]));
        }
        assert_eq!(fetcher.remembered(), (0, MAX_ANSWERS, MAX_FAILURES));
        // The newest are those kept.
        let newest = format!(
            "http://caissuers.microsoft.com/{}/{}.crt",
            10 * MAX_FAILURES - 1,
            "x".repeat(1500)
        );
        let failed = fetcher.failed.lock().unwrap_or_else(|e| e.into_inner());
        assert!(failed.get(&newest).is_some());
    }
}
