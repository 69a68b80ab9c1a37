//! The licence flow from the command line: `challenge --store` issues a nonce, a document
//! signed by the test PKI carries it, `verify --store` redeems it once; every refusal a store
//! can cause, with its kind, exit status and exact message; the rules refusing a document
//! without burning its challenge; a real redis-server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use common::{run, PkiFiles, Run};
use imds_attest_testpki::loopback::free_port;
use imds_attest_testpki::redis::RedisServer;
use imds_attest_testpki::temp::{self, TempDir};
use imds_attest_testpki::{claims_json, imds_response, CertSpec, TestPki, REFERENCE_TIME};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An instant at which the test PKI's documents created at [`REFERENCE_TIME`] verify.
const TEST_AT: &str = "2026-06-01T12:00:00Z";

const MEMORY_WARNING: &str = "imds-attest: warning: the memory: store ends with this command, so no other run shares it; use sqlite:PATH or redis://";
const SINGLE_USE_WARNING: &str =
    "imds-attest: warning: --single-use: the nonce is not checked; the document is accepted once";

/// The test PKI with a signer valid until 2029 (the usual one expires in 2026-11), so that a
/// document can be verified after a challenge issued by the real clock has expired.
fn pki() -> &'static PkiFiles {
    static P: OnceLock<PkiFiles> = OnceLock::new();
    P.get_or_init(|| {
        let leaf = CertSpec {
            not_after: REFERENCE_TIME + time::Duration::days(3 * 365),
            ..CertSpec::imds_leaf()
        };
        PkiFiles::new(TestPki::with_leaf(
            &["Test Azure RSA TLS Issuing CA 07"],
            &leaf,
            0,
        ))
    })
}

/// A document carrying `nonce`, created at `created`, in a file of its own.
fn document(nonce: &str, created: OffsetDateTime) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let p = pki();
    let der = p.pki.sign(&claims_json(nonce, created));
    p.put(
        &format!("doc-{}.json", N.fetch_add(1, Ordering::Relaxed)),
        imds_response(&der),
    )
}

/// A fresh SQLite store URL (the file does not exist yet) and the store's description.
fn sqlite_store(dir: &TempDir) -> String {
    format!("sqlite:{}", dir.path().join("licences.db").display())
}

/// `challenge --store URL --json`, which must succeed: the nonce and its expiry.
fn challenge(store: &str, ttl: &str) -> (String, OffsetDateTime) {
    let r = run(
        &["challenge", "--store", store, "--ttl", ttl, "--json"],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let expires_at = OffsetDateTime::parse(v["expiresAt"].as_str().unwrap(), &Rfc3339).unwrap();
    (v["nonce"].as_str().unwrap().to_owned(), expires_at)
}

/// `verify DOC --root .. --intermediate .. ARGS`.
fn verify(doc: &str, args: &[&str]) -> Run {
    let p = pki();
    let mut all = vec![
        "verify",
        doc,
        "--root",
        &p.root,
        "--intermediate",
        &p.intermediate,
    ];
    all.extend_from_slice(args);
    run(&all, b"")
}

/// The one JSON object of a `--json` run that failed with `code`: its kind and message.
fn refusal(r: &Run, code: i32) -> (String, String) {
    let context = format!(
        "exit {}\nstdout: {}\nstderr: {}",
        r.code, r.stdout, r.stderr
    );
    assert_eq!(r.code, code, "{context}");
    assert_eq!(r.stdout.lines().count(), 1, "{context}");
    let v: Value = serde_json::from_str(&r.stdout).expect(&context);
    assert_eq!(v["verified"], false, "{context}");
    (
        v["error"]["kind"].as_str().expect(&context).to_owned(),
        v["error"]["message"].as_str().expect(&context).to_owned(),
    )
}

#[test]
fn challenge_prints_the_nonce_alone_or_json_with_its_expiry() {
    let dir = temp::dir();
    let store = sqlite_store(&dir);
    let r = run(&["challenge", "--store", &store], b"");
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let nonce = r.stdout.strip_suffix('\n').unwrap();
    assert_eq!(nonce.len(), 32, "{:?}", r.stdout);
    assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric()), "{nonce}");

    let before = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let r = run(&["challenge", "--store", &store, "--json"], b"");
    let after = OffsetDateTime::now_utc();
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["expiresAt", "nonce"]
    );
    let expires_at = OffsetDateTime::parse(v["expiresAt"].as_str().unwrap(), &Rfc3339).unwrap();
    let ttl = time::Duration::seconds(300);
    assert!(
        before + ttl <= expires_at && expires_at <= after + ttl,
        "{expires_at}"
    );
    assert_ne!(v["nonce"], nonce, "every challenge is fresh");
}

#[test]
fn a_challenge_is_redeemed_once() {
    let dir = temp::dir();
    let store = sqlite_store(&dir);
    let (nonce, _) = challenge(&store, "300");
    let doc = document(&nonce, REFERENCE_TIME);

    let r = verify(&doc, &["--store", &store, "--at", TEST_AT]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{}", r.stdout);
    let line = format!("nonce           {nonce} (redeemed from {store})");
    assert!(r.stdout.lines().any(|l| l == line), "{}", r.stdout);

    let r = verify(&doc, &["--store", &store, "--at", TEST_AT, "--json"]);
    let message = format!(
        "nonce \"{nonce}\" has been used already: the document may be replayed; request a new challenge"
    );
    assert_eq!(
        refusal(&r, 1),
        ("nonce_already_used".to_owned(), message.clone())
    );
    assert_eq!(r.stderr, format!("imds-attest: rejected: {message}\n"));

    // JSON: the nonce was the caller's own and the store accepted the document.
    let (nonce, _) = challenge(&store, "300");
    let r = verify(
        &document(&nonce, REFERENCE_TIME),
        &["--store", &store, "--at", TEST_AT, "--json"],
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{}", r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (&v["verified"], &v["nonceChecked"], &v["redeemed"]),
        (&json!(true), &json!(true), &json!(true))
    );
    assert_eq!(v["claims"]["nonce"], nonce.as_str());
}

/// Each refusal a store causes, reached from the command line: kind, exit status, message.
#[test]
fn every_store_refusal_has_its_kind() {
    let dir = temp::dir();
    let store = sqlite_store(&dir);

    // Issued with a TTL of 1 s; the document is created when the challenge expires and
    // verified then, so only the nonce is out of time.
    let (expired, expires_at) = challenge(&store, "1");
    let expired_doc = document(&expired, expires_at);
    let expired_at = expires_at.format(&Rfc3339).unwrap();

    let unknown_doc = document("neverissued", REFERENCE_TIME);
    let single_doc = document("imds20260601", REFERENCE_TIME);
    let first = verify(
        &single_doc,
        &[
            "--store",
            &store,
            "--single-use",
            "--any-nonce",
            "--at",
            TEST_AT,
        ],
    );
    assert_eq!(
        (first.code, first.stderr.as_str()),
        (0, format!("{SINGLE_USE_WARNING}\n").as_str())
    );
    let line = format!(
        "nonce           imds20260601 (not checked; document remembered in {store}, single use)"
    );
    assert!(first.stdout.lines().any(|l| l == line), "{}", first.stdout);

    let dead = format!("redis://127.0.0.1:{}/0", free_port());
    let (live, _) = challenge(&store, "300");
    let live_doc = document(&live, REFERENCE_TIME);

    let cases: Vec<(&str, Vec<&str>, &str, String)> = vec![
        (
            &unknown_doc,
            vec!["--store", &store, "--at", TEST_AT],
            "nonce_unknown",
            "nonce \"neverissued\" is not a challenge the store issued (forged, altered or issued elsewhere); request a new challenge".into(),
        ),
        (
            &expired_doc,
            vec!["--store", &store, "--at", &expired_at],
            "nonce_expired",
            format!("nonce \"{expired}\" has expired; request a new challenge"),
        ),
        (
            &single_doc,
            vec!["--store", &store, "--single-use", "--any-nonce", "--at", TEST_AT],
            "document_already_used",
            "this document (content SHA-256 ".into(),
        ),
        (
            &live_doc,
            vec!["--store", &dead, "--at", TEST_AT],
            "store_unavailable",
            format!(
                "the store {dead} could not redeem the document: Redis store {dead} unavailable \
                 (redeem): Connection refused (os error 111); refusing; the document is refused \
                 until the store answers: try again later"
            ),
        ),
    ];
    for (doc, mut args, kind, message) in cases {
        args.push("--json");
        let r = verify(doc, &args);
        let (found_kind, found_message) = refusal(&r, 1);
        assert_eq!(found_kind, kind, "{args:?}");
        if kind == "document_already_used" {
            assert!(found_message.starts_with(&message), "{found_message}");
            assert!(
                found_message
                    .ends_with(") has been used already: it may be replayed; fetch a new one"),
                "{found_message}"
            );
        } else {
            assert_eq!(found_message, message, "{args:?}");
        }
        let warning = if args.contains(&"--single-use") {
            format!("{SINGLE_USE_WARNING}\n")
        } else {
            String::new()
        };
        assert_eq!(
            r.stderr,
            format!("{warning}imds-attest: rejected: {found_message}\n")
        );
    }

    // The unanswered redemption spent nothing: the same document with the live store.
    let r = verify(&live_doc, &["--store", &store, "--at", TEST_AT]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // challenge against a store that cannot answer: exit 1, store_unavailable.
    let r = run(&["challenge", "--store", &dead, "--json"], b"");
    let message = format!(
        "Redis store {dead} unavailable (issue): Connection refused (os error 111); refusing"
    );
    assert_eq!(
        refusal(&r, 1),
        ("store_unavailable".to_owned(), message.clone())
    );
    assert_eq!(
        r.stderr,
        format!("imds-attest: no challenge issued: {message}\n")
    );
}

/// Claim rules are checked before the store: a document they refuse keeps its challenge,
/// which a later verification redeems.
#[test]
fn a_document_the_rules_refuse_does_not_burn_its_challenge() {
    let dir = temp::dir();
    let store = sqlite_store(&dir);
    let rules = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let deny = rules(
        "deny.toml",
        "[[deny]]\nname = \"revoked\"\nvm_id = \"02AAB8A4-74EF-476E-8182-F6D2BA4166A6\"\n",
    );
    let no_match = rules(
        "no-match.toml",
        "[[allow]]\nname = \"premium\"\nsubscription_id = \"8d10da13-8125-4ba9-a717-bf7490507b3d\"\nplan_name = \"premium\"\n",
    );
    let allow = rules(
        "allow.toml",
        "[[allow]]\nname = \"no-plan\"\nplan_name = \"\"\nregion = \"eastus\"\n",
    );
    let (nonce, _) = challenge(&store, "300");
    let doc = document(&nonce, REFERENCE_TIME);
    let base = ["--store", &store, "--at", TEST_AT, "--json"];

    let with = |policy: &str| {
        let mut args = base.to_vec();
        args.extend(["--policy", policy]);
        verify(&doc, &args)
    };
    assert_eq!(
        refusal(&with(&deny), 1),
        ("denied_by_rule".to_owned(), "the document matches deny rule \"revoked\" of the claim rules; it is refused whatever the allow rules say".to_owned())
    );
    let (kind, message) = refusal(&with(&no_match), 1);
    assert_eq!(kind, "no_rule_matched");
    assert!(message.contains("\"premium\""), "{message}");

    let r = with(&allow);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{}", r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (&v["rule"], &v["redeemed"]),
        (&json!("no-plan"), &json!(true))
    );
}

#[test]
fn nonce_check_options_that_do_not_fit_are_usage_errors() {
    let dir = temp::dir();
    let store = sqlite_store(&dir);
    let doc = document("n1", REFERENCE_TIME);
    let missing_dir = format!("sqlite:{}", dir.path().join("no/such/dir.db").display());
    // Exit status 2 for each; the kind says which: the command line, a store URL that cannot
    // be parsed, or a store that cannot be opened.
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["--store", &store, "--nonce", "n1"],
            "usage",
            "the argument '--store <URL>' cannot be used with '--nonce <NONCE>'",
        ),
        (
            vec!["--single-use", "--any-nonce"],
            "usage",
            "the following required arguments were not provided:",
        ),
        (
            vec!["--single-use", "--store", &store],
            "usage",
            "the following required arguments were not provided:",
        ),
        (
            vec!["--store", &store, "--any-nonce"],
            "usage",
            "--store with --any-nonce needs --single-use (accept each document once); without --any-nonce, --store redeems the document's nonce",
        ),
        (
            vec!["--store", "redis://:secret@cache.internal:99999/0"],
            "store_url",
            "cannot open the --store: store URL refused: port \"99999\" is not a number from 1 to 65535",
        ),
        (
            vec!["--store", &missing_dir],
            "store_unavailable",
            "cannot open the --store: SQLite store ",
        ),
    ];
    for (args, expected_kind, message) in cases {
        let mut all = args.clone();
        all.push("--json");
        let r = verify(&doc, &all);
        let (kind, found) = refusal(&r, 2);
        assert_eq!(kind, expected_kind, "{args:?}");
        assert!(found.starts_with(message), "{args:?}: {found}");
        assert!(!r.stderr.contains("secret"), "{}", r.stderr);
    }
    let r = run(&["challenge", "--store", "sqlite:", "--json"], b"");
    assert_eq!(
        refusal(&r, 2),
        (
            "store_url".to_owned(),
            "cannot open the --store: store URL refused: sqlite: needs a file path (sqlite:PATH)"
                .to_owned()
        )
    );
    let r = run(&["challenge", "--store", &store, "--ttl", "0"], b"");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("error: invalid value '0' for '--ttl <SECONDS>'"),
        "{}",
        r.stderr
    );
}

/// memory: works, but each run of the command has its own: said once on standard error.
#[test]
fn a_memory_store_warns_that_no_other_run_shares_it() {
    let r = run(&["challenge", "--store", "memory:"], b"");
    assert_eq!(r.code, 0);
    assert_eq!(r.stderr, format!("{MEMORY_WARNING}\n"));
    assert_eq!(r.stdout.len(), 33, "{}", r.stdout);

    let nonce = r.stdout.trim_end();
    let r = verify(
        &document(nonce, REFERENCE_TIME),
        &["--store", "memory:", "--at", TEST_AT],
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        format!("{MEMORY_WARNING}\nimds-attest: rejected: nonce \"{nonce}\" is not a challenge the store issued (forged, altered or issued elsewhere); request a new challenge\n")
    );
}

/// Redis, as a fleet would use it: a challenge issued by one run is redeemed by another once,
/// and a server that is gone refuses both commands with store_unavailable.
#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "redis-server is not installed (apt-get install redis-server)"
)]
fn redis_redeems_once_and_refuses_when_down() {
    let mut server = RedisServer::required(&[]);
    // The description names the timeout, never a password.
    let store = format!("{}?timeout_ms=500", server.url());
    let described = store.clone();
    let (nonce, _) = challenge(&store, "300");
    let doc = document(&nonce, REFERENCE_TIME);
    let r = verify(&doc, &["--store", &store, "--at", TEST_AT]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{}", r.stdout);
    let line = format!("nonce           {nonce} (redeemed from {described})");
    assert!(r.stdout.lines().any(|l| l == line), "{}", r.stdout);
    let r = verify(&doc, &["--store", &store, "--at", TEST_AT, "--json"]);
    assert_eq!(refusal(&r, 1).0, "nonce_already_used");

    let (pending, _) = challenge(&store, "300");
    let pending_doc = document(&pending, REFERENCE_TIME);
    server.stop();
    let r = verify(
        &pending_doc,
        &["--store", &store, "--at", TEST_AT, "--json"],
    );
    let (kind, message) = refusal(&r, 1);
    assert_eq!(kind, "store_unavailable");
    assert!(
        message.starts_with(&format!(
            "the store {described} could not redeem the document: Redis store {described} unavailable (redeem): "
        )),
        "{message}"
    );
    let r = run(&["challenge", "--store", &store, "--json"], b"");
    let (kind, message) = refusal(&r, 1);
    assert_eq!(kind, "store_unavailable");
    assert!(
        message.starts_with(&format!("Redis store {described} unavailable (issue): ")),
        "{message}"
    );
}
