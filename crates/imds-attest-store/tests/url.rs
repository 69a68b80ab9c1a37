//! Store URLs: every accepted form (seen through `describe`) and every refused one with its
//! exact reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use imds_attest_store::{open, StoreError, StoreErrorKind, UrlReason};
use imds_attest_testpki::temp;

#[test]
fn accepted_urls_open_and_describe_without_the_password() {
    let dir = temp::dir();
    let db = dir.path().join("x.db").display().to_string();
    let cases: &[(String, String)] = &[
        ("memory:".into(), "memory:".into()),
        (format!("sqlite:{db}"), format!("sqlite:{db}")),
        (format!("sqlite:{db}?sync=normal"), format!("sqlite:{db}")),
        (
            format!("sqlite:{db}?sync=full"),
            format!("sqlite:{db}?sync=full"),
        ),
        ("redis://cache:6380/2".into(), "redis://cache:6380/2".into()),
        ("redis://cache".into(), "redis://cache:6379/0".into()),
        ("redis://cache/".into(), "redis://cache:6379/0".into()),
        ("redis://cache:6379".into(), "redis://cache:6379/0".into()),
        ("redis://u:p@cache:1/0".into(), "redis://u@cache:1/0".into()),
        ("redis://:p@cache/0".into(), "redis://cache:6379/0".into()),
        ("redis://u@cache/0".into(), "redis://u@cache:6379/0".into()),
        (
            "redis://u:p@ss@cache/0".into(),
            "redis://u@cache:6379/0".into(),
        ),
        (
            "redis://u%40x:p%2F@cache/0".into(),
            "redis://u%40x@cache:6379/0".into(),
        ),
        ("redis://[::1]:7000/3".into(), "redis://[::1]:7000/3".into()),
        ("redis://[::1]".into(), "redis://[::1]:6379/0".into()),
        (
            "redis://cache/0?prefix=lic:".into(),
            "redis://cache:6379/0?prefix=lic:".into(),
        ),
        (
            "redis://cache/0?prefix=imds-attest:".into(),
            "redis://cache:6379/0".into(),
        ),
        (
            "redis://cache/0?timeout_ms=250".into(),
            "redis://cache:6379/0?timeout_ms=250".into(),
        ),
        (
            "redis://cache/0?timeout_ms=250&prefix=a.b-c_d".into(),
            "redis://cache:6379/0?prefix=a.b-c_d&timeout_ms=250".into(),
        ),
        // '/', '?' and '@' unencoded in a password: the userinfo ends at the last '@'.
        (
            "redis://:Sup3r/S3cret@cache:6379/0".into(),
            "redis://cache:6379/0".into(),
        ),
        (
            "redis://u:a/b?c@d@cache/1?prefix=p:".into(),
            "redis://u@cache:6379/1?prefix=p:".into(),
        ),
        (
            "rediss://u:p@cache.redis.cache.windows.net:6380/0".into(),
            "rediss://u@cache.redis.cache.windows.net:6380/0".into(),
        ),
    ];
    for (url, described) in cases {
        let store = open(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(&store.describe(), described, "{url}");
    }
}

#[test]
fn refused_urls_name_their_reason() {
    let value = |name, value: &str, expected| UrlReason::ParameterValue {
        name,
        value: value.into(),
        expected,
    };
    let prefix = "1 to 64 ASCII letters, digits and :_.-";
    let cases = [
        ("", UrlReason::NoScheme),
        ("/var/lib/x.db", UrlReason::NoScheme),
        (":memory:", UrlReason::NoScheme),
        (
            "postgres://db/x",
            UrlReason::UnknownScheme {
                scheme: "postgres".into(),
            },
        ),
        (
            "Memory:",
            UrlReason::UnknownScheme {
                scheme: "Memory".into(),
            },
        ),
        ("memory:x", UrlReason::MemoryArguments),
        ("memory:?capacity=3", UrlReason::MemoryArguments),
        ("sqlite:", UrlReason::MissingPath),
        ("sqlite:?sync=full", UrlReason::MissingPath),
        ("sqlite:///var/lib/x.db", UrlReason::SqliteAuthority),
        (
            "sqlite:x.db?sync=off",
            value("sync", "off", "normal or full"),
        ),
        (
            "sqlite:x.db?sync=full&sync=full",
            UrlReason::DuplicateParameter { name: "sync" },
        ),
        (
            "sqlite:x.db?mode=ro",
            UrlReason::UnknownParameter {
                name: "mode".into(),
            },
        ),
        ("redis:cache:6379", UrlReason::NoAuthority),
        ("redis://", UrlReason::MissingHost),
        ("redis://:6379/0", UrlReason::MissingHost),
        ("redis://u:p@/0", UrlReason::MissingHost),
        ("redis://[::1/0", UrlReason::MissingHost),
        ("redis://cache:0/0", UrlReason::Port { found: "0".into() }),
        (
            "redis://cache:65536/0",
            UrlReason::Port {
                found: "65536".into(),
            },
        ),
        (
            "redis://cache:+80/0",
            UrlReason::Port {
                found: "+80".into(),
            },
        ),
        ("redis://cache:/0", UrlReason::Port { found: "".into() }),
        (
            "redis://cache:http/0",
            UrlReason::Port {
                found: "http".into(),
            },
        ),
        ("redis://[::1]x/0", UrlReason::Port { found: "x".into() }),
        (
            "redis://cache/x",
            UrlReason::Database { found: "/x".into() },
        ),
        (
            "redis://cache/-1",
            UrlReason::Database {
                found: "/-1".into(),
            },
        ),
        (
            "redis://cache/65536",
            UrlReason::Database {
                found: "/65536".into(),
            },
        ),
        (
            "redis://cache/0/1",
            UrlReason::Database {
                found: "/0/1".into(),
            },
        ),
        ("redis://u:p%zz@cache/0", UrlReason::PercentEncoding),
        ("redis://u:p%4@cache/0", UrlReason::PercentEncoding),
        ("redis://u:%ff@cache/0", UrlReason::PercentEncoding),
        ("redis://cache/0?prefix=", value("prefix", "", prefix)),
        ("redis://cache/0?prefix=a b", value("prefix", "a b", prefix)),
        (
            "redis://cache/0?prefix=a{b}",
            value("prefix", "a{b}", prefix),
        ),
        (
            "redis://cache/0?prefix=a&prefix=b",
            UrlReason::DuplicateParameter { name: "prefix" },
        ),
        (
            "redis://cache/0?timeout_ms=0",
            value("timeout_ms", "0", "milliseconds from 1 to 60000"),
        ),
        (
            "redis://cache/0?timeout_ms=60001",
            value("timeout_ms", "60001", "milliseconds from 1 to 60000"),
        ),
        (
            "redis://cache/0?timeout_ms=1s",
            value("timeout_ms", "1s", "milliseconds from 1 to 60000"),
        ),
        (
            "redis://cache/0?db=1",
            UrlReason::UnknownParameter { name: "db".into() },
        ),
        ("rediss:/cache", UrlReason::NoAuthority),
    ];
    for (url, reason) in cases {
        let refused = open(url).unwrap_err();
        // A URL that cannot be parsed is not an unavailable store: retrying will not help.
        assert_eq!(refused.kind(), StoreErrorKind::StoreUrl, "{url:?}");
        assert_eq!(refused, StoreError::Url { reason }, "{url:?}");
    }
    let long = format!("redis://cache/0?prefix={}", "p".repeat(65));
    assert_eq!(
        open(&long).unwrap_err(),
        StoreError::Url {
            reason: value("prefix", &"p".repeat(65), prefix)
        }
    );
}

#[test]
fn refusals_never_show_the_password() {
    for url in [
        "redis://user:hunter2@cache:http/0",
        "redis://user:hunter2@cache/x",
        "user:hunter2@cache",
    ] {
        let err = open(url).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{url}: {err}");
        assert!(!format!("{err:?}").contains("hunter2"), "{url}: {err:?}");
    }
}

/// A password holding '/' or '?' was cut there, its second half shown as a port or database
/// (`port "Sup3rS3cret" is not a number`): now no refusal and no store shows any part of it.
#[test]
fn a_password_with_a_slash_or_question_mark_is_never_shown() {
    let parts = ["Sup3r", "S3cret", "Xyzzy"];
    for url in [
        "redis://:Sup3r/S3cret@host:6379/0",
        "redis://:Sup3r/S3cret@host:http/0",
        "redis://:Sup3r/S3cret@host:6379/x",
        "redis://:Sup3r?S3cret@host:6379/0",
        "redis://:Sup3r?S3cret@host:6379/0?prefix=!",
        "redis://user:Sup3r/S3cret/Xyzzy@host:99999/0",
        "rediss://:Sup3r/S3cret@/0",
    ] {
        let shown = match open(url) {
            Ok(store) => format!("{} {store:?}", store.describe()),
            Err(err) => format!("{err} {err:?}"),
        };
        for part in parts {
            assert!(!shown.contains(part), "{url}: {shown}");
        }
    }
    assert_eq!(
        open("redis://:Sup3r/S3cret@host:http/0").unwrap_err(),
        StoreError::Url {
            reason: UrlReason::Port {
                found: "http".to_owned()
            }
        }
    );
}
