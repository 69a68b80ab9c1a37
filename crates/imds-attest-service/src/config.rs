//! The config file (TOML), parsed once into [`Config`]: every key optional, every path relative
//! to the config file's folder, every problem named by its key with the fix.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use imds_attest::aia::http::HttpFetcher;
use imds_attest::aia::{AiaAllowList, DEFAULT_AIA_TIMEOUT, MAX_FETCHES};
use imds_attest::{TrustStore, Verifier};
use imds_attest_setup::{
    FileRole, PolicySettings, SetupError, TrustDir, TrustSource, TrustSources,
};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{ConfigProblem, ServiceError};

/// Where the service listens unless `listen` says otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8700";
/// The default store: one process, gone with it.
pub const DEFAULT_STORE: &str = "memory:";
/// How long a challenge may be redeemed, by default.
pub const DEFAULT_TTL_SECONDS: u32 = 300;
/// The largest request body, by default (genuine documents are about 4 KB): the library's
/// default input limit, since `max_body_bytes` is the verifier's input limit too.
pub const DEFAULT_MAX_BODY_BYTES: usize = imds_attest::DEFAULT_MAX_INPUT_BYTES;
/// How long a request may take, body included, by default.
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u32 = 10;
/// How many requests are served at once before 429, by default.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 256;
/// How many connections may be open at once, by default: idle keep-alive connections and
/// slow senders included, far below a default file descriptor limit of 1024 plus the store's.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// The longest a connection may take to send a request's headers (or to start one, when
/// idle): at most the request timeout, and never more than this, so that a socket sending
/// nothing is closed before a slow but genuine body would be.
pub const MAX_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// `challenge.ttl_seconds`: at least a second, at most a day (a challenge is answered within
/// seconds; a day-old one is a replay risk, not a convenience).
pub const TTL_SECONDS_RANGE: RangeInclusive<u32> = 1..=86_400;
/// `limits.max_body_bytes`: a genuine document is about 4 KiB; 16 MiB leaves room for any
/// bundle while keeping `max_concurrent_requests` bodies within memory.
pub const MAX_BODY_BYTES_RANGE: RangeInclusive<usize> = 1..=16 * 1024 * 1024;
/// `limits.request_timeout_seconds`: at least a second, at most an hour.
pub const REQUEST_TIMEOUT_SECONDS_RANGE: RangeInclusive<u32> = 1..=3_600;
/// `limits.max_concurrent_requests`: at least one; at most 65536, far past what one host
/// serves, and far below the semaphore's limit that a larger number would panic on.
pub const MAX_CONCURRENT_REQUESTS_RANGE: RangeInclusive<usize> = 1..=65_536;
/// `limits.max_connections`: at least one; at most 65536, more than one process's file
/// descriptors usually allow.
pub const MAX_CONNECTIONS_RANGE: RangeInclusive<usize> = 1..=65_536;

/// The file as written; unknown keys are refused.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<String>,
    policy: Option<PathBuf>,
    #[serde(default)]
    store: StoreSection,
    #[serde(default)]
    challenge: ChallengeSection,
    #[serde(default)]
    trust: TrustSection,
    #[serde(default)]
    auth: AuthSection,
    #[serde(default)]
    tls: TlsSection,
    #[serde(default)]
    limits: LimitsSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StoreSection {
    url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ChallengeSection {
    ttl_seconds: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TrustSection {
    #[serde(default)]
    roots: Vec<PathBuf>,
    #[serde(default)]
    intermediates: Vec<PathBuf>,
    /// The trust directory (`roots/<cloud>/*.pem`, `intermediates/*.pem`, `fetched/`).
    dir: Option<PathBuf>,
    #[serde(default)]
    fetch_intermediates: bool,
    /// `HOST[:PORT]` entries replacing the default allow list.
    aia_allow: Option<Vec<String>>,
    /// PEM files of TLS roots for https caIssuers URLs, beside the platform's.
    #[serde(default)]
    aia_tls_roots: Vec<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuthSection {
    tokens_file: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TlsSection {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_body_bytes: Option<Spanned<i64>>,
    request_timeout_seconds: Option<Spanned<i64>>,
    max_concurrent_requests: Option<Spanned<i64>>,
    max_connections: Option<Spanned<i64>>,
}

/// A checked configuration: everything the service needs, loaded.
pub struct Config {
    /// The config file, for messages and reloads.
    pub file: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The challenge store's URL (may hold a password: never logged).
    pub store_url: String,
    /// How long a challenge may be redeemed.
    pub ttl: Duration,
    /// The verifier: trust and policy (with the rules file).
    pub verifier: Verifier,
    /// Every trust source the verifier's store was built from, logged at startup.
    pub trust_sources: Vec<TrustSource>,
    /// The bearer tokens accepted on `/v1`; `None` when `[auth]` has no `tokens_file`.
    pub tokens: Option<Vec<String>>,
    /// `[tls]`: HTTPS with this certificate chain and key; `None`: plain HTTP.
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    /// The largest request body, and the verifier's input limit for it (`verify
    /// --max-input`): a body within it is parsed, and refused for what is wrong with it.
    pub max_body_bytes: usize,
    /// How long a request may take, body included.
    pub request_timeout: Duration,
    /// How many requests are served at once.
    pub max_concurrent_requests: usize,
    /// How many connections may be open at once; past it, new ones are closed at once.
    pub max_connections: usize,
}

impl Config {
    /// Reads and checks the config file; relative paths in it are relative to its folder.
    /// The store URL is checked by opening the store (which does not connect to Redis).
    /// Every number must be in its range (`TTL_SECONDS_RANGE` and the like), and every file
    /// it or the config names is read only up to [`imds_attest_setup::MAX_FILE_BYTES`].
    pub fn load(file: &Path) -> Result<Config, ServiceError> {
        let err = |key: &str, message: String| ServiceError::Config {
            file: file.to_path_buf(),
            key: key.to_owned(),
            problem: ConfigProblem::Value,
            message,
        };
        // A file the key names that the shared setup refused: its kind on every face.
        let setup_err = |key: &str, e: SetupError, fix: &str| ServiceError::Config {
            file: file.to_path_buf(),
            key: key.to_owned(),
            problem: ConfigProblem::File(e.kind()),
            message: if fix.is_empty() {
                e.to_string()
            } else {
                format!("{e}; {fix}")
            },
        };
        let text = read_text(file).map_err(|e| match e {
            CappedReadError::Unreadable(e) => err(
                "(file)",
                format!("cannot read it: {e}; pass --config with an existing TOML file"),
            ),
            too_large @ CappedReadError::TooLarge(_) => err(
                "(file)",
                format!(
                    "{}; pass --config with the service's TOML file",
                    too_large.describe(file)
                ),
            ),
        })?;
        let parsed: File = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1);
            // The key of that line too, when the message does not name it (a bad value).
            let key = line
                .and_then(|l| text.lines().nth(l - 1))
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim())
                .filter(|k| !k.is_empty() && !e.message().contains(k));
            let at = match (line, key) {
                (Some(l), Some(k)) => format!("line {l} ({k})"),
                (Some(l), None) => format!("line {l}"),
                (None, _) => String::new(),
            };
            err(
                &at,
                format!(
                    "{}; fix or remove it (the keys are listed in docs/src/service.md, \
                     \"Config\")",
                    e.message().trim_end()
                ),
            )
        })?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| dir.join(p);

        let listen_text = parsed.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen_text.parse::<SocketAddr>().map_err(|e| {
            err(
                "listen",
                format!("{listen_text:?} is not an address: {e}; write IP:PORT such as \"{DEFAULT_LISTEN}\""),
            )
        })?;

        let store_url = parsed
            .store
            .url
            .map_or_else(|| DEFAULT_STORE.to_owned(), |url| sqlite_beside(&url, dir));
        // Opened once here to check it; the service opens its own.
        imds_attest_store::open(&store_url).map_err(|e| ServiceError::Config {
            file: file.to_path_buf(),
            key: "store.url".to_owned(),
            problem: ConfigProblem::Store(e.kind()),
            message: match e.kind() {
                imds_attest_store::StoreErrorKind::StoreUrl => {
                    format!("{e}; write memory:, sqlite:PATH, redis://HOST:PORT/DB or rediss://...")
                }
                _ => e.to_string(),
            },
        })?;

        let ttl_seconds: u32 = in_range(
            &text,
            &err,
            "challenge.ttl_seconds",
            parsed.challenge.ttl_seconds,
            TTL_SECONDS_RANGE,
            DEFAULT_TTL_SECONDS,
        )?;

        let (trust, trust_sources) = load_trust(&parsed.trust, &resolve, &setup_err)?;
        let fetcher = load_fetcher(&parsed.trust, &resolve, &err)?;
        let rules = match &parsed.policy {
            Some(path) => Some(imds_attest_setup::load_rules(&resolve(path)).map_err(|e| {
                let fix = match e {
                    SetupError::Refused(_) => "correct the rules file",
                    _ => "give an existing rules file",
                };
                setup_err("policy", e, fix)
            })?),
            None => None,
        };
        let policy = PolicySettings {
            rules,
            ..PolicySettings::default()
        }
        .build();

        let tokens = match &parsed.auth.tokens_file {
            Some(path) => Some(load_tokens(&resolve(path), &err)?),
            None => None,
        };

        let tls = match (parsed.tls.cert, parsed.tls.key) {
            (Some(cert), Some(key)) => {
                let acceptor = crate::tls::acceptor(&resolve(&cert), &resolve(&key))
                    .map_err(|(key, message)| err(key, format!("{message}; give PEM files")))?;
                Some(acceptor)
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err(err(
                    "tls.key",
                    "tls.cert is set without it; set both or neither".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(err(
                    "tls.cert",
                    "tls.key is set without it; set both or neither".into(),
                ))
            }
        };

        let limits = parsed.limits;
        let max_body_bytes: usize = in_range(
            &text,
            &err,
            "limits.max_body_bytes",
            limits.max_body_bytes,
            MAX_BODY_BYTES_RANGE,
            DEFAULT_MAX_BODY_BYTES,
        )?;
        let timeout: u32 = in_range(
            &text,
            &err,
            "limits.request_timeout_seconds",
            limits.request_timeout_seconds,
            REQUEST_TIMEOUT_SECONDS_RANGE,
            DEFAULT_REQUEST_TIMEOUT_SECONDS,
        )?;
        let max_concurrent_requests: usize = in_range(
            &text,
            &err,
            "limits.max_concurrent_requests",
            limits.max_concurrent_requests,
            MAX_CONCURRENT_REQUESTS_RANGE,
            DEFAULT_MAX_CONCURRENT_REQUESTS,
        )?;
        let max_connections: usize = in_range(
            &text,
            &err,
            "limits.max_connections",
            limits.max_connections,
            MAX_CONNECTIONS_RANGE,
            DEFAULT_MAX_CONNECTIONS,
        )?;

        Ok(Config {
            file: file.to_path_buf(),
            listen,
            store_url,
            ttl: Duration::from_secs(ttl_seconds.into()),
            verifier: match fetcher {
                Some(fetcher) => {
                    // Every fetch a verification may make fits in the request's time: a
                    // verification still fetching after its 408 could yet redeem the nonce.
                    let per_fetch = (Duration::from_secs(timeout.into())
                        / u32::try_from(MAX_FETCHES).unwrap_or(u32::MAX))
                    .min(DEFAULT_AIA_TIMEOUT);
                    Verifier::new(trust, policy)
                        .with_fetcher(Arc::new(fetcher.with_timeout(per_fetch)))
                }
                None => Verifier::new(trust, policy),
            },
            trust_sources,
            tokens,
            tls,
            max_body_bytes,
            request_timeout: Duration::from_secs(timeout.into()),
            max_concurrent_requests,
            max_connections,
        })
    }

    /// How long a connection may take to send a request's headers, or to start one when
    /// idle: the request timeout, at most [`MAX_HEADER_READ_TIMEOUT`].
    pub fn header_read_timeout(&self) -> Duration {
        self.request_timeout.min(MAX_HEADER_READ_TIMEOUT)
    }
}

fn load_trust(
    section: &TrustSection,
    resolve: &dyn Fn(&Path) -> PathBuf,
    setup_err: &dyn Fn(&str, SetupError, &str) -> ServiceError,
) -> Result<(TrustStore, Vec<TrustSource>), ServiceError> {
    let sources = TrustSources {
        roots: section.roots.iter().map(|p| resolve(p)).collect(),
        intermediates: section.intermediates.iter().map(|p| resolve(p)).collect(),
        dir: section
            .dir
            .as_ref()
            .map_or(TrustDir::None, |d| TrustDir::Required(resolve(d))),
    };
    let trust = sources.build().map_err(|e| {
        // The key whose file is at fault; any other is the directory's.
        let file = e.file();
        let names = |paths: &[PathBuf]| {
            paths
                .iter()
                .any(|p| file.as_deref() == Some(&*p.display().to_string()))
        };
        let (key, fix) = if names(&sources.roots) {
            ("trust.roots", "give a PEM certificate file")
        } else if names(&sources.intermediates) {
            ("trust.intermediates", "give a PEM certificate file")
        } else if matches!(
            e,
            SetupError::NotADirectory { .. } | SetupError::WidensRoots { .. }
        ) {
            ("trust.dir", "")
        } else {
            ("trust.dir", "fix or remove the file")
        };
        setup_err(key, e, fix)
    })?;
    Ok((trust, sources.sources()))
}

/// `[trust] fetch_intermediates`: the library's fetcher, on the default hosts or those of
/// `aia_allow`, remembering what passed under the trust directory's `fetched/`.
fn load_fetcher(
    section: &TrustSection,
    resolve: &dyn Fn(&Path) -> PathBuf,
    err: &dyn Fn(&str, String) -> ServiceError,
) -> Result<Option<HttpFetcher>, ServiceError> {
    let allow = match &section.aia_allow {
        None => AiaAllowList::default(),
        Some(_) if !section.fetch_intermediates => {
            return Err(err(
                "trust.aia_allow",
                "set without fetch_intermediates = true; set that too or remove aia_allow".into(),
            ))
        }
        Some(entries) if entries.is_empty() => {
            return Err(err(
                "trust.aia_allow",
                "an empty list would allow no host; remove it for the default list or name \
                 HOST[:PORT] entries"
                    .into(),
            ))
        }
        Some(entries) => {
            for entry in entries {
                AiaAllowList::of(std::slice::from_ref(entry)).map_err(|e| {
                    err(
                        "trust.aia_allow",
                        format!(
                            "{entry:?}: {e}; write HOST[:PORT] such as \"caissuers.microsoft.com\""
                        ),
                    )
                })?;
            }
            AiaAllowList::of(entries).map_err(|e| err("trust.aia_allow", e.to_string()))?
        }
    };
    if !section.fetch_intermediates {
        if !section.aia_tls_roots.is_empty() {
            return Err(err(
                "trust.aia_tls_roots",
                "set without fetch_intermediates = true; set that too or remove aia_tls_roots"
                    .into(),
            ));
        }
        return Ok(None);
    }
    let mut fetcher = HttpFetcher::new(allow);
    for path in &section.aia_tls_roots {
        let path = resolve(path);
        let pem = read_capped(&path).map_err(|e| {
            err(
                "trust.aia_tls_roots",
                format!("{}; give a PEM certificate file", e.describe(&path)),
            )
        })?;
        fetcher = fetcher
            .with_tls_roots(&pem, &path.display().to_string())
            .map_err(|e| {
                err(
                    "trust.aia_tls_roots",
                    format!("{e}; give a PEM certificate file"),
                )
            })?;
    }
    if let Some(dir) = &section.dir {
        fetcher = fetcher.with_dir(resolve(dir).join("fetched"));
    }
    Ok(Some(fetcher))
}

/// One token a line; blank lines and `#` comments ignored; at least one token.
fn load_tokens(
    path: &Path,
    err: &dyn Fn(&str, String) -> ServiceError,
) -> Result<Vec<String>, ServiceError> {
    let text = read_text(path).map_err(|e| {
        err(
            "auth.tokens_file",
            format!(
                "{}; give a file with one bearer token a line",
                e.describe(path)
            ),
        )
    })?;
    let tokens: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    if tokens.is_empty() {
        return Err(err(
            "auth.tokens_file",
            format!(
                "{} holds no token; write one bearer token a line",
                path.display()
            ),
        ));
    }
    Ok(tokens)
}

/// A number from the file (its default when absent) that must be in `range`; out of it, an
/// error naming the key, the line and the range, instead of a panic or a silent clamp later.
fn in_range<T>(
    text: &str,
    err: &dyn Fn(&str, String) -> ServiceError,
    key: &str,
    value: Option<Spanned<i64>>,
    range: RangeInclusive<T>,
    default: T,
) -> Result<T, ServiceError>
where
    T: Copy + PartialOrd + std::fmt::Display + TryFrom<i64>,
{
    let Some(value) = value else {
        return Ok(default);
    };
    let n = *value.get_ref();
    if let Some(n) = T::try_from(n).ok().filter(|n| range.contains(n)) {
        return Ok(n);
    }
    let line = text
        .get(..value.span().start)
        .unwrap_or("")
        .matches('\n')
        .count()
        + 1;
    Err(err(
        key,
        format!(
            "line {line}: {n} is out of range; give a whole number from {} to {} (default \
             {default})",
            range.start(),
            range.end()
        ),
    ))
}

/// Why a file the config names (or the config itself) was not read.
#[derive(Debug)]
pub(crate) enum CappedReadError {
    /// The operating system's reason, or not UTF-8 where text is wanted.
    Unreadable(String),
    /// Larger than [`imds_attest_setup::MAX_FILE_BYTES`]; not read whole.
    TooLarge(u64),
}

impl CappedReadError {
    /// The problem, naming the file.
    pub(crate) fn describe(&self, path: &Path) -> String {
        match self {
            CappedReadError::Unreadable(e) => format!("cannot read {}: {e}", path.display()),
            CappedReadError::TooLarge(max) => format!(
                "{} is larger than {max} bytes, more than any config, token or TLS file",
                path.display()
            ),
        }
    }
}

/// Reads a file whole, refusing one larger than [`imds_attest_setup::MAX_FILE_BYTES`] without
/// reading further: naming `/dev/zero` or a log file by mistake is an error, not gigabytes
/// read. The shared setup's reader, whose role (and so kind) the caller replaces by `config`.
pub(crate) fn read_capped(path: &Path) -> Result<Vec<u8>, CappedReadError> {
    imds_attest_setup::read_capped(path, FileRole::TrustFile).map_err(|e| match e {
        SetupError::TooLarge { max, .. } => CappedReadError::TooLarge(max),
        SetupError::Unreadable { message, .. } => CappedReadError::Unreadable(message),
        other => CappedReadError::Unreadable(other.to_string()),
    })
}

/// [`read_capped`], as UTF-8 text.
fn read_text(path: &Path) -> Result<String, CappedReadError> {
    String::from_utf8(read_capped(path)?)
        .map_err(|e| CappedReadError::Unreadable(format!("it is not UTF-8 text ({e})")))
}

/// `sqlite:PATH` with a relative PATH names a file beside the config file, as every other
/// path in it does (not in the service's working directory); any other URL is as written.
fn sqlite_beside(url: &str, dir: &Path) -> String {
    match url.strip_prefix("sqlite:") {
        Some(path) if !path.is_empty() && !path.starts_with(['/', '?']) => {
            format!("sqlite:{}", dir.join(path).display())
        }
        _ => url.to_owned(),
    }
}
