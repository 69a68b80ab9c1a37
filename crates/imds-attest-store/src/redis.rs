//! `redis://` and `rediss://`: a server shared by several machines.
//!
//! The challenge key is one key without a TTL, created with `SET NX` (the first instance
//! wins) and read with `GET`. A document's key (a single-use document's digest, or a used
//! nonce's, in its own domain) holds its `until` and lives until then; remembering runs one
//! Lua script, atomic on the server, that decides with the caller's time. The TTLs are only how
//! long the server keeps a key, computed from the callers' times (`PX`, relative): no verdict
//! depends on the server's clock.
//!
//! Connections are pooled; one that fails is dropped with every idle one (they share the
//! server's fate), and the next use connects again: a restarted server is used again without
//! restarting the process.

use std::sync::{Mutex, MutexGuard, PoisonError};

use ::redis::{Client, Connection, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};
use ::redis::{RedisError, RedisResult, Script};

use crate::error::{Backend, Operation, StoreError};
use crate::url::RedisLocation;
use crate::{ChallengeKey, FirstUse, Store, Window};

/// Idle connections kept for reuse; more may be open while in use.
const MAX_IDLE: usize = 64;

/// KEYS[1] the digest, ARGV[1] the time (ms), ARGV[2] until (ms), ARGV[3] the key's TTL (ms).
/// 1 first, 0 already used.
const REMEMBER: &str = r"
local v = redis.call('GET', KEYS[1])
if v then
  local known = tonumber(v)
  if known == nil then return redis.error_reply('imds-attest: unreadable document entry') end
  if known > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

pub(crate) struct RedisStore {
    location: RedisLocation,
    client: Client,
    idle: Mutex<Vec<Connection>>,
    remember: Script,
}

impl RedisStore {
    /// Sets up the client; connects on first use.
    pub(crate) fn open(location: RedisLocation) -> Result<Self, StoreError> {
        let addr = if location.tls {
            // redis's rustls has no provider of its own; if one is installed already, it
            // stays.
            // rustls 0.23.48 deprecates ring's provider (no post-quantum key exchange).
            // Kept deliberately: ring is the one TLS crypto the workspace links beside
            // OpenSSL (aws-lc-rs would add a third C library and cmake to every build); the
            // lock pins 0.23.46, and a fresh lockfile builds without the warning. Revisit
            // when ring gains ML-KEM.
            #[allow(deprecated)]
            let _ = rustls::crypto::ring::default_provider().install_default();
            ConnectionAddr::TcpTls {
                host: location.host.clone(),
                port: location.port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(location.host.clone(), location.port)
        };
        let mut settings = RedisConnectionInfo::default().set_db(i64::from(location.db));
        if let Some(user) = &location.username {
            settings = settings.set_username(user);
        }
        if let Some(password) = &location.password {
            settings = settings.set_password(password);
        }
        let client = addr
            .into_connection_info()
            .map(|info| info.set_redis_settings(settings))
            .and_then(Client::open)
            .map_err(|e| unavailable(&location, Operation::Open, &e))?;
        Ok(RedisStore {
            location,
            client,
            idle: Mutex::new(Vec::new()),
            remember: Script::new(REMEMBER),
        })
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on a pooled or new connection; on any error the connection is dropped, and
    /// on a connection error every idle one too.
    fn with_connection<T>(
        &self,
        operation: Operation,
        f: impl FnOnce(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, StoreError> {
        let pooled = self.idle().pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => self
                .connect()
                .map_err(|e| unavailable(&self.location, operation, &e))?,
        };
        match f(&mut conn) {
            Ok(value) => {
                let mut idle = self.idle();
                if idle.len() < MAX_IDLE {
                    idle.push(conn);
                }
                Ok(value)
            }
            Err(e) => {
                if is_connection_error(&e) {
                    self.idle().clear();
                }
                Err(unavailable(&self.location, operation, &e))
            }
        }
    }

    fn connect(&self) -> RedisResult<Connection> {
        let timeout = self.location.timeout;
        let conn = self.client.get_connection_with_timeout(timeout)?;
        conn.set_read_timeout(Some(timeout))?;
        conn.set_write_timeout(Some(timeout))?;
        Ok(conn)
    }

    fn challenge_key_key(&self) -> String {
        format!("{}challenge-key", self.location.prefix)
    }

    fn document_key(&self, digest: &[u8; 32]) -> String {
        let mut key = format!("{}document:", self.location.prefix);
        for b in digest {
            key.push_str(&format!("{b:02x}"));
        }
        key
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("location", &self.describe())
            .finish()
    }
}

impl Store for RedisStore {
    fn challenge_key(&self) -> Result<ChallengeKey, StoreError> {
        let name = self.challenge_key_key();
        let read = |conn: &mut Connection| -> RedisResult<Option<Vec<u8>>> {
            ::redis::cmd("GET").arg(&name).query(conn)
        };
        // A read first: once the key exists (every call but the first), nothing is written.
        let mut key = self.with_connection(Operation::Issue, read)?;
        if key.is_none() {
            let fresh = ChallengeKey::random()?;
            // No TTL: the key must outlive every challenge. Of two instances creating it at
            // once, the first SET wins and both read it.
            key = self.with_connection(Operation::Issue, |conn| {
                ::redis::cmd("SET")
                    .arg(&name)
                    .arg(fresh.as_bytes().as_slice())
                    .arg("NX")
                    .exec(conn)?;
                read(conn)
            })?;
        }
        key.and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(ChallengeKey::from_bytes)
            .ok_or_else(|| {
                unavailable(
                    &self.location,
                    Operation::Issue,
                    &"the challenge key is missing or unreadable",
                )
            })
    }

    fn insert_digest(&self, digest: &[u8; 32], window: Window) -> Result<FirstUse, StoreError> {
        let (at_ms, until_ms) = (window.from_ms(), window.until_ms());
        let key = self.document_key(digest);
        let code: i64 = self.with_connection(Operation::Remember, |conn| {
            self.remember
                .key(&key)
                .arg(at_ms)
                .arg(until_ms)
                .arg(ttl_ms(at_ms, until_ms))
                .invoke(conn)
        })?;
        match code {
            1 => Ok(FirstUse::First),
            0 => Ok(FirstUse::AlreadyUsed),
            other => Err(unavailable(
                &self.location,
                Operation::Remember,
                &format!("the remember script answered {other}"),
            )),
        }
    }

    fn describe(&self) -> String {
        self.location.describe()
    }

    fn backend(&self) -> Backend {
        Backend::Redis
    }
}

/// How long the server keeps a key: from `now` to `until`, at least 1 ms.
fn ttl_ms(now_ms: i64, until_ms: i64) -> i64 {
    until_ms.saturating_sub(now_ms).max(1)
}

/// Whether the connection (and so, likely, every idle one) is unusable.
fn is_connection_error(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error()
}

fn unavailable(
    location: &RedisLocation,
    operation: Operation,
    e: &dyn std::fmt::Display,
) -> StoreError {
    StoreError::Unavailable {
        backend: Backend::Redis,
        location: location.describe(),
        operation,
        message: e.to_string(),
    }
}
