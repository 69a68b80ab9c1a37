//! The config fails closed: every number in its range, every file read up to a cap, and a
//! bearer token accepted whatever the case of its scheme.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{client, start};
use imds_attest_service::{Config, ServiceError};
use imds_attest_testpki::temp::{self, TempDir};
use imds_attest_testpki::{CertSpec, Issued};

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The error `Config::load` gives, with its kind and its one-line message.
fn refused(file: &Path) -> (String, String, String) {
    match Config::load(file) {
        Ok(_) => panic!("{} was accepted", file.display()),
        Err(e @ ServiceError::Config { .. }) => {
            let ServiceError::Config { key, .. } = &e else {
                unreachable!()
            };
            (e.kind().to_owned(), key.clone(), e.to_string())
        }
        Err(e) => panic!("{}: not a config error: {e}", file.display()),
    }
}

/// `max_concurrent_requests = 9223372036854775807` used to load, then panic in the
/// semaphore at startup. Every number now has a range, and a number outside it is a
/// `config` error naming the key, its line and the range.
#[test]
fn every_number_out_of_its_range_is_refused_with_its_key_line_and_range() {
    let dir = temp::dir();
    let cases: [(&str, &str, i64, &str); 14] = [
        ("limits", "max_connections", 0, "1 to 65536"),
        ("limits", "max_connections", 65_537, "1 to 65536"),
        ("limits", "max_connections", -1, "1 to 65536"),
        ("limits", "max_concurrent_requests", i64::MAX, "1 to 65536"),
        ("limits", "max_concurrent_requests", 0, "1 to 65536"),
        ("limits", "max_concurrent_requests", 65_537, "1 to 65536"),
        ("limits", "max_body_bytes", 0, "1 to 16777216"),
        ("limits", "max_body_bytes", -1, "1 to 16777216"),
        ("limits", "max_body_bytes", 16_777_217, "1 to 16777216"),
        ("limits", "request_timeout_seconds", 0, "1 to 3600"),
        ("limits", "request_timeout_seconds", 3_601, "1 to 3600"),
        ("challenge", "ttl_seconds", 0, "1 to 86400"),
        ("challenge", "ttl_seconds", 86_401, "1 to 86400"),
        ("challenge", "ttl_seconds", -5, "1 to 86400"),
    ];
    for (section, key, value, range) in cases {
        let file = write(
            &dir,
            "s.toml",
            &format!("# a comment\n[{section}]\n\n{key} = {value}\n"),
        );
        let (kind, at, message) = refused(&file);
        assert_eq!(kind, "config", "{message}");
        assert_eq!(at, format!("{section}.{key}"), "{message}");
        assert!(
            message.contains(&format!(
                ": {section}.{key}: line 4: {value} is out of range; give a whole number from \
                 {range} (default "
            )),
            "{message}"
        );
    }
}

/// The ends of each range are accepted.
#[test]
fn the_ends_of_every_range_are_accepted() {
    let dir = temp::dir();
    for (low, high) in [(true, false), (false, true)] {
        let pick = |lo: u64, hi: u64| if low && !high { lo } else { hi };
        let file = write(
            &dir,
            "s.toml",
            &format!(
                "listen = \"127.0.0.1:0\"\n[challenge]\nttl_seconds = {}\n[limits]\n\
                 max_body_bytes = {}\nrequest_timeout_seconds = {}\nmax_concurrent_requests = {}\n\
                 max_connections = {}\n",
                pick(1, 86_400),
                pick(1, 16 * 1024 * 1024),
                pick(1, 3_600),
                pick(1, 65_536),
                pick(1, 65_536),
            ),
        );
        let config = Config::load(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.max_concurrent_requests,
            usize::try_from(pick(1, 65_536)).unwrap()
        );
        assert_eq!(config.ttl, Duration::from_secs(pick(1, 86_400)));
        assert_eq!(
            config.max_connections,
            usize::try_from(pick(1, 65_536)).unwrap()
        );
    }
}

/// The config file, the tokens file and the TLS files are read up to 1 MiB: naming
/// `/dev/zero` is a quick `config` error naming the key, not gigabytes read.
#[test]
fn files_the_config_names_are_read_at_most_a_mebibyte() {
    let dir = temp::dir();
    let issued = Issued::new(&CertSpec::ca("server", 0), None);
    let cert = write(&dir, "server.pem", &issued.pem());
    let key = write(&dir, "server.key", &issued.key_pem());
    // Just past the cap, and not endless: the old reader took it whole (as one token).
    let big = dir.path().join("big.txt");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(imds_attest_setup::MAX_FILE_BYTES + 1)
        .unwrap();
    let cases: Vec<(PathBuf, &str, String)> = vec![
        (PathBuf::from("/dev/zero"), "(file)", "/dev/zero".into()),
        (
            write(&dir, "tokens.toml", "[auth]\ntokens_file = \"/dev/zero\"\n"),
            "auth.tokens_file",
            "/dev/zero".into(),
        ),
        (
            write(
                &dir,
                "big-tokens.toml",
                &format!("[auth]\ntokens_file = {big:?}\n"),
            ),
            "auth.tokens_file",
            big.display().to_string(),
        ),
        (
            write(
                &dir,
                "cert.toml",
                &format!("[tls]\ncert = \"/dev/zero\"\nkey = {key:?}\n"),
            ),
            "tls.cert",
            "/dev/zero".into(),
        ),
        (
            write(
                &dir,
                "key.toml",
                &format!("[tls]\ncert = {cert:?}\nkey = \"/dev/zero\"\n"),
            ),
            "tls.key",
            "/dev/zero".into(),
        ),
        (
            write(
                &dir,
                "aia.toml",
                "[trust]\nfetch_intermediates = true\naia_tls_roots = [\"/dev/zero\"]\n",
            ),
            "trust.aia_tls_roots",
            "/dev/zero".into(),
        ),
    ];
    for (file, expected_key, named) in cases {
        let started = Instant::now();
        let (kind, at, message) = refused(&file);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{}: {:?}",
            file.display(),
            started.elapsed()
        );
        assert_eq!(
            (kind.as_str(), at.as_str()),
            ("config", expected_key),
            "{message}"
        );
        assert!(
            message.contains(&format!("{named} is larger than 1048576 bytes")),
            "{message}"
        );
    }
    // The same files within the cap are read as before.
    let fine = write(
        &dir,
        "fine.toml",
        &format!(
            "[tls]\ncert = {cert:?}\nkey = {key:?}\n[auth]\ntokens_file = {:?}\n",
            write(&dir, "ok.txt", "a-token\n")
        ),
    );
    Config::load(&fine).unwrap_or_else(|e| panic!("{e}"));
}

/// `Authorization: bearer <token>` is the same credential as `Bearer <token>` (RFC 7235:
/// the scheme is case-insensitive); a wrong token is still refused.
#[test]
fn the_bearer_scheme_is_accepted_in_any_case() {
    let dir = temp::dir();
    let tokens = write(&dir, "tokens.txt", "right-token\n");
    let file = write(
        &dir,
        "s.toml",
        &format!("listen = \"127.0.0.1:0\"\n[auth]\ntokens_file = {tokens:?}\n"),
    );
    let service = start(&file);
    let url = format!("{}/v1/challenges", service.url);
    let status = |authorization: &str| {
        service.runtime.block_on(async {
            client()
                .post(&url)
                .header("Authorization", authorization)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    for scheme in ["Bearer", "bearer", "BEARER", "bEARER"] {
        assert_eq!(status(&format!("{scheme} right-token")), 201, "{scheme}");
        assert_eq!(status(&format!("{scheme} right-tokem")), 401, "{scheme}");
    }
    assert_eq!(status("Basic right-token"), 401);
}
