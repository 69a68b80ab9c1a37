//! Store URLs, parsed once into the location they name.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{StoreError, UrlReason};

/// The key prefix of a Redis store when the URL names none.
pub const DEFAULT_REDIS_PREFIX: &str = "imds-attest:";

/// The connect, read and write timeout of a Redis store when the URL names none: short, so
/// that an unreachable server is a prompt refusal rather than a hung verifier.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_secs(1);

const MAX_PREFIX_LEN: usize = 64;
const MAX_TIMEOUT_MS: u64 = 60_000;

/// Where a store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Memory,
    Sqlite { path: PathBuf, sync: SqliteSync },
    Redis(RedisLocation),
}

/// SQLite's `synchronous` setting in WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqliteSync {
    /// Durable against a crash of the process, not of the machine.
    Normal,
    /// Also against a power loss: a flush per commit.
    Full,
}

/// A Redis server and how to use it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RedisLocation {
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) db: u16,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) prefix: String,
    pub(crate) timeout: Duration,
}

impl RedisLocation {
    /// The URL without the password (and without the prefix and timeout when they are the
    /// defaults).
    pub(crate) fn describe(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let user = match &self.username {
            Some(u) => format!("{}@", percent_encode(u)),
            None => String::new(),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let mut out = format!("{scheme}://{user}{host}:{}/{}", self.port, self.db);
        let mut sep = '?';
        if self.prefix != DEFAULT_REDIS_PREFIX {
            out.push_str(&format!("{sep}prefix={}", self.prefix));
            sep = '&';
        }
        if self.timeout != DEFAULT_REDIS_TIMEOUT {
            out.push_str(&format!("{sep}timeout_ms={}", self.timeout.as_millis()));
        }
        out
    }
}

impl std::fmt::Debug for RedisLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Parses a store URL (see [`open`](crate::open) for the forms).
pub(crate) fn parse(url: &str) -> Result<Location, StoreError> {
    parse_location(url).map_err(|reason| StoreError::Url { reason })
}

fn parse_location(url: &str) -> Result<Location, UrlReason> {
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(UrlReason::NoScheme);
    };
    match scheme {
        "memory" if rest.is_empty() => Ok(Location::Memory),
        "memory" => Err(UrlReason::MemoryArguments),
        "sqlite" => parse_sqlite(rest),
        "redis" => parse_redis(rest, false),
        "rediss" => parse_redis(rest, true),
        // The scheme is everything before the first colon: for "user:password@host" that is
        // the user, never the password.
        _ if scheme.is_empty() => Err(UrlReason::NoScheme),
        _ => Err(UrlReason::UnknownScheme {
            scheme: scheme.to_owned(),
        }),
    }
}

fn parse_sqlite(rest: &str) -> Result<Location, UrlReason> {
    let (path, query) = split_query(rest);
    if path.is_empty() {
        return Err(UrlReason::MissingPath);
    }
    if path.starts_with("//") {
        return Err(UrlReason::SqliteAuthority);
    }
    let mut sync = None;
    for (name, value) in parameters(query) {
        match name {
            "sync" => {
                let value = match value {
                    "normal" => SqliteSync::Normal,
                    "full" => SqliteSync::Full,
                    _ => {
                        return Err(UrlReason::ParameterValue {
                            name: "sync",
                            value: value.to_owned(),
                            expected: "normal or full",
                        })
                    }
                };
                once(&mut sync, value, "sync")?;
            }
            _ => {
                return Err(UrlReason::UnknownParameter {
                    name: name.to_owned(),
                })
            }
        }
    }
    Ok(Location::Sqlite {
        path: PathBuf::from(path),
        sync: sync.unwrap_or(SqliteSync::Normal),
    })
}

fn parse_redis(rest: &str, tls: bool) -> Result<Location, UrlReason> {
    let Some(rest) = rest.strip_prefix("//") else {
        return Err(UrlReason::NoAuthority);
    };
    // The userinfo first, up to the last '@': a password may hold '@', '/', '?' or '#'
    // unencoded, and nothing after the host ever holds an '@' (the path is a number, the
    // parameters' values letters, digits and ":_.-"). Splitting at a '/' or '?' first would
    // cut a password in two and show its second half as a port or database.
    let (userinfo, rest) = match rest.rfind('@') {
        Some(i) => (
            Some(rest.get(..i).unwrap_or("")),
            rest.get(i + 1..).unwrap_or(""),
        ),
        None => (None, rest),
    };
    let (rest, query) = split_query(rest);
    let (hostport, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(info) => {
            let (user, password) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            let user = percent_decode(user)?;
            let password = password.map(percent_decode).transpose()?;
            ((!user.is_empty()).then_some(user), password)
        }
    };
    let (host, port) = split_host_port(hostport)?;
    if host.is_empty() {
        return Err(UrlReason::MissingHost);
    }
    let db = match path {
        "" | "/" => 0,
        _ => path
            .strip_prefix('/')
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u16>().ok())
            .ok_or_else(|| UrlReason::Database {
                found: path.to_owned(),
            })?,
    };
    let mut prefix = None;
    let mut timeout = None;
    for (name, value) in parameters(query) {
        match name {
            "prefix" => {
                let ok = !value.is_empty()
                    && value.len() <= MAX_PREFIX_LEN
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b":_.-".contains(&b));
                if !ok {
                    return Err(UrlReason::ParameterValue {
                        name: "prefix",
                        value: value.to_owned(),
                        expected: "1 to 64 ASCII letters, digits and :_.-",
                    });
                }
                once(&mut prefix, value.to_owned(), "prefix")?;
            }
            "timeout_ms" => {
                let ms = value
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| (1..=MAX_TIMEOUT_MS).contains(ms))
                    .ok_or_else(|| UrlReason::ParameterValue {
                        name: "timeout_ms",
                        value: value.to_owned(),
                        expected: "milliseconds from 1 to 60000",
                    })?;
                once(&mut timeout, Duration::from_millis(ms), "timeout_ms")?;
            }
            _ => {
                return Err(UrlReason::UnknownParameter {
                    name: name.to_owned(),
                })
            }
        }
    }
    Ok(Location::Redis(RedisLocation {
        tls,
        host: host.to_owned(),
        port,
        db,
        username,
        password,
        prefix: prefix.unwrap_or_else(|| DEFAULT_REDIS_PREFIX.to_owned()),
        timeout: timeout.unwrap_or(DEFAULT_REDIS_TIMEOUT),
    }))
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(hostport: &str) -> Result<(&str, u16), UrlReason> {
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Err(UrlReason::MissingHost);
        };
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => {
                    return Err(UrlReason::Port {
                        found: after.to_owned(),
                    })
                }
            },
        }
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None => 6379,
        Some(text) => text
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0 && text.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| UrlReason::Port {
                found: text.to_owned(),
            })?,
    };
    Ok((host, port))
}

fn split_query(s: &str) -> (&str, &str) {
    s.split_once('?').unwrap_or((s, ""))
}

fn parameters(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

fn once<T>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), UrlReason> {
    if slot.replace(value).is_some() {
        return Err(UrlReason::DuplicateParameter { name });
    }
    Ok(())
}

fn percent_decode(s: &str) -> Result<String, UrlReason> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = |b: Option<u8>| b.and_then(|b| char::from(b).to_digit(16));
            let (Some(hi), Some(lo)) = (hex(bytes.next()), hex(bytes.next())) else {
                return Err(UrlReason::PercentEncoding);
            };
            // Two hex digits: at most 0xff.
            out.push(u8::try_from(hi * 16 + lo).map_err(|_| UrlReason::PercentEncoding)?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|_| UrlReason::PercentEncoding)
}

/// The user as a URL writes it: `@`, `:`, `/`, `%` and the like percent-encoded.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
