//! `[trust] fetch_intermediates`, `aia_allow` and `dir` over real HTTP on loopback: a missing
//! intermediate fetched from the leaf's AIA URL (once), a trust-directory intermediate used,
//! bad values refused at startup by key, and the service following the emulator's rotation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::{Path, PathBuf};

use common::{client, post, start, Running, World};
use imds_attest_service::{Config, ServiceError};
use imds_attest_testpki::loopback::{localhost_cert, AiaServer, Route};
use imds_attest_testpki::temp::{self, TempDir};
use imds_attest_testpki::{claims_json, imds_response, CertSpec, DocSpec, Issued};
use time::OffsetDateTime;

const ISSUING: &str = "Test Azure RSA TLS Issuing CA 07";
const AIA_PATH: &str = "/pki/issuing.cer";

/// A root, the issuing CA it signed (in no config) and a leaf valid now whose AIA caIssuers
/// URL is `AIA_PATH` on `server`, serving the issuing CA there.
struct Pki {
    issuing: Issued,
    leaf: Issued,
    server: AiaServer,
    dir: TempDir,
}

impl Pki {
    fn new() -> Pki {
        Pki::with_server(AiaServer::start())
    }

    fn with_server(server: AiaServer) -> Pki {
        let root = Issued::new(&CertSpec::ca("Test Global Root G2", 0), None);
        let issuing = Issued::new(&CertSpec::ca(ISSUING, 1), Some(&root));
        let now = OffsetDateTime::now_utc();
        let leaf_spec = CertSpec {
            not_before: now - time::Duration::days(1),
            not_after: now + time::Duration::days(30),
            ..CertSpec::imds_leaf()
        };
        let leaf = Issued::with_aia(&leaf_spec, Some(&issuing), Some(&server.url(AIA_PATH)));
        server.serve(AIA_PATH, Route::ok(issuing.cert.to_der().unwrap()));
        let dir = temp::dir();
        std::fs::write(dir.path().join("root.pem"), root.pem()).unwrap();
        Pki {
            issuing,
            leaf,
            server,
            dir,
        }
    }

    /// A config trusting the root only, with `trust` appended to its `[trust]`.
    fn config(&self, name: &str, trust: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let text = format!("listen = \"127.0.0.1:0\"\n[trust]\nroots = [\"root.pem\"]\n{trust}\n");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn fetching(&self, name: &str, extra: &str) -> PathBuf {
        let allow = self.server.authority();
        self.config(
            name,
            &format!("fetch_intermediates = true\naia_allow = [\"{allow}\"]\n{extra}"),
        )
    }

    /// A document for a fresh challenge of `service`, carrying only the leaf, as IMDS does.
    fn document(&self, service: &Running) -> String {
        let nonce = service.challenge(None);
        let claims = claims_json(&nonce, OffsetDateTime::now_utc());
        imds_response(&DocSpec::imds(&claims).sign(&self.leaf))
    }

    fn url(&self) -> String {
        self.server.url(AIA_PATH)
    }
}

fn config_error(path: &Path) -> ServiceError {
    match Config::load(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e,
    }
}

#[test]
fn fetches_the_missing_intermediate_names_its_url_and_asks_once() {
    let pki = Pki::new();
    let service = start(&pki.fetching("s.toml", ""));

    let first = service.verify(pki.document(&service), None);
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["verified"], true);
    assert_eq!(
        first.body["fetchedIntermediates"],
        serde_json::json!([pki.url()])
    );
    assert_eq!(pki.server.hits(), 1);

    let second = service.verify(pki.document(&service), None);
    assert_eq!(second.status, 200, "{second:?}");
    assert_eq!(
        pki.server.hits(),
        1,
        "the second verification is served from the cache"
    );
}

/// A fetch waits on the network: with the memory store too, a verification that may fetch
/// runs on the blocking pool, so slow AIA answers never hold the service's two workers (here
/// `/healthz` answers while four verifications wait on a server that answers in 3 s).
#[test]
fn slow_fetches_do_not_hold_the_async_workers() {
    let pki = Pki::new();
    pki.server.serve(
        AIA_PATH,
        Route {
            delay: std::time::Duration::from_secs(3),
            ..Route::ok(pki.issuing.cert.to_der().unwrap())
        },
    );
    // 30 s a request: each fetch may take 7.5 s, more than the server's 3 s.
    let service = start(&pki.fetching("s.toml", "[limits]\nrequest_timeout_seconds = 30"));
    let documents: Vec<String> = (0..4).map(|_| pki.document(&service)).collect();
    let verify_url = format!("{}/v1/verify", service.url);
    let health_url = format!("{}/healthz", service.url);
    let client_runtime = tokio::runtime::Runtime::new().unwrap();
    client_runtime.block_on(async {
        let http = client();
        let verifies: Vec<_> = documents
            .into_iter()
            .map(|doc| {
                let (http, url) = (http.clone(), verify_url.clone());
                tokio::spawn(async move { post(&http, &url, doc, None).await })
            })
            .collect();
        // Both workers would be taken by now if verifications ran on them.
        for _ in 0..200 {
            if pki.server.hits() >= 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(
            pki.server.hits() >= 2,
            "fewer than two fetches started within 2 s: verifications do not run side by side \
             (a fetch holding an async worker?)"
        );
        let health = common::get(&http, &health_url).await;
        assert_eq!(health.status, 200);
        assert!(
            verifies.iter().all(|v| !v.is_finished()),
            "/healthz waited for a verification: a fetch held an async worker"
        );
        for v in verifies {
            let answer = v.await.unwrap();
            assert_eq!(answer.status, 200, "{answer:?}");
        }
    });
}

/// The four fetches a verification may make fit in its request's time: each gets a quarter of
/// `request_timeout_seconds` (here 2.5 s of 10 s), so a verification never outlives its 408
/// and redeems a nonce after the client was told it timed out.
#[test]
fn each_fetch_gets_a_quarter_of_the_request_timeout() {
    let pki = Pki::new();
    pki.server.serve(
        AIA_PATH,
        Route {
            delay: std::time::Duration::from_secs(3),
            ..Route::ok(pki.issuing.cert.to_der().unwrap())
        },
    );
    let service = start(&pki.fetching("s.toml", ""));
    let answer = service.verify(pki.document(&service), None);
    assert_eq!(answer.status, 422, "{answer:?}");
    assert_eq!(answer.kind(), "intermediate_fetch");
    let message = answer.body["error"]["message"].as_str().unwrap();
    assert!(
        message.ends_with("no complete answer within 2500 ms"),
        "{message}"
    );
}

#[test]
fn without_fetch_intermediates_a_missing_intermediate_is_422_untrusted_issuer() {
    let pki = Pki::new();
    let service = start(&pki.config("s.toml", ""));
    let answer = service.verify(pki.document(&service), None);
    assert_eq!((answer.status, answer.kind()), (422, "untrusted_issuer"));
    let message = answer.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(ISSUING), "{message}");
    assert_eq!(pki.server.hits(), 0);
}

#[test]
fn a_trust_directory_intermediate_completes_the_chain_without_a_fetch() {
    let pki = Pki::new();
    let trust = pki.dir.path().join("trust");
    std::fs::create_dir_all(trust.join("intermediates")).unwrap();
    std::fs::write(trust.join("intermediates/issuing.pem"), pki.issuing.pem()).unwrap();
    let service = start(&pki.config("s.toml", "dir = \"trust\""));
    let answer = service.verify(pki.document(&service), None);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        answer.body.get("fetchedIntermediates").is_none(),
        "{answer:?}"
    );
    assert_eq!(pki.server.hits(), 0);
}

#[test]
fn a_fetched_intermediate_is_kept_in_the_trust_directory_for_the_next_start() {
    let pki = Pki::new();
    std::fs::create_dir_all(pki.dir.path().join("trust")).unwrap();
    let config = pki.fetching("s.toml", "dir = \"trust\"");
    {
        let service = start(&config);
        let answer = service.verify(pki.document(&service), None);
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let kept: Vec<_> = std::fs::read_dir(pki.dir.path().join("trust/fetched"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");

    let restarted = start(&config);
    let answer = restarted.verify(pki.document(&restarted), None);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        pki.server.hits(),
        1,
        "the restarted service read fetched/ instead"
    );
}

#[test]
fn a_bad_file_in_the_trust_directory_stops_startup_naming_it() {
    let pki = Pki::new();
    let trust = pki.dir.path().join("trust");
    std::fs::create_dir_all(trust.join("intermediates")).unwrap();
    // A leaf is not an intermediate.
    std::fs::write(trust.join("intermediates/leaf.pem"), pki.leaf.pem()).unwrap();
    let e = config_error(&pki.config("s.toml", "dir = \"trust\""));
    assert!(e.is_config(), "{e}");
    let line = e.to_string();
    assert!(line.contains("trust.dir: "), "{line}");
    assert!(line.contains("leaf.pem"), "{line}");
    assert_eq!(line.lines().count(), 1, "{line}");
}

#[test]
fn bad_trust_values_stop_startup_with_one_line_naming_the_key() {
    let pki = Pki::new();
    let cases = [
        (
            "aia_allow = [\"127.0.0.1:1\"]",
            "trust.aia_allow: set without fetch_intermediates = true",
        ),
        (
            "fetch_intermediates = true\naia_allow = []",
            "trust.aia_allow: an empty list would allow no host",
        ),
        (
            "fetch_intermediates = true\naia_allow = [\"user@host\"]",
            "trust.aia_allow: \"user@host\":",
        ),
        (
            "fetch_intermediates = true\naia_allow = [\"host:99999\"]",
            "trust.aia_allow: \"host:99999\":",
        ),
        (
            "fetch_intermediates = \"yes\"",
            "line 4 (fetch_intermediates): invalid type",
        ),
        ("dir = \"absent\"", "trust.dir: "),
        (
            "aia_tls_roots = [\"root.pem\"]",
            "trust.aia_tls_roots: set without fetch_intermediates = true",
        ),
        (
            "fetch_intermediates = true\naia_tls_roots = [\"absent.pem\"]",
            "trust.aia_tls_roots: cannot read",
        ),
        ("aia_allowed = []", "unknown field `aia_allowed`"),
    ];
    for (trust, expected) in cases {
        let e = config_error(&pki.config("bad.toml", trust));
        let line = e.to_string();
        assert!(e.is_config(), "{trust}: {line}");
        assert!(line.contains(expected), "{trust}: {line}");
        assert_eq!(line.lines().count(), 1, "{trust}: {line}");
    }
}

#[test]
fn fetches_over_https_with_a_configured_tls_root() {
    let tls_root = Issued::new(&CertSpec::ca("Test Loopback TLS Root", 7), None);
    let https = AiaServer::start_tls(&localhost_cert(&tls_root, 8), &[]);
    let pki = Pki::with_server(https);
    std::fs::write(pki.dir.path().join("tls-root.pem"), tls_root.pem()).unwrap();

    let untrusted = start(&pki.fetching("s.toml", ""));
    let answer = untrusted.verify(pki.document(&untrusted), None);
    assert_eq!((answer.status, answer.kind()), (422, "intermediate_fetch"));
    let message = answer.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the TLS handshake with localhost:"),
        "{message}"
    );
    assert_eq!(pki.server.hits(), 0);

    let service = start(&pki.fetching("t.toml", "aia_tls_roots = [\"tls-root.pem\"]"));
    let answer = service.verify(pki.document(&service), None);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.body["fetchedIntermediates"],
        serde_json::json!([pki.url()])
    );
    assert!(pki.url().starts_with("https://localhost:"));
    assert_eq!(pki.server.hits(), 1);
}

/// The product's promise: a service started before the emulator rotates its issuing CA keeps
/// verifying after it, fetching the new CA from the new leaf's AIA URL.
#[test]
fn a_service_started_before_a_rotation_keeps_verifying_after_it() {
    let world = World::new();
    let emulator = world.emulator.url().trim_end_matches('/').to_owned();
    let authority = emulator.trim_start_matches("http://").to_owned();
    let config = world.dir.path().join("s.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n[trust]\nroots = [{:?}]\nfetch_intermediates = true\n\
             aia_allow = [\"{authority}\"]\n",
            world.emulator.pki_dir().join("root.pem"),
        ),
    )
    .unwrap();
    let service = start(&config);

    let before = service.verify(world.document(&service.challenge(None)), None);
    assert_eq!(before.status, 200, "{before:?}");
    let url = before.body["fetchedIntermediates"][0].as_str().unwrap();
    assert!(url.ends_with("/pki/issuing-1.cer"), "{url}");

    let rotated = service
        .runtime
        .block_on(async { post(&client(), &format!("{emulator}/admin/rotate"), "", None).await });
    assert_eq!(rotated.status, 200, "{rotated:?}");

    let after = service.verify(world.document(&service.challenge(None)), None);
    assert_eq!(after.status, 200, "{after:?}");
    let url = after.body["fetchedIntermediates"][0].as_str().unwrap();
    assert!(url.ends_with("/pki/issuing-2.cer"), "{url}");
    assert_ne!(
        before.body["signer"]["issuer"],
        after.body["signer"]["issuer"]
    );
}

#[test]
fn the_root_alone_does_not_verify_an_emulator_document_without_fetching() {
    let world = World::new();
    let config = world.dir.path().join("s.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n[trust]\nroots = [{:?}]\n",
            world.emulator.pki_dir().join("root.pem"),
        ),
    )
    .unwrap();
    let service = start(&config);
    let answer = service.verify(world.document(&service.challenge(None)), None);
    assert_eq!((answer.status, answer.kind()), (422, "untrusted_issuer"));
}
