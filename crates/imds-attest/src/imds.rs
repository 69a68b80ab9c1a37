//! The IMDS client: getting an attested document from IMDS, on the VM (cargo feature `fetch`;
//! the verifier itself never touches the network, and fetching missing intermediates is
//! [`aia`](crate::aia)'s, not this).
//!
//! The request IMDS documents: `GET /metadata/attested/document?api-version=V&nonce=N` with
//! `Metadata: true`, never through a proxy, never redirected. Connection errors, 410, 429
//! (after its `Retry-After`), 500 and 503 are retried with exponential backoff and jitter until
//! the deadline; other statuses are not. A document whose nonce is not the one asked for (IMDS
//! served a cached one) is retried, then reported.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cms::AttestedDocument;
use crate::error::Error;

/// Why a fetch failed. Its [`kind`](Self::kind) is an [`ImdsErrorKind`], whose names no
/// verification failure ([`ErrorKind`](crate::ErrorKind)) uses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// A nonce to ask IMDS for is not 1 to 32 ASCII letters and digits.
    InvalidNonce {
        /// The nonce given.
        nonce: String,
    },
    /// IMDS could not be reached, was too slow, or answered something that is not a document.
    Failed {
        /// What happened.
        reason: FetchReason,
    },
    /// IMDS answered with a status that is not retried (400, 404, 405...).
    ImdsStatus {
        /// The HTTP status.
        status: u16,
        /// The body, on one line.
        body: String,
    },
    /// IMDS kept returning a document for another nonce (a cached one).
    StaleDocument {
        /// The nonce asked for.
        asked: String,
        /// The nonce in the last document returned.
        found: String,
        /// Requests made.
        attempts: u32,
    },
}

/// What went wrong in a failed fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchReason {
    /// No answer within the deadline.
    Deadline {
        /// The deadline, in seconds.
        seconds: u64,
    },
    /// Retries ran out of time.
    GaveUp {
        /// Requests made.
        attempts: u32,
        /// Time spent, in milliseconds.
        millis: u64,
        /// Why the last attempt failed.
        last: String,
    },
    /// A response larger than [`MAX_RESPONSE_BYTES`].
    TooLarge,
    /// A 200 whose body is not an attested document.
    NotADocument {
        /// Why it is not one.
        error: Error,
    },
    /// The HTTP client, the runtime or the OS random number generator could not be set up.
    Setup {
        /// What failed.
        message: String,
    },
}

crate::error_kinds! {
    /// The stable, machine-readable name of an IMDS client failure: the same snake_case names
    /// in the CLI's `--json` output (`"kind"`). A name is never reused for another meaning, nor
    /// by [`ErrorKind`](crate::ErrorKind); new kinds may be added.
    ///
    /// | kind | meaning |
    /// |---|---|
    /// | `invalid_nonce` | A nonce to ask IMDS for is not 1 to 32 ASCII letters and digits. |
    /// | `fetch` | IMDS could not be reached, was too slow, or answered something that is not a document. |
    /// | `imds_status` | IMDS answered a status that is not retried, such as 400 or 404. |
    /// | `stale_document` | IMDS kept serving a cached document for another nonce. |
    ///
    /// ```
    /// use imds_attest::imds::ImdsErrorKind;
    /// assert_eq!(ImdsErrorKind::StaleDocument.as_str(), "stale_document");
    /// ```
    pub enum ImdsErrorKind {
        /// [`FetchError::InvalidNonce`].
        InvalidNonce = "invalid_nonce",
        /// [`FetchError::Failed`].
        Fetch = "fetch",
        /// [`FetchError::ImdsStatus`].
        ImdsStatus = "imds_status",
        /// [`FetchError::StaleDocument`].
        StaleDocument = "stale_document",
    }
}

impl FetchError {
    /// The stable, machine-readable kind.
    pub fn kind(&self) -> ImdsErrorKind {
        match self {
            FetchError::InvalidNonce { .. } => ImdsErrorKind::InvalidNonce,
            FetchError::Failed { .. } => ImdsErrorKind::Fetch,
            FetchError::ImdsStatus { .. } => ImdsErrorKind::ImdsStatus,
            FetchError::StaleDocument { .. } => ImdsErrorKind::StaleDocument,
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::InvalidNonce { nonce } => write!(
                f,
                "nonce {nonce:?} is not 1 to 32 ASCII letters and digits, which IMDS requires"
            ),
            FetchError::Failed { reason } => write!(f, "cannot fetch from IMDS: {reason}"),
            FetchError::ImdsStatus { status, body } => write!(f, "IMDS answered {status}: {body}"),
            FetchError::StaleDocument {
                asked,
                found,
                attempts,
            } => write!(
                f,
                "IMDS kept serving a cached document (nonce {found:?}) instead of one for \
                 {asked:?} after {attempts} requests; try again later"
            ),
        }
    }
}

impl std::fmt::Display for FetchReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchReason::Deadline { seconds } => {
                write!(f, "no answer within the deadline of {seconds} s")
            }
            FetchReason::GaveUp {
                attempts,
                millis,
                last,
            } => write!(
                f,
                "gave up after {attempts} attempts in {:.1} s: {last}",
                *millis as f64 / 1000.0
            ),
            FetchReason::TooLarge => {
                write!(f, "the response is larger than {MAX_RESPONSE_BYTES} bytes")
            }
            FetchReason::NotADocument { error } => {
                write!(f, "IMDS answered 200 with something else: {error}")
            }
            FetchReason::Setup { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for FetchError {}

/// The IMDS address on every Azure VM.
pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";

/// The environment variable that overrides [`DEFAULT_ENDPOINT`] (the CLI reads it too).
pub const ENDPOINT_VARIABLE: &str = "IMDS_ENDPOINT";

/// The newest api-version known here that serves the attested document, the one Microsoft's
/// IMDS article asks for in all its examples (the attested document's among them) and lists
/// first (<https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service>, as of
/// December 2026). An older one still answers, with the same claims from 2020-09-01 on.
pub const DEFAULT_API_VERSION: &str = "2025-04-07";

/// The overall deadline by default: the window IMDS documents for retrying 410.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(70);

/// The largest response accepted, in bytes (genuine ones are about 4 KB).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// How to ask IMDS for a document. Make one with [`FetchOptions::default`] and set fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchOptions {
    /// Base URL: `$IMDS_ENDPOINT` when set and not empty (an emulator's address in tests),
    /// else `http://169.254.169.254`, as on every VM.
    pub endpoint: String,
    /// The api-version query parameter.
    pub api_version: String,
    /// The nonce to ask for; `None` generates 32 random alphanumerics from the OS RNG.
    pub nonce: Option<String>,
    /// Time allowed for one connection attempt.
    pub connect_timeout: Duration,
    /// Time allowed for the whole fetch, retries included.
    pub deadline: Duration,
    /// The first backoff delay; each retry doubles it (with jitter), up to 8 times it.
    pub backoff: Duration,
}

impl Default for FetchOptions {
    /// `$IMDS_ENDPOINT` (or the IMDS address), [`DEFAULT_API_VERSION`], a random nonce, 5 s
    /// per connection, [`DEFAULT_DEADLINE`], 500 ms of first backoff.
    fn default() -> Self {
        FetchOptions {
            endpoint: std::env::var(ENDPOINT_VARIABLE)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| DEFAULT_ENDPOINT.into()),
            api_version: DEFAULT_API_VERSION.into(),
            nonce: None,
            connect_timeout: Duration::from_secs(5),
            deadline: DEFAULT_DEADLINE,
            backoff: Duration::from_millis(500),
        }
    }
}

/// A retry about to happen, for a caller that wants to say so.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retry {
    /// The attempt that failed (1 for the first).
    pub attempt: u32,
    /// Why it is retried.
    pub reason: String,
    /// How long until the next attempt.
    pub delay: Duration,
}

/// The document as IMDS returned it, and the nonce asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The response body, byte for byte.
    pub body: String,
    /// The nonce sent.
    pub nonce: String,
    /// Whether that nonce was generated here.
    pub nonce_generated: bool,
    /// How many requests it took.
    pub attempts: u32,
}

/// Fetches a document; `on_retry` hears of every retry before its delay.
pub async fn fetch(
    options: &FetchOptions,
    mut on_retry: impl FnMut(&Retry),
) -> Result<Fetched, FetchError> {
    let (nonce, nonce_generated) = match &options.nonce {
        Some(n) => (check_nonce(n)?.to_owned(), false),
        None => (
            crate::random_nonce().map_err(|e| setup(e.to_string()))?,
            true,
        ),
    };
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout)
        .build()
        .map_err(|e| setup(format!("cannot build the HTTP client: {e}")))?;
    let url = format!(
        "{}/metadata/attested/document",
        options.endpoint.trim_end_matches('/')
    );
    let started = Instant::now();
    let mut attempt = 0u32;
    // The nonce of the last cached document IMDS served, if it served one.
    let mut served_stale: Option<String> = None;
    loop {
        let mut stale = None;
        attempt += 1;
        let remaining = options.deadline.saturating_sub(started.elapsed());
        let Ok(outcome) =
            tokio::time::timeout(remaining, request(&client, &url, options, &nonce)).await
        else {
            // The deadline ran out during this attempt: if IMDS kept serving a cached
            // document before it, that is what the caller needs to know.
            return Err(match served_stale {
                Some(found) => FetchError::StaleDocument {
                    asked: nonce,
                    found,
                    attempts: attempt,
                },
                None => failed(FetchReason::Deadline {
                    seconds: options.deadline.as_secs(),
                }),
            });
        };
        let (reason, hint) = match outcome {
            Ok(body) => match unverified_nonce(&body) {
                Some(found) if found == nonce => {
                    return Ok(Fetched {
                        body,
                        nonce,
                        nonce_generated,
                        attempts: attempt,
                    })
                }
                found => {
                    let found = found.unwrap_or_default();
                    let reason = format!(
                        "IMDS returned a document for nonce {found:?}, not {nonce:?} (a cached one)"
                    );
                    stale = Some(found.clone());
                    served_stale = Some(found);
                    (reason, None)
                }
            },
            Err(Attempt::Retry {
                reason,
                retry_after,
            }) => (reason, retry_after),
            Err(Attempt::Fatal(e)) => return Err(e),
        };
        let delay = hint.unwrap_or_else(|| backoff(options.backoff, attempt));
        if started.elapsed() + delay >= options.deadline {
            return Err(match stale {
                Some(found) => FetchError::StaleDocument {
                    asked: nonce,
                    found,
                    attempts: attempt,
                },
                None => failed(FetchReason::GaveUp {
                    attempts: attempt,
                    millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    last: reason,
                }),
            });
        }
        on_retry(&Retry {
            attempt,
            reason,
            delay,
        });
        tokio::time::sleep(delay).await;
    }
}

/// [`fetch`] for programs without an async runtime.
pub fn fetch_blocking(
    options: &FetchOptions,
    on_retry: impl FnMut(&Retry),
) -> Result<Fetched, FetchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| setup(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(fetch(options, on_retry))
}

enum Attempt {
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    Fatal(FetchError),
}

async fn request(
    client: &reqwest::Client,
    url: &str,
    options: &FetchOptions,
    nonce: &str,
) -> Result<String, Attempt> {
    let sent = client
        .get(url)
        .query(&[
            ("api-version", options.api_version.as_str()),
            ("nonce", nonce),
        ])
        .header("Metadata", "true")
        .send()
        .await;
    let mut response = match sent {
        Ok(r) => r,
        Err(e) => {
            return Err(Attempt::Retry {
                reason: format!("cannot reach {}: {}", options.endpoint, error_chain(&e)),
                retry_after: None,
            })
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(60)));
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(Attempt::Fatal(failed(FetchReason::TooLarge)));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                return Err(Attempt::Retry {
                    reason: format!("the response broke off: {}", error_chain(&e)),
                    retry_after: None,
                })
            }
        }
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    match status {
        200 => {
            check_shape(&text).map_err(Attempt::Fatal)?;
            Ok(text)
        }
        410 | 429 | 500 | 503 => Err(Attempt::Retry {
            reason: format!("IMDS answered {status}: {}", one_line(&text)),
            retry_after: if status == 429 { retry_after } else { None },
        }),
        _ => Err(Attempt::Fatal(FetchError::ImdsStatus {
            status,
            body: one_line(&text),
        })),
    }
}

/// A 200 must be `{"encoding":"pkcs7","signature":"..."}` holding a parseable document.
fn check_shape(body: &str) -> Result<(), FetchError> {
    AttestedDocument::parse(body.as_bytes())
        .map(|_| ())
        .map_err(|error| failed(FetchReason::NotADocument { error }))
}

/// The nonce in the document's content, read without verifying anything.
fn unverified_nonce(body: &str) -> Option<String> {
    let doc = AttestedDocument::parse(body.as_bytes()).ok()?;
    let value: Value = serde_json::from_slice(doc.content()).ok()?;
    value.get("nonce")?.as_str().map(str::to_owned)
}

/// A nonce IMDS accepts ([`check_nonce_syntax`](crate::check_nonce_syntax)), as this client's
/// error.
pub fn check_nonce(nonce: &str) -> Result<&str, FetchError> {
    crate::check_nonce_syntax(nonce).map_err(|_| FetchError::InvalidNonce {
        nonce: nonce.to_owned(),
    })
}

fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1 << attempt.saturating_sub(1).min(3));
    let mut b = [0u8; 2];
    let jitter = match getrandom::fill(&mut b) {
        Ok(()) => f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX),
        Err(_) => 0.5,
    };
    // Between half and all of the exponential delay.
    exp.mul_f64(0.5 + jitter / 2.0)
}

fn failed(reason: FetchReason) -> FetchError {
    FetchError::Failed { reason }
}

fn setup(message: String) -> FetchError {
    failed(FetchReason::Setup { message })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", line.get(..i).unwrap_or_default()),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_imds_kind_names_a_verification_failure() {
        for kind in ImdsErrorKind::ALL {
            assert!(
                kind.as_str().parse::<crate::ErrorKind>().is_err(),
                "{kind} is also an ErrorKind"
            );
            assert_eq!(kind.as_str().parse::<ImdsErrorKind>(), Ok(kind));
        }
    }

    #[test]
    fn accepts_only_nonces_imds_accepts() {
        for ok in ["a", "Z9", &"x".repeat(32)] {
            assert!(check_nonce(ok).is_ok(), "{ok}");
        }
        for bad in ["", &"x".repeat(33), "with space", "dash-ed", "ünï"] {
            assert_eq!(
                check_nonce(bad),
                Err(FetchError::InvalidNonce { nonce: bad.into() })
            );
        }
    }

    #[test]
    fn default_options_read_the_endpoint_from_the_environment_as_the_cli_does() {
        // The only test in this crate that touches the variable.
        std::env::set_var(ENDPOINT_VARIABLE, "http://127.0.0.1:9");
        assert_eq!(FetchOptions::default().endpoint, "http://127.0.0.1:9");
        std::env::set_var(ENDPOINT_VARIABLE, "");
        assert_eq!(FetchOptions::default().endpoint, DEFAULT_ENDPOINT);
        std::env::remove_var(ENDPOINT_VARIABLE);
        assert_eq!(FetchOptions::default().endpoint, DEFAULT_ENDPOINT);
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        for attempt in 1..10 {
            let d = backoff(base, attempt);
            let full = base * (1 << (attempt - 1).min(3));
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
    }
}
