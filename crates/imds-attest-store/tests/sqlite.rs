//! The SQLite store across processes: exactly once between two racing processes, a committed
//! redemption kept across a SIGKILL, the file's mode, and the sweep of long-expired rows.
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
use imds_attest_store::{open, Redemption, StoreError};
use imds_attest_testpki::temp;
use time::Duration;

const CHILD: &str = "IMDS_STORE_CHILD";
const NONCES: usize = 2000;

fn nonce(i: usize) -> String {
    format!("proc{i}")
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

/// The child side: `race` redeems every nonce from 4 threads, from when the file
/// `IMDS_STORE_GO` exists, and prints the ones it won;
/// `redeem-and-hang` redeems `proc0`, says so, and waits to be killed.
#[test]
fn child_process() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let store = open(&sqlite_url(Path::new(
        &std::env::var("IMDS_STORE_DB").unwrap(),
    )))
    .unwrap();
    let store = &*store;
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
                                .map(|i| nonce((i + t * 500 + offset) % NONCES))
                                .filter(|n| store.redeem(n, T0).unwrap() == Redemption::Redeemed)
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
            assert_eq!(store.redeem("proc0", T0).unwrap(), Redemption::Redeemed);
            println!("redeemed proc0");
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
    {
        let store = open(&sqlite_url(&db)).unwrap();
        for i in 0..NONCES {
            store.issue(&nonce(i), T0 + Duration::HOUR, T0).unwrap();
        }
    }
    let go = dir.path().join("go");
    let mut children = Vec::new();
    for offset in [0, 250] {
        let mut c = child("race", &db)
            .env("IMDS_STORE_GO", &go)
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
    open(&sqlite_url(&db))
        .unwrap()
        .issue("proc0", T0 + Duration::HOUR, T0)
        .unwrap();
    let mut c = child("redeem-and-hang", &db).spawn().unwrap();
    BufReader::new(c.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .find(|l| l == "redeemed proc0")
        .expect("the child redeemed");
    c.kill().unwrap(); // SIGKILL
    c.wait().unwrap();
    let restarted = open(&sqlite_url(&db)).unwrap();
    assert_eq!(
        restarted.redeem("proc0", T0).unwrap(),
        Redemption::AlreadyUsed
    );
}

#[test]
fn store_files_are_created_owner_only() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    let store = open(&sqlite_url(&db)).unwrap();
    store.issue("abc", T0 + Duration::HOUR, T0).unwrap();
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
        matches!(
            err,
            StoreError::Unavailable { .. } | StoreError::Permissions { .. }
        ),
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
    store.issue("abc", T0 + Duration::HOUR, T0).unwrap();
    assert_eq!(store.redeem("abc", T0).unwrap(), Redemption::Redeemed);
}

#[test]
fn long_expired_rows_are_forgotten() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    let store = open(&sqlite_url(&db)).unwrap();
    for i in 0..1000 {
        store
            .issue(&format!("old{i}"), T0 + Duration::MINUTE, T0)
            .unwrap();
    }
    let later = T0 + Duration::HOUR * 2;
    for i in 0..100 {
        store
            .issue(&format!("new{i}"), later + Duration::MINUTE, later)
            .unwrap();
    }
    let rows: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM nonces", [], |r| r.get(0))
        .unwrap();
    assert!(
        rows <= 100,
        "{rows} rows: the 1,000 long-expired ones were not swept"
    );
    assert_eq!(store.redeem("old0", later).unwrap(), Redemption::Unknown);
    assert_eq!(store.redeem("new0", later).unwrap(), Redemption::Redeemed);
}

/// The WAL reaches the database file while the store is open and well before SQLite's commits
/// would checkpoint it themselves (10,000 pages): a thread of the store does it, off the
/// answers' path.
#[test]
fn the_wal_is_checkpointed_in_the_background() {
    let dir = temp::dir();
    let db = dir.path().join("store.db");
    let store = open(&sqlite_url(&db)).unwrap();
    for i in 0..NONCES {
        store.issue(&nonce(i), T0 + Duration::MINUTE, T0).unwrap();
    }
    // 2,000 nonces take more than 16 pages of 4 KiB; the file holds them only once
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
    assert_eq!(store.redeem(&nonce(0), T0).unwrap(), Redemption::Redeemed);
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
