//! Trust that survives a rotation: the emulator rotates its issuing CA and a verifier made
//! before keeps verifying by fetching the new one; `--trust-dir`; `imds-attest trust`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use imds_attest::aia::http::HttpFetcher;
use imds_attest::aia::AiaAllowList;
use imds_attest::imds::{fetch_blocking, FetchOptions};
use imds_attest::{AttestedDocument, NonceCheck, Policy, TrustStore, Verifier};
use imds_attest_testpki::temp::{self, TempDir};
use imds_attest_testpki::{claims_json, imds_response, CertSpec, DocSpec, Issued, REFERENCE_TIME};
use imds_emulator::{Background, Config};
use time::Duration;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imds-attest"))
        .args(args)
        .stdin(Stdio::null())
        .env_remove("IMDS_ATTEST_TRUST_DIR")
        .env("XDG_CONFIG_HOME", temp::dir().path())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn document(url: &str, nonce: &str) -> String {
    let mut options = FetchOptions::default();
    options.endpoint = url.into();
    options.nonce = Some(nonce.into());
    fetch_blocking(&options, |_| {}).unwrap().body
}

/// `POST path` with an empty body, over a plain socket: the status.
fn post(addr: std::net::SocketAddr, path: &str) -> u16 {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_verifier_started_before_a_rotation_keeps_verifying_after_it_by_fetching() {
    let emulator_pki = temp::dir();
    let emulator = Background::start(Config::new(emulator_pki.path().to_path_buf())).unwrap();
    let url = emulator.url().to_owned();
    let addr = url.strip_prefix("http://").unwrap().to_owned();
    let pki = emulator.pki_dir().to_path_buf();
    // The trust as it was before the rotation, kept apart from the emulator's files.
    let kept_dir = temp::dir();
    let kept = kept_dir.path();
    for name in ["root.pem", "intermediate.pem"] {
        std::fs::copy(pki.join(name), kept.join(name)).unwrap();
    }
    let read = |name: &str| std::fs::read(kept.join(name)).unwrap();
    let trust = TrustStore::from_pem(&read("root.pem"), &read("intermediate.pem")).unwrap();
    let fetcher = Arc::new(HttpFetcher::new(
        AiaAllowList::of(&[addr.as_str()]).unwrap(),
    ));
    let verifier = Verifier::new(trust, Policy::default()).with_fetcher(fetcher.clone());
    let now = || time::OffsetDateTime::now_utc();

    let before = document(&url, "before");
    let doc = AttestedDocument::parse(before.as_bytes()).unwrap();
    let v = verifier
        .verify(&doc, NonceCheck::Exact("before"), now())
        .unwrap();
    assert!(v.fetched_intermediates().is_empty());
    assert_eq!(
        fetcher.requests(),
        0,
        "nothing is fetched while the chain is complete"
    );

    assert_eq!(post(addr.parse().unwrap(), "/admin/rotate"), 200);
    let after = document(&url, "after");
    let doc = AttestedDocument::parse(after.as_bytes()).unwrap();
    let v = verifier
        .verify(&doc, NonceCheck::Exact("after"), now())
        .unwrap();
    let fetched = v.fetched_intermediates().to_vec();
    assert_eq!(fetched.len(), 1);
    assert!(fetched[0].starts_with(&url), "{fetched:?}");
    assert_eq!(fetcher.requests(), 1);

    // The command line, with the trust of before: refused with the hint, then verified.
    let file = kept.join("after.json");
    std::fs::write(&file, &after).unwrap();
    let (root, inter) = (kept.join("root.pem"), kept.join("intermediate.pem"));
    let base = [
        "verify",
        file.to_str().unwrap(),
        "--nonce",
        "after",
        "--root",
        root.to_str().unwrap(),
        "--intermediate",
        inter.to_str().unwrap(),
    ];
    let out = run(&base);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("with --fetch-intermediates"),
        "{}",
        text(&out.stderr)
    );
    let mut args = base.to_vec();
    args.extend(["--fetch-intermediates", "--aia-allow", &addr, "--json"]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["fetchedIntermediates"][0], fetched[0].as_str());
    // The default allow list does not hold the emulator: refused before any request.
    let mut args = base.to_vec();
    args.extend(["--fetch-intermediates", "--json"]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "intermediate_fetch");
    // The library says why; the CLI says which of its options would change it.
    let mut args = base.to_vec();
    args.push("--fetch-intermediates");
    let out = run(&args);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is not on the AIA allow list; add the host with --aia-allow HOST[:PORT]"),
        "{stderr}"
    );
}

/// A trust directory with a test root (public) and an intermediate expiring 10 days after
/// the reference time.
fn directory() -> (TempDir, Issued) {
    let dir = temp::dir();
    let root = Issued::new(&CertSpec::ca("Test Dir Root", 0), None);
    let soon = Issued::new(
        &CertSpec {
            not_after: REFERENCE_TIME + Duration::days(10),
            ..CertSpec::ca("Test Dir Issuing CA", 1)
        },
        Some(&root),
    );
    put(dir.path(), "roots/public/root.pem", &root.pem());
    put(dir.path(), "intermediates/soon.pem", &soon.pem());
    (dir, root)
}

fn put(dir: &Path, relative: &str, text: &str) -> PathBuf {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

const AT: &str = "2026-06-01T12:00:00Z";

#[test]
fn trust_check_fails_on_a_directory_certificate_expiring_within_the_window() {
    let (tmp, _) = directory();
    let dir = tmp.path();
    let d = dir.to_str().unwrap();
    let out = run(&[
        "trust",
        "check",
        "--trust-dir",
        d,
        "--within",
        "30",
        "--at",
        AT,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("Test Dir")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("expires in 10 days"), "{stderr}");
    // The same directory through the environment variable, a shorter window: nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_imds-attest"))
        .args(["trust", "check", "--within", "5", "--at", AT])
        .env("IMDS_ATTEST_TRUST_DIR", d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("Test Dir"),
        "{}",
        text(&out.stderr)
    );
    // Success says so: an empty output could as well be a check that never ran.
    assert_eq!(
        text(&out.stdout),
        "imds-attest: no trusted certificate of a usable chain expires within 5 days\n"
    );
}

#[test]
fn trust_list_shows_directory_certificates_with_their_source() {
    let (tmp, _) = directory();
    let dir = tmp.path();
    let out = run(&[
        "trust",
        "list",
        "--json",
        "--trust-dir",
        dir.to_str().unwrap(),
        "--at",
        AT,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mine: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["source"] == "directory").collect();
    assert_eq!(mine.len(), 2);
    let soon = mine
        .iter()
        .find(|r| r["subject"] == "CN=Test Dir Issuing CA,O=Microsoft Corporation")
        .unwrap();
    assert_eq!(soon["daysLeft"], 10);
    assert_eq!(soon["role"], "intermediate");
    assert_eq!(soon["cloud"], "all");
    assert!(rows.iter().any(|r| r["source"] == "built-in"));
}

#[test]
fn trust_add_copies_an_intermediate_that_chains_and_refuses_one_that_does_not() {
    let (tmp, root) = directory();
    let dir = tmp.path();
    let d = dir.to_str().unwrap();
    let work_dir = temp::dir();
    let work = work_dir.path();
    let good = Issued::new(&CertSpec::ca("Test Added CA", 2), Some(&root));
    let good_file = put(work, "added.pem", &good.pem());
    let out = run(&[
        "trust",
        "add",
        good_file.to_str().unwrap(),
        "--trust-dir",
        d,
        "--cloud",
        "public",
        "--at",
        AT,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.join("intermediates/added.pem").is_file());

    let stranger = Issued::new(&CertSpec::ca("Test Stranger Root", 5), None);
    let bad = Issued::new(&CertSpec::ca("Test Orphan CA", 2), Some(&stranger));
    let bad_file = put(work, "orphan.pem", &bad.pem());
    let out = run(&[
        "trust",
        "add",
        bad_file.to_str().unwrap(),
        "--trust-dir",
        d,
        "--at",
        AT,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not added: it does not chain to a pinned root"),
        "{}",
        text(&out.stderr)
    );
    // Every cloud was tried: the reason names the unknown issuer, not the last cloud tried.
    assert!(
        text(&out.stderr).contains(
            "of any cloud: certificate \"CN=Test Orphan CA,O=Microsoft Corporation\" is issued by \
             \"CN=Test Stranger Root,O=Microsoft Corporation\", which is not a trusted \
             certificate of any cloud"
        ),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("germany"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.join("intermediates/orphan.pem").exists());

    let leaf_file = put(
        work,
        "leaf.pem",
        &Issued::new(&CertSpec::imds_leaf(), Some(&root)).pem(),
    );
    let out = run(&[
        "trust",
        "add",
        leaf_file.to_str().unwrap(),
        "--trust-dir",
        d,
        "--at",
        AT,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not a CA certificate"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn verify_names_a_bad_trust_directory_file() {
    let dir_dir = temp::dir();
    let dir = dir_dir.path();
    let file = put(dir, "intermediates/empty.pem", "nothing\n");
    let out = run(&[
        "verify",
        "-",
        "--any-nonce",
        "--trust-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!("cannot use trust file {}", file.display())),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn verify_warns_once_when_its_chain_expires_within_30_days() {
    let dir_dir = temp::dir();
    let dir = dir_dir.path();
    let root = Issued::new(&CertSpec::ca("Test Dir Root", 0), None);
    let soon = Issued::new(
        &CertSpec {
            not_after: REFERENCE_TIME + Duration::days(10),
            ..CertSpec::ca("Test Dir Issuing CA", 1)
        },
        Some(&root),
    );
    put(dir, "roots/public/root.pem", &root.pem());
    put(dir, "intermediates/soon.pem", &soon.pem());
    let leaf = Issued::new(&CertSpec::imds_leaf(), Some(&soon));
    let der = DocSpec::imds(&claims_json("n", REFERENCE_TIME)).sign(&leaf);
    let file = put(dir, "doc.json", &imds_response(&der));
    let out = run(&[
        "verify",
        file.to_str().unwrap(),
        "--nonce",
        "n",
        "--at",
        AT,
        "--trust-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let warnings: Vec<String> = text(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("imds-attest: warning: a certificate of this chain expires"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        warnings,
        ["imds-attest: warning: a certificate of this chain expires at 2026-06-11T12:00:00Z (in 10 days); see imds-attest trust check"]
    );
}

#[test]
fn verify_fetches_over_https_with_an_added_tls_root() {
    use imds_attest_testpki::loopback::{localhost_cert, AiaServer, Route};
    let dir_dir = temp::dir();
    let dir = dir_dir.path();
    let tls_root = Issued::new(&CertSpec::ca("Test Loopback TLS Root", 7), None);
    let server = AiaServer::start_tls(&localhost_cert(&tls_root, 8), &[]);
    let url = server.url("/ca.cer");
    let root = Issued::new(&CertSpec::ca("Test Global Root G2", 0), None);
    let issuing = Issued::new(
        &CertSpec::ca("Test Azure RSA TLS Issuing CA 07", 1),
        Some(&root),
    );
    let leaf = Issued::with_aia(&CertSpec::imds_leaf(), Some(&issuing), Some(&url));
    server.serve("/ca.cer", Route::ok(issuing.cert.to_der().unwrap()));
    let doc = put(
        dir,
        "doc.json",
        &imds_response(&DocSpec::imds(&claims_json("n", REFERENCE_TIME)).sign(&leaf)),
    );
    let root_pem = put(dir, "root.pem", &root.pem());
    let tls_pem = put(dir, "tls.pem", &tls_root.pem());
    let authority = server.authority();
    let base = [
        "verify",
        doc.to_str().unwrap(),
        "--nonce",
        "n",
        "--at",
        AT,
        "--root",
        root_pem.to_str().unwrap(),
        "--fetch-intermediates",
        "--aia-allow",
        &authority,
        "--json",
    ];
    let out = run(&base);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "intermediate_fetch");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("TLS handshake with localhost:"),
        "{message}"
    );
    assert_eq!(server.hits(), 0);

    let mut args = base.to_vec();
    args.extend(["--aia-tls-root", tls_pem.to_str().unwrap()]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["fetchedIntermediates"][0], url.as_str());
}

/// The emulator's PKI is not pinned: its intermediate is given, its root is not. The missing
/// certificate is a root, and both `verify` and `trust add` say so rather than ask for an
/// intermediate or name the last cloud tried.
#[test]
fn an_unknown_root_above_a_given_intermediate_is_advised_as_a_root() {
    let emulator_pki = temp::dir();
    let emulator = Background::start(Config::new(emulator_pki.path().to_path_buf())).unwrap();
    let intermediate = emulator.pki_dir().join("intermediate.pem");
    let intermediate = intermediate.to_str().unwrap();
    let work = temp::dir();
    let doc = put(work.path(), "doc.json", &document(emulator.url(), "hint"));
    let doc = doc.to_str().unwrap();

    let out = run(&[
        "verify",
        doc,
        "--nonce",
        "hint",
        "--intermediate",
        intermediate,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is an intermediate, so") && stderr.contains("pass --root"),
        "{stderr}"
    );

    let trust_dir = temp::dir();
    let out = run(&[
        "trust",
        "add",
        intermediate,
        "--trust-dir",
        trust_dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("does not chain to a pinned root of any cloud: certificate")
            && stderr.contains("roots/<cloud>/"),
        "{stderr}"
    );
    assert!(!stderr.contains("germany"), "{stderr}");
}

/// `trust list | head`: a reader that stops reading ends the command quietly, as it ends
/// any filter in a pipeline; the read end is closed before the command writes.
#[test]
fn a_closed_standard_output_ends_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_imds-attest"))
        .args(["trust", "list"])
        .stdin(Stdio::null())
        .stdout(writer)
        .env_remove("IMDS_ATTEST_TRUST_DIR")
        .env("XDG_CONFIG_HOME", temp::dir().path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
}

/// `--root` means those roots only: an emulator root left in the default trust directory
/// (as `trust add` or an earlier trial leaves one) must not verify an emulator document
/// under `--root baltimore.pem`, and the verdicts name the trust sources that took part.
#[test]
fn given_roots_are_the_only_roots_even_beside_a_default_trust_directory() {
    let emulator_pki = temp::dir();
    let emulator = Background::start(Config::new(emulator_pki.path().to_path_buf())).unwrap();
    let pki = emulator.pki_dir();
    let config = temp::dir();
    let trust_dir = config.path().join("imds-attest/trust");
    let read = |name: &str| std::fs::read_to_string(pki.join(name)).unwrap();
    put(&trust_dir, "roots/public/emulator.pem", &read("root.pem"));
    put(
        &trust_dir,
        "intermediates/emulator.pem",
        &read("intermediate.pem"),
    );
    let work = temp::dir();
    let doc = put(work.path(), "doc.json", &document(emulator.url(), "narrow"));
    let baltimore = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../certs/public/roots/baltimore_cybertrust_root.pem"
    );
    let verify = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_imds-attest"))
            .args([
                "verify",
                doc.to_str().unwrap(),
                "--nonce",
                "narrow",
                "--json",
            ])
            .args(extra)
            .env_remove("IMDS_ATTEST_TRUST_DIR")
            .env("XDG_CONFIG_HOME", config.path())
            .output()
            .unwrap()
    };
    let json = |out: &Output| -> serde_json::Value { serde_json::from_slice(&out.stdout).unwrap() };

    // Nothing narrower asked for: the default directory takes part, and the verdict says so.
    let out = verify(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = trust_dir.display().to_string();
    assert_eq!(
        json(&out)["trust"],
        serde_json::json!([
            {"source": "builtin_roots"},
            {"source": "builtin_intermediates"},
            {"source": "trust_dir", "path": dir},
        ])
    );

    // --root narrows trust to that root: the directory is not read at all.
    let out = verify(&["--root", baltimore]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert_eq!(
        json(&out)["error"]["kind"],
        "untrusted_issuer",
        "{}",
        text(&out.stdout)
    );

    // The same through the variable naming the default directory.
    let out = Command::new(env!("CARGO_BIN_EXE_imds-attest"))
        .args([
            "verify",
            doc.to_str().unwrap(),
            "--nonce",
            "narrow",
            "--root",
            baltimore,
        ])
        .env("IMDS_ATTEST_TRUST_DIR", &trust_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));

    // An explicit directory beside --root may add intermediates, never a root of its own:
    // this one holds the emulator's root, refused before any check.
    let out = verify(&["--root", baltimore, "--trust-dir", &dir]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        json(&out)["error"]["kind"],
        "trust_file",
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("is a root of the trust directory, but roots were given"),
        "{}",
        text(&out.stdout)
    );
    // With only intermediates in it, the directory adds them beside the given root.
    std::fs::remove_dir_all(trust_dir.join("roots")).unwrap();
    let root = pki.join("root.pem");
    let out = verify(&["--root", root.to_str().unwrap(), "--trust-dir", &dir]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // The emulator's own root given: verified, and the text names that file as the only root.
    let root = pki.join("root.pem");
    let intermediate = pki.join("intermediate.pem");
    let out = Command::new(env!("CARGO_BIN_EXE_imds-attest"))
        .args(["verify", doc.to_str().unwrap(), "--nonce", "narrow"])
        .args(["--root", root.to_str().unwrap()])
        .args(["--intermediate", intermediate.to_str().unwrap()])
        .env_remove("IMDS_ATTEST_TRUST_DIR")
        .env("XDG_CONFIG_HOME", config.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let trust_lines: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("trust "))
        .take(3)
        .collect();
    assert_eq!(
        trust_lines,
        [
            format!("trust           root file {}", root.display()).as_str(),
            "                built-in intermediates",
            format!(
                "                intermediate file {}",
                intermediate.display()
            )
            .as_str(),
        ],
        "{stdout}"
    );

    // trust list labels a given file a file, never the directory it did not come from.
    let out = Command::new(env!("CARGO_BIN_EXE_imds-attest"))
        .args(["trust", "list", "--json", "--root", root.to_str().unwrap()])
        .env_remove("IMDS_ATTEST_TRUST_DIR")
        .env("XDG_CONFIG_HOME", config.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let roots: Vec<&serde_json::Value> = rows.iter().filter(|r| r["role"] == "root").collect();
    assert_eq!(roots.len(), 1, "{rows:?}");
    assert_eq!(roots[0]["source"], "file");
    assert_eq!(roots[0]["path"], root.display().to_string());
    assert!(rows.iter().all(|r| r["source"] != "directory"), "{rows:?}");
}
