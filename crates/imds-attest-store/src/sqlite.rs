//! `sqlite:PATH`: a file shared by the processes of one machine.
//!
//! WAL journal; every answer is given after its transaction committed. With
//! `synchronous=NORMAL` (the default) a commit is in the WAL file before the answer, which a
//! crash of the process cannot undo (a power loss can undo the last ones); with `sync=full`
//! the WAL is also flushed to disk on each commit. Concurrent processes wait for each other
//! ([`BUSY_TIMEOUT`]) rather than fail.
//!
//! Moving the WAL into the database file (a checkpoint: copies and a flush of the database
//! file) is done by a thread of each store, off the path of any answer: SQLite's default, a
//! checkpoint inside the commit that passes 1,000 WAL pages, held every other request behind the
//! store's mutex for as long as the flush took (the service's p99 at half load was 6.7-8.4 ms
//! with SQLite's default, 3.7-4.9 ms with the thread, on the project's 2-core machine).
//! A commit still checkpoints itself past [`INLINE_CHECKPOINT_PAGES`], should that thread fall
//! behind, so the WAL stays bounded.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::error::{Backend, Operation, StoreError};
use crate::url::SqliteSync;
use crate::{ChallengeKey, FirstUse, Store, Window};

/// How long a process waits for another's write transaction before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the checkpoint thread moves the WAL into the database file. A checkpoint with
/// nothing new in the WAL costs no I/O.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// WAL pages past which a commit checkpoints itself (SQLite's `wal_autocheckpoint`; its
/// default is 1,000): only when the checkpoint thread falls far behind (40 MiB of WAL).
const INLINE_CHECKPOINT_PAGES: u32 = 10_000;

/// Writes between two sweeps of long-expired rows.
const SWEEP_EVERY: u32 = 1024;

// A used nonce is a row of `documents` too (a digest in its own domain): issuing a challenge
// writes no row. Stores made before that keep an unused `nonces` table, which nothing reads.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS challenge_key (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),  -- one row
    key BLOB NOT NULL CHECK (length(key) = 32)
);
CREATE TABLE IF NOT EXISTS documents (
    digest BLOB PRIMARY KEY NOT NULL,  -- SHA-256 of the content
    until INTEGER NOT NULL             -- Unix ms, exclusive
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_by_until ON documents (until);
";

pub(crate) struct SqliteStore {
    path: PathBuf,
    sync: SqliteSync,
    // One connection per store: SQLite serialises writers anyway, and a mutex hands over
    // faster than SQLite's busy wait.
    conn: Mutex<Conn>,
    _checkpointer: Checkpointer,
}

struct Conn {
    db: Connection,
    writes_since_sweep: u32,
}

impl SqliteStore {
    pub(crate) fn open(path: PathBuf, sync: SqliteSync) -> Result<Self, StoreError> {
        create_private(&path, sync)?;
        let fail = |e: &dyn std::fmt::Display| unavailable(&path, sync, Operation::Open, e);
        let conn = Conn {
            db: connect(&path).map_err(|e| fail(&e))?,
            writes_since_sweep: 0,
        };
        set_up(&conn.db, sync).map_err(|e| fail(&e))?;
        conn.db
            .pragma_update(None, "wal_autocheckpoint", INLINE_CHECKPOINT_PAGES)
            .map_err(|e| fail(&e))?;
        let checkpoints = connect(&path).map_err(|e| fail(&e))?;
        checkpoints
            .pragma_update(None, "synchronous", synchronous(sync))
            .map_err(|e| fail(&e))?;
        let checkpointer = Checkpointer::start(checkpoints).map_err(|e| fail(&e))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            _checkpointer: checkpointer,
            path,
            sync,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Conn> {
        // A panic inside a transaction rolled it back (rusqlite's Drop): the connection is
        // usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn error(&self, operation: Operation, e: &dyn std::fmt::Display) -> StoreError {
        unavailable(&self.path, self.sync, operation, e)
    }

    /// Every [`SWEEP_EVERY`] writes, forgets digests past their `until`: the table stays
    /// bounded by the write rate times the TTLs.
    fn sweep_sometimes(conn: &mut Conn, now_ms: i64) -> rusqlite::Result<()> {
        conn.writes_since_sweep = conn.writes_since_sweep.saturating_add(1);
        if conn.writes_since_sweep < SWEEP_EVERY {
            return Ok(());
        }
        conn.db
            .prepare_cached("DELETE FROM documents WHERE until <= ?1")?
            .execute([now_ms])?;
        conn.writes_since_sweep = 0;
        Ok(())
    }
}

/// A connection to the existing file (no CREATE flag: [`create_private`] made it, with its
/// mode), waiting [`BUSY_TIMEOUT`] for other processes.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(BUSY_TIMEOUT)?;
    Ok(db)
}

/// WAL, the durability `sync` asks for, and the schema.
fn set_up(db: &Connection, sync: SqliteSync) -> Result<(), String> {
    let mode: String = db
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("the journal mode stayed {mode:?}, not WAL"));
    }
    db.pragma_update(None, "synchronous", synchronous(sync))
        .and_then(|()| db.execute_batch(SCHEMA))
        .map_err(|e| e.to_string())
}

fn synchronous(sync: SqliteSync) -> &'static str {
    match sync {
        SqliteSync::Normal => "NORMAL",
        SqliteSync::Full => "FULL",
    }
}

/// The thread that checkpoints the WAL every [`CHECKPOINT_EVERY`] on its own connection,
/// stopped and joined when the store is dropped.
struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(db: Connection) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                    // PASSIVE: never waits for, nor blocks, a writer. A failed checkpoint loses
                    // nothing (the WAL keeps every commit) and is retried next time; a WAL that
                    // grows regardless is checkpointed by the commits themselves.
                    let _ = db.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.describe())
            .finish()
    }
}

impl Store for SqliteStore {
    fn challenge_key(&self) -> Result<ChallengeKey, StoreError> {
        let conn = self.conn();
        let read = |db: &Connection| -> rusqlite::Result<Option<Vec<u8>>> {
            db.prepare_cached("SELECT key FROM challenge_key WHERE id = 1")?
                .query_row([], |r| r.get(0))
                .optional()
        };
        // A read first: once the key exists (every call but the first), nothing is written.
        let mut key = read(&conn.db).map_err(|e| self.error(Operation::Issue, &e))?;
        if key.is_none() {
            let fresh = ChallengeKey::random()?;
            // Of two processes creating it at once, the first insert wins and both read it.
            key = conn
                .db
                .prepare_cached("INSERT OR IGNORE INTO challenge_key (id, key) VALUES (1, ?1)")
                .and_then(|mut insert| insert.execute([fresh.as_bytes().as_slice()]))
                .and_then(|_| read(&conn.db))
                .map_err(|e| self.error(Operation::Issue, &e))?;
        }
        key.and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(ChallengeKey::from_bytes)
            .ok_or_else(|| self.error(Operation::Issue, &"the challenge key is unreadable"))
    }

    fn insert_digest(&self, digest: &[u8; 32], window: Window) -> Result<FirstUse, StoreError> {
        let (at_ms, until_ms) = (window.from_ms(), window.until_ms());
        let mut conn = self.conn();
        // One statement, so one atomic transaction: inserts, or replaces a row remembered
        // until `at` or before, or changes nothing.
        let changed = (|| -> rusqlite::Result<usize> {
            Self::sweep_sometimes(&mut conn, at_ms)?;
            conn.db
                .prepare_cached(
                    "INSERT INTO documents (digest, until) VALUES (?1, ?2)
                     ON CONFLICT (digest) DO UPDATE SET until = excluded.until
                     WHERE documents.until <= ?3",
                )?
                .execute(params![&digest[..], until_ms, at_ms])
        })()
        .map_err(|e| self.error(Operation::Remember, &e))?;
        Ok(if changed == 1 {
            FirstUse::First
        } else {
            FirstUse::AlreadyUsed
        })
    }

    fn describe(&self) -> String {
        describe(&self.path, self.sync)
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}

fn describe(path: &Path, sync: SqliteSync) -> String {
    match sync {
        SqliteSync::Normal => format!("sqlite:{}", path.display()),
        SqliteSync::Full => format!("sqlite:{}?sync=full", path.display()),
    }
}

fn unavailable(
    path: &Path,
    sync: SqliteSync,
    operation: Operation,
    e: &dyn std::fmt::Display,
) -> StoreError {
    StoreError::Unavailable {
        backend: Backend::Sqlite,
        location: describe(path, sync),
        operation,
        message: e.to_string(),
    }
}

/// Creates the file with mode 0600 if it is missing, before SQLite opens it (SQLite gives its
/// WAL and shared-memory files the same mode), and refuses one that others may read or write,
/// that another user owns, or a symbolic link: in a shared directory, any of them would let
/// another user change the store (reset redemptions, or read and replace the challenge key).
/// SQLite's `-wal` and `-shm` files beside it, if present, must pass the same checks.
fn create_private(path: &Path, sync: SqliteSync) -> Result<(), StoreError> {
    let io = |e: std::io::Error| unavailable(path, sync, Operation::Open, &e);
    // Not through a link: checked before the open, and the opened file must be the one
    // checked (a link swapped in between is caught below).
    let before = match std::fs::symlink_metadata(path) {
        Ok(metadata) => {
            check_private(path, &metadata)?;
            Some(metadata)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    if before.is_none() {
        // Only ever a new file: never one that appeared since, link or not.
        options.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(|e| match path.parent() {
        // The file's directory is missing: say that, not the OS's bare "no such file".
        Some(dir) if before.is_none() && e.kind() == std::io::ErrorKind::NotFound => unavailable(
            path,
            sync,
            Operation::Open,
            &format!(
                "its directory {} does not exist; create it, owned by the user this runs as, \
                 or choose another path",
                dir.display()
            ),
        ),
        _ => io(e),
    })?;
    let metadata = file.metadata().map_err(io)?;
    check_private(path, &metadata)?;
    let after = std::fs::symlink_metadata(path).map_err(io)?;
    check_private(path, &after)?;
    if !same_file(&metadata, &after) {
        return Err(permissions(path, &after));
    }
    for suffix in ["-wal", "-shm"] {
        let mut sibling = path.as_os_str().to_owned();
        sibling.push(suffix);
        let sibling = PathBuf::from(sibling);
        match std::fs::symlink_metadata(&sibling) {
            Ok(metadata) => check_private(&sibling, &metadata)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(())
}

/// A regular file (not a link), only its owner may read or write, and that owner is us.
fn check_private(path: &Path, metadata: &std::fs::Metadata) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if !metadata.file_type().is_file() || metadata.permissions().mode() & 0o077 != 0 {
            return Err(permissions(path, metadata));
        }
        let user = rustix::process::geteuid().as_raw();
        if metadata.uid() != user {
            return Err(StoreError::Owner {
                path: path.to_owned(),
                owner: metadata.uid(),
                user,
            });
        }
    }
    #[cfg(not(unix))]
    if !metadata.file_type().is_file() {
        return Err(permissions(path, metadata));
    }
    Ok(())
}

fn permissions(path: &Path, metadata: &std::fs::Metadata) -> StoreError {
    #[cfg(unix)]
    let mode = std::os::unix::fs::PermissionsExt::mode(&metadata.permissions());
    #[cfg(not(unix))]
    let mode = {
        let _ = metadata;
        0
    };
    StoreError::Permissions {
        path: path.to_owned(),
        mode,
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}
