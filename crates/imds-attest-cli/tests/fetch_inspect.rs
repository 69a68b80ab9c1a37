//! `imds-attest fetch` against the emulator over loopback, and `imds-attest inspect`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use imds_attest_testpki::temp::{self, TempDir};
use imds_emulator::{Background, Config, Faults};

struct Running {
    url: String,
    dir: PathBuf,
    _emulator: Background,
    // Last: the PKI folder goes once the emulator has stopped.
    _pki: TempDir,
}

fn start(faults: Faults) -> Running {
    let pki = temp::dir();
    let emulator = Background::start(Config {
        faults,
        ..Config::new(pki.path().to_path_buf())
    })
    .unwrap();
    Running {
        url: emulator.url().to_owned(),
        dir: emulator.pki_dir().to_path_buf(),
        _emulator: emulator,
        _pki: pki,
    }
}

impl Running {
    fn trust(&self) -> Vec<String> {
        vec![
            "--root".into(),
            self.dir.join("root.pem").display().to_string(),
            "--intermediate".into(),
            self.dir.join("intermediate.pem").display().to_string(),
        ]
    }
}

fn run(args: &[String], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imds-attest"));
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("IMDS_ENDPOINT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn fetch_verify_prints_the_document_and_says_it_verified() {
    let r = start(Faults::default());
    let mut args = strings(&["fetch", "--endpoint", &r.url, "--verify"]);
    args.extend(r.trust());
    let out = run(&args, &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["encoding"], "pkcs7");
    let nonce_line = stderr
        .lines()
        .find(|l| l.starts_with("imds-attest: nonce "))
        .unwrap();
    assert_eq!(
        nonce_line.len(),
        "imds-attest: nonce ".len() + 32,
        "{stderr}"
    );
    assert!(
        stderr
            .contains("imds-attest: verified: vmId 02aab8a4-74ef-476e-8182-f6d2ba4166a6 in public"),
        "{stderr}"
    );
}

#[test]
fn fetch_verify_fetches_the_missing_intermediate_as_verify_does() {
    let r = start(Faults::default());
    let root = r.dir.join("root.pem").display().to_string();
    let addr = r.url.trim_start_matches("http://").trim_end_matches('/');
    let base = strings(&["fetch", "--endpoint", &r.url, "--verify", "--root", &root]);

    let out = run(&base, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("with --fetch-intermediates"), "{stderr}");

    let mut args = base.clone();
    args.extend(strings(&["--fetch-intermediates", "--aia-allow", addr]));
    let out = run(&args, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "imds-attest: fetched intermediate {}",
            r.url.trim_end_matches('/')
        )),
        "{stderr}"
    );
    assert!(stderr.contains("imds-attest: verified: "), "{stderr}");

    let out = run(
        &strings(&["fetch", "--endpoint", &r.url, "--fetch-intermediates"]),
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--fetch-intermediates is for --verify"),
        "{stderr}"
    );
}

#[test]
fn fetch_ignores_proxy_variables_and_reads_the_endpoint_from_the_environment() {
    let r = start(Faults::default());
    let dead = "http://127.0.0.1:9";
    let env = [
        ("IMDS_ENDPOINT", r.url.as_str()),
        ("HTTP_PROXY", dead),
        ("http_proxy", dead),
        ("HTTPS_PROXY", dead),
        ("ALL_PROXY", dead),
        ("NO_PROXY", ""),
    ];
    let out = run(
        &strings(&["fetch", "--nonce", "proxytest", "--timeout", "10"]),
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("{\"encoding\":\"pkcs7\""), "{stdout}");
    assert!(
        stdout.ends_with("\"}\n"),
        "the document ends its line, once: {stdout:?}"
    );
    assert_eq!(text(&out.stderr), "", "a given nonce is not printed");
}

#[test]
fn fetch_writes_the_file_and_reports_retries() {
    let r = start(Faults {
        fail_status: Some(503),
        fail_count: 1,
        ..Faults::default()
    });
    let file = r.dir.join("doc.json");
    let out = run(
        &strings(&[
            "fetch",
            "--endpoint",
            &r.url,
            "--nonce",
            "n1",
            "--out",
            &file.display().to_string(),
        ]),
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout), "");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.ends_with('}'), "--out writes the body as returned");
    assert!(
        stderr.starts_with("imds-attest: attempt 1 failed: IMDS answered 503"),
        "{stderr}"
    );
    let mut verify = strings(&["verify", &file.display().to_string(), "--nonce", "n1"]);
    verify.extend(r.trust());
    assert_eq!(run(&verify, &[]).status.code(), Some(0));
}

#[test]
fn fetch_exit_statuses() {
    let r = start(Faults::default());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            strings(&["fetch", "--endpoint", &r.url, "--nonce", "bad nonce"]),
            2,
            "is not 1 to 32 ASCII letters and digits",
        ),
        (
            strings(&["fetch", "--endpoint", &dead, "--timeout", "1"]),
            1,
            "imds-attest: fetch failed: cannot fetch from IMDS: ",
        ),
        (
            strings(&["fetch", "--endpoint", &r.url, "--api-version", "2001-01-01"]),
            1,
            "imds-attest: fetch failed: IMDS answered 400: ",
        ),
        (
            strings(&["fetch", "--endpoint", &r.url, "--verify"]),
            1,
            "imds-attest: rejected: certificate \"CN=metadata.azure.com,O=Microsoft Corporation\" is issued by",
        ),
    ];
    for (args, code, needle) in cases {
        let out = run(&args, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn inspect_shows_everything_marked_unverified() {
    let out = run(
        &strings(&["inspect", &common::real("taskcluster_2025_rsatls07.json")]),
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("UNVERIFIED: nothing below has been checked"),
        "{stdout}"
    );
    for needle in [
        "\"vmId\": \"ddc87bd2-3ebb-43dc-92a9-90b104cd9527\"",
        "certificate 1 (signer)",
        "  issuer      CN=Microsoft Azure RSA TLS Issuing CA 07,O=Microsoft Corporation,C=US",
        "  valid       2025-10-25T13:58:46Z to 2026-04-23T13:58:46Z",
        "  names       eastus.metadata.azure.com, metadata.azure.com",
        "  caIssuers   http://www.microsoft.com/pkiops/certs/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2007%20-%20xsign.crt",
        "  certs/public/intermediates/microsoft_azure_rsa_tls_issuing_ca_07_xsign.pem -> certs/public/roots/digicert_global_root_g2.pem",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
}

#[test]
fn inspect_json_and_exit_statuses() {
    let out = run(
        &strings(&[
            "inspect",
            "--json",
            &common::real("raw/coder_rsa_2024_rsatls08.der"),
        ]),
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["content"]["nonce"], "20240422-233245");
    assert_eq!(v["certificates"][0]["signer"], true);
    assert_eq!(
        v["certificates"][0]["sha256"],
        "8730E7AC2615F16CBA10AF9AC1044F41177DA31E6CB84DA08B38D2BC88920061"
    );
    let chains = v["possibleChains"].as_array().unwrap();
    assert_eq!(chains.len(), 2, "{chains:?}");

    let out = run(&strings(&["inspect", "/nonexistent"]), &[]);
    assert_eq!(out.status.code(), Some(2));
    let garbage = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/malformed/truncated-half.bin");
    let out = run(&strings(&["inspect", &garbage.display().to_string()]), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("imds-attest: cannot inspect: malformed PKCS#7"));
}
