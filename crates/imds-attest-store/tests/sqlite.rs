//! The SQLite store across processes: exactly once between two racing processes, a committed
//! redemption kept across a SIGKILL, the file's mode and owner, no symbolic links, issuing
//! that leaves the file as it was, and the sweep of expired rows.
//!
//! The child processes are this test binary itself, run with `IMDS_STORE_CHILD` set: the test
//! `child_process` then does what the variable says instead of nothing.
#![allow(clippy::print_stdout)] // the child processes answer on standard output
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{sqlite_url, T0};
use imds_attest_store::{open, Challenges, Redemption, StoreError};
use imds_attest_testpki::temp;
use time::Duration;

const CHILD: &str = "IMDS_STORE_CHILD";
const NONCES: usize = 2000;

const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

/// `n` challenges of the store at `db`, valid for an hour from [`T0`].
fn issue(db: &Path, n: usize) -> Vec<String> {
    let challenges = Challenges::new(open(&sqlite_url(db)).unwrap());
    (0..n)
        .map(|_| challenges.issue(HOUR, T0).unwrap().nonce)
        .collect()
}

fn child(mode: &str, db: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child_process",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, mode)
    .env("IMDS_STORE_DB", db)
    .stdout(Stdio::piped());
    cmd
}

/// The child side: `race` redeems every nonce of the file `IMDS_STORE_NONCES` from 4 threads,
/// from when the file `IMDS_STORE_GO` exists, and prints the ones it won;
/// `redeem-and-hang` redeems the first, says so, and waits to be killed.
#[test]
fn child_process() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let challenges = Challenges::new(
        open(&sqlite_url(Path::new(
            &std::env::var("IMDS_STORE_DB").unwrap(),
        )))
        .unwrap(),
    );
    let challenges = &challenges;
    let nonces: Vec<String> = std::fs::read_to_string(std::env::var("IMDS_STORE_NONCES").unwrap())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let nonces = &nonces;
    // libtest has written "test child_process ... " without a newline: end that line first.
    println!();
    match mode.as_str() {
        "race" => {
            // Ready, then wait for the parent's go: both processes race from the same moment.
            println!("ready");
            let go = Path::new(&std::env::var("IMDS_STORE_GO").unwrap()).to_owned();
            while !go.exists() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let offset: usize = std::env::var("IMDS_STORE_OFFSET").unwrap().parse().unwrap();
            let won: Vec<String> = std::thread::scope(|s| {
                let threads: Vec<_> = (0..4)
                    .map(|t| {
                        s.spawn(move || {
                            (0..NONCES)
                                .map(|i| &nonces[(i + t * 500 + offset) % NONCES])
                                .filter(|n| {
                                    challenges.redeem(n, T0).unwrap() == Redemption::Redeemed
                                })
                                .cloned()
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                threads
                    .into_iter()
                    .flat_map(|t| t.join().unwrap())
                    .collect()
            });
            let mut out = std::io::stdout().lock();
            for n in won {
                writeln!(out, "won {n}").unwrap();
            }
        }
        "redeem-and-hang" => {
            assert_eq!(
                challenges.redeem(&nonces[0], T0).unwrap(),
                Redemption::Redeemed
            );
            println!("redeemed");
            std::io::stdout().flush().unwrap();
            std::thread::sleep(std::time::Duration::from_secs(60));
            panic!("not killed within 60 s");
        }
        other => panic!("unknown child mode {other:?}"),
    }
}

#[test]
fn two_processes_redeem_each_nonce_exactly_once() {
    // Exactly once in every run; on a loaded machine one process may win every nonce while the
    // other waits for the lock, so up to five runs until both took part.
    let both_took_part = (0..5).any(|_| {
        let (a, b) = race_two_processes();
        a > 0 && b > 0
    });
    assert!(both_took_part, "one process won every nonce in five runs");
}

/// One race of two processes over fresh nonces: how many each won, exactly once asserted.
fn race_two_processes() -> (usize, usize) {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    let nonces = dir.path().join("nonces");
    std::fs::write(&nonces, issue(&db, NONCES).join("\n")).unwrap();
    let go = dir.path().join("go");
    let mut children = Vec::new();
    for offset in [0, 250] {
        let mut c = child("race", &db)
            .env("IMDS_STORE_GO", &go)
            .env("IMDS_STORE_NONCES", &nonces)
            .env("IMDS_STORE_OFFSET", offset.to_string())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(c.stdout.take().unwrap()).lines();
        lines
            .by_ref()
            .map(Result::unwrap)
            .find(|l| l == "ready")
            .expect("the child is ready");
        children.push((c, lines));
    }
    std::fs::write(&go, b"").unwrap();
    let mut won = Vec::new();
    for (mut c, lines) in children {
        won.push(
            lines
                .map(Result::unwrap)
                .filter_map(|l| l.strip_prefix("won ").map(str::to_owned))
                .collect::<HashSet<_>>(),
        );
        assert!(c.wait().unwrap().success());
    }
    assert!(
        won[0].is_disjoint(&won[1]),
        "a nonce redeemed by both processes"
    );
    assert_eq!(won[0].len() + won[1].len(), NONCES);
    (won[0].len(), won[1].len())
}

#[test]
fn redemption_survives_sigkill_and_restart() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    let nonce = issue(&db, 1).remove(0);
    let nonces = dir.path().join("nonces");
    std::fs::write(&nonces, &nonce).unwrap();
    let mut c = child("redeem-and-hang", &db)
        .env("IMDS_STORE_NONCES", &nonces)
        .spawn()
        .unwrap();
    BufReader::new(c.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .find(|l| l == "redeemed")
        .expect("the child redeemed");
    c.kill().unwrap(); // SIGKILL
    c.wait().unwrap();
    let restarted = Challenges::new(open(&sqlite_url(&db)).unwrap());
    assert_eq!(
        restarted.redeem(&nonce, T0).unwrap(),
        Redemption::AlreadyUsed
    );
}

#[test]
fn store_files_are_created_owner_only() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    let challenges = Challenges::new(open(&sqlite_url(&db)).unwrap());
    let nonce = challenges.issue(HOUR, T0).unwrap().nonce;
    assert_eq!(challenges.redeem(&nonce, T0).unwrap(), Redemption::Redeemed);
    for path in [db.clone(), dir.path().join("store.db-wal")] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
}

#[test]
fn refuses_a_file_others_may_read() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        open(&sqlite_url(&db)).unwrap_err(),
        StoreError::Permissions {
            path: db,
            mode: 0o100644
        }
    );
}

#[test]
fn refuses_a_directory() {
    let dir = temp::dir();
    let err = open(&sqlite_url(dir.path())).unwrap_err();
    assert!(
        matches!(&err, StoreError::Permissions { path, .. } if path == dir.path()),
        "{err:?}"
    );
}

#[test]
fn sync_full_is_described_and_works() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    let store = open(&format!("{}?sync=full", sqlite_url(&db))).unwrap();
    assert_eq!(
        store.describe(),
        format!("sqlite:{}?sync=full", db.display())
    );
    let challenges = Challenges::new(store);
    let nonce = challenges.issue(HOUR, T0).unwrap().nonce;
    assert_eq!(challenges.redeem(&nonce, T0).unwrap(), Redemption::Redeemed);
}

#[test]
fn expired_rows_are_forgotten() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    let challenges = Challenges::new(open(&sqlite_url(&db)).unwrap());
    let minute = std::time::Duration::from_secs(60);
    let old: Vec<String> = (0..1000)
        .map(|_| challenges.issue(minute, T0).unwrap().nonce)
        .collect();
    for nonce in &old {
        assert_eq!(challenges.redeem(nonce, T0).unwrap(), Redemption::Redeemed);
    }
    let later = T0 + Duration::HOUR * 2;
    let new: Vec<String> = (0..100)
        .map(|_| challenges.issue(minute, later).unwrap().nonce)
        .collect();
    for nonce in &new {
        assert_eq!(
            challenges.redeem(nonce, later).unwrap(),
            Redemption::Redeemed
        );
    }
    let rows: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap();
    assert!(
        rows <= 100,
        "{rows} rows: the 1,000 expired ones were not swept"
    );
    assert_eq!(
        challenges.redeem(&old[0], later).unwrap(),
        Redemption::Expired
    );
    assert_eq!(
        challenges.redeem(&new[0], later).unwrap(),
        Redemption::AlreadyUsed
    );
}

#[test]
fn issuing_leaves_the_file_as_it_was() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    let challenges = Challenges::new(open(&sqlite_url(&db)).unwrap());
    challenges.issue(HOUR, T0).unwrap();
    let files = || {
        ["store.db", "store.db-wal"].map(|f| std::fs::read(dir.path().join(f)).unwrap_or_default())
    };
    // The key's insert reaches the database file at the next checkpoint (every 100 ms).
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = files();
    for _ in 0..20_000 {
        challenges.issue(HOUR, T0).unwrap();
    }
    // A fresh instance reads the key; neither writes.
    let other = Challenges::new(open(&sqlite_url(&db)).unwrap());
    for _ in 0..100 {
        other.issue(HOUR, T0).unwrap();
        other.store().challenge_key().unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(files() == before, "issuing changed the store's files");
    let rows: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn refuses_a_symbolic_link() {
    let dir = temp::dir();
    let target = dir.path().join("target.db");
    open(&sqlite_url(&target)).unwrap();
    for name in ["store.db", "dangling.db"] {
        let link = dir.path().join(name);
        let to = if name == "store.db" {
            target.clone()
        } else {
            dir.path().join("nowhere")
        };
        std::os::unix::fs::symlink(&to, &link).unwrap();
        let err = open(&sqlite_url(&link)).unwrap_err();
        assert!(
            matches!(&err, StoreError::Permissions { path, mode } if *path == link && mode & 0o170000 == 0o120000),
            "{name}: {err:?}"
        );
        // A dangling link was not followed: nothing was created where it points.
        assert!(!dir.path().join("nowhere").exists());
    }
}

#[test]
fn refuses_a_wal_file_that_is_a_symbolic_link() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    std::os::unix::fs::symlink(
        dir.path().join("elsewhere"),
        dir.path().join("store.db-wal"),
    )
    .unwrap();
    let err = open(&sqlite_url(&db)).unwrap_err();
    assert!(
        matches!(&err, StoreError::Permissions { path, .. } if path.ends_with("store.db-wal")),
        "{err:?}"
    );
}

/// Needs root, to give the file away (skipped otherwise: an unprivileged user cannot).
#[test]
fn refuses_a_file_another_user_owns() {
    use std::os::unix::fs::MetadataExt;
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    open(&sqlite_url(&db)).unwrap();
    let me = std::fs::metadata(&db).unwrap().uid();
    const NOBODY: u32 = 65534;
    if std::os::unix::fs::chown(&db, Some(NOBODY), None).is_err() {
        eprintln!("skipped: cannot chown (not root)");
        return;
    }
    assert_eq!(
        open(&sqlite_url(&db)).unwrap_err(),
        StoreError::Owner {
            path: db,
            owner: NOBODY,
            user: me
        }
    );
}

/// The WAL reaches the database file while the store is open and well before SQLite's commits
/// would checkpoint it themselves (10,000 pages): a thread of the store does it, off the
/// answers' path.
#[test]
fn the_wal_is_checkpointed_in_the_background() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    let challenges = Challenges::new(open(&sqlite_url(&db)).unwrap());
    let nonces: Vec<String> = (0..NONCES)
        .map(|_| challenges.issue(HOUR, T0).unwrap().nonce)
        .collect();
    for nonce in &nonces[1..] {
        assert_eq!(challenges.redeem(nonce, T0).unwrap(), Redemption::Redeemed);
    }
    // 2,000 used nonces take more than 16 pages of 4 KiB; the file holds them only once
    // checkpointed.
    let holds_them = || std::fs::metadata(&db).unwrap().len() >= 16 * 4096;
    let start = std::time::Instant::now();
    while !holds_them() && start.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        holds_them(),
        "the database file is {} bytes 10 s after 2,000 commits: no checkpoint ran",
        std::fs::metadata(&db).unwrap().len()
    );
    assert_eq!(
        challenges.redeem(&nonces[0], T0).unwrap(),
        Redemption::Redeemed
    );
}

#[test]
fn unreachable_file_is_unavailable_at_open() {
    let err = open("sqlite:/nonexistent-dir/for/sure/store.db").unwrap_err();
    assert!(matches!(
        err,
        StoreError::Unavailable {
            backend: imds_attest_store::Backend::Sqlite,
            operation: imds_attest_store::Operation::Open,
            ..
        }
    ));
    assert_eq!(
        err.kind(),
        imds_attest_store::StoreErrorKind::StoreUnavailable
    );
}
