//! The HTTP [`IntermediateFetcher`] (feature `aia`): allow-listed hosts only, no proxy, no
//! redirects, at most [`MAX_AIA_BYTES`], a time limit per fetch; certificates that passed are
//! remembered until their notAfter (in memory, and in a directory when given one), failures
//! for five minutes, keyed by issuer name and key identifier, so that a hostile document
//! cannot make it fetch in a loop.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use der::Decode;
use x509_cert::Certificate;

use super::MAX_AIA_BYTES;
use super::{AiaAllowList, AiaUrl, IntermediateFetcher, IssuerRequest, DEFAULT_AIA_TIMEOUT};
use crate::error::AiaFetchReason;

/// How long a failed or refused fetch is not retried.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(5 * 60);

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
    passed: Mutex<HashMap<Key, (Vec<u8>, SystemTime)>>,
    failed: Mutex<HashMap<Key, Instant>>,
    requests: AtomicUsize,
}

impl HttpFetcher {
    /// A fetcher for the hosts of `allow`, with the default time limit.
    pub fn new(allow: AiaAllowList) -> HttpFetcher {
        HttpFetcher {
            allow,
            timeout: DEFAULT_AIA_TIMEOUT,
            dir: None,
            passed: Mutex::default(),
            failed: Mutex::default(),
            requests: AtomicUsize::new(0),
        }
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
                        passed.insert(key, (der, not_after));
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

    fn remember_failure(&self, key: Key) {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        failed.retain(|_, at| at.elapsed() < FAILURE_MEMORY);
        failed.insert(key, Instant::now());
    }

    fn get(&self, url: &AiaUrl, original: &str) -> Result<Vec<u8>, AiaFetchReason> {
        if url.https {
            // No TLS stack in this build: the published caIssuers URLs are http.
            return Err(AiaFetchReason::Connect {
                message: "https is not supported by this build; caIssuers URLs are http".into(),
            });
        }
        let timeout = self.timeout;
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let url = original.to_owned();
        self.requests.fetch_add(1, Ordering::Relaxed);
        // Its own thread and runtime: callable from inside another runtime.
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| AiaFetchReason::Connect {
                            message: e.to_string(),
                        })?;
                    runtime.block_on(async {
                        tokio::time::timeout(timeout, download(&url, timeout))
                            .await
                            .unwrap_or(Err(AiaFetchReason::Timeout { millis }))
                    })
                })
                .join()
                .unwrap_or(Err(AiaFetchReason::Connect {
                    message: "the fetch thread failed".into(),
                }))
        })
    }
}

async fn download(url: &str, timeout: Duration) -> Result<Vec<u8>, AiaFetchReason> {
    let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let connect = |e: reqwest::Error| {
        if e.is_timeout() {
            AiaFetchReason::Timeout { millis }
        } else {
            AiaFetchReason::Connect {
                message: e.to_string(),
            }
        }
    };
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(connect)?;
    let mut response = client.get(url).send().await.map_err(connect)?;
    let status = response.status().as_u16();
    if response.status().is_redirection() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        return Err(AiaFetchReason::Redirect { status, location });
    }
    if status != 200 {
        return Err(AiaFetchReason::Status { status });
    }
    let too_large = AiaFetchReason::TooLarge { max: MAX_AIA_BYTES };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_AIA_BYTES as u64)
    {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(connect)? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_AIA_BYTES {
            return Err(too_large);
        }
    }
    Ok(body)
}

impl IntermediateFetcher for HttpFetcher {
    fn fetch(&self, request: &IssuerRequest) -> Result<Vec<u8>, AiaFetchReason> {
        // The URL first, so that a URL never fetched is refused the same way, remembered
        // certificate or not.
        let url = self.allow.check(&request.url)?;
        let key = key_of(request);
        {
            let failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(at) = failed.get(&key) {
                let left = FAILURE_MEMORY.saturating_sub(at.elapsed());
                if !left.is_zero() {
                    return Err(AiaFetchReason::RecentlyFailed {
                        retry_in_secs: left.as_secs().max(1),
                    });
                }
            }
        }
        {
            let passed = self.passed.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((der, not_after)) = passed.get(&key) {
                if SystemTime::now() < *not_after {
                    return Ok(der.clone());
                }
            }
        }
        let outcome = self.get(&url, &request.url);
        if outcome.is_err() {
            self.remember_failure(key);
        }
        outcome
    }

    fn accepted(&self, request: &IssuerRequest, der: &[u8]) {
        let Some((_, not_after)) = key_of_issued(der) else {
            return;
        };
        let mut passed = self.passed.lock().unwrap_or_else(|e| e.into_inner());
        passed.insert(key_of(request), (der.to_vec(), not_after));
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

    fn refused(&self, request: &IssuerRequest) {
        let key = key_of(request);
        let mut passed = self.passed.lock().unwrap_or_else(|e| e.into_inner());
        passed.remove(&key);
        drop(passed);
        self.remember_failure(key);
    }
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
