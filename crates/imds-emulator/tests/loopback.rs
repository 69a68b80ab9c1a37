//! The IMDS client and the emulator together, over real loopback HTTP on an ephemeral port.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use imds_attest::imds::{fetch_blocking, FetchError, FetchOptions, FetchReason, Retry};
use imds_attest::{
    AttestedDocument, Base64Reason, Cloud, Error, ErrorKind, NonceCheck, Policy, TrustStore,
    Verifier,
};
use imds_emulator::{Faults, VmIdentity};
use serde_json::Value;

mod common;
use common::{edited, start, MD};

fn fetch(options: &FetchOptions) -> (Result<imds_attest::imds::Fetched, FetchError>, Vec<Retry>) {
    let mut retries = Vec::new();
    let result = fetch_blocking(options, |retry| retries.push(retry.clone()));
    (result, retries)
}

#[test]
fn fetch_then_verify_succeeds_with_the_emulator_trust() {
    let r = start(|_| {});
    let options = r.with_nonce("abc123");
    let (fetched, retries) = fetch(&options);
    let fetched = fetched.unwrap();
    assert!(retries.is_empty());
    assert_eq!(
        (
            fetched.nonce.as_str(),
            fetched.nonce_generated,
            fetched.attempts
        ),
        ("abc123", false, 1)
    );
    let doc = AttestedDocument::parse(fetched.body.as_bytes()).unwrap();
    let verified = Verifier::new(r.trust(), Policy::default())
        .verify(
            &doc,
            NonceCheck::Exact("abc123"),
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    assert_eq!(verified.cloud(), Cloud::Public);
    assert_eq!(verified.claims().vm_id, VmIdentity::default().vm_id);
    assert_eq!(
        verified.claims().expires_on - verified.claims().created_on,
        time::Duration::hours(6)
    );
    assert_eq!(
        verified.signer().dns_names,
        ["eastus.metadata.azure.com", "metadata.azure.com"]
    );
    // Signed exactly as IMDS signs: only the leaf embedded, so the built-in trust cannot chain it.
    let builtin = Verifier::new(TrustStore::builtin(), Policy::default());
    let r2 = builtin.verify(
        &doc,
        NonceCheck::Exact("abc123"),
        time::OffsetDateTime::now_utc(),
    );
    assert_eq!(r2.unwrap_err().kind(), ErrorKind::UntrustedIssuer);
}

#[test]
fn a_generated_nonce_is_32_alphanumerics_and_is_in_the_document() {
    let r = start(|_| {});
    let fetched = fetch(&r.options()).0.unwrap();
    assert!(fetched.nonce_generated);
    assert_eq!(fetched.nonce.len(), 32);
    assert!(fetched.nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
    let doc = AttestedDocument::parse(fetched.body.as_bytes()).unwrap();
    let content: Value = serde_json::from_slice(doc.content()).unwrap();
    assert_eq!(content["nonce"], fetched.nonce.as_str());
}

#[test]
fn the_pki_is_reused_across_restarts_and_named_for_the_cloud() {
    let r = start(|c| {
        c.cloud = Cloud::UsGov;
        c.region = "usgovvirginia".into();
    });
    let root = std::fs::read(r.dir.join("root.pem")).unwrap();
    let fetched = fetch(&r.with_nonce("n1")).0.unwrap();
    let doc = AttestedDocument::parse(fetched.body.as_bytes()).unwrap();
    let v = Verifier::new(r.trust(), Policy::default())
        .verify(
            &doc,
            NonceCheck::Exact("n1"),
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    assert_eq!(v.cloud(), Cloud::UsGov);
    let pki = r.stop();
    let dir = pki.path();
    let again = start(|c| {
        c.pki_dir = dir.to_path_buf();
        c.cloud = Cloud::UsGov;
        c.region = "usgovvirginia".into();
    });
    assert_eq!(std::fs::read(dir.join("root.pem")).unwrap(), root);
    let fetched = fetch(&again.with_nonce("n2")).0.unwrap();
    let doc = AttestedDocument::parse(fetched.body.as_bytes()).unwrap();
    Verifier::new(again.trust(), Policy::default())
        .verify(
            &doc,
            NonceCheck::Exact("n2"),
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
}

#[test]
fn retryable_statuses_are_retried_then_succeed() {
    for (status, retry_after) in [(410, None), (429, Some(1)), (500, None), (503, None)] {
        let r = start(|_| {});
        let faults = match retry_after {
            Some(s) => format!(r#"{{"failStatus":{status},"failCount":2,"retryAfter":{s}}}"#),
            None => format!(r#"{{"failStatus":{status},"failCount":2}}"#),
        };
        r.set_faults(&faults);
        let started = std::time::Instant::now();
        let (fetched, retries) = fetch(&r.options());
        let fetched = fetched.unwrap_or_else(|e| panic!("{status}: {e}"));
        assert_eq!(fetched.attempts, 3, "{status}");
        assert_eq!(retries.len(), 2, "{status}");
        assert!(
            retries[0]
                .reason
                .starts_with(&format!("IMDS answered {status}")),
            "{status}: {:?}",
            retries[0]
        );
        if retry_after.is_some() {
            assert_eq!(
                retries[0].delay,
                Duration::from_secs(1),
                "Retry-After honoured"
            );
            assert!(started.elapsed() >= Duration::from_secs(2));
        } else {
            assert!(
                retries[0].delay <= Duration::from_millis(50),
                "{:?}",
                retries[0]
            );
        }
    }
}

#[test]
fn other_client_errors_are_not_retried() {
    let r = start(|_| {});
    let options = edited(r.options(), |o| o.api_version = "1999-01-01".into());
    let (result, retries) = fetch(&options);
    match result {
        Err(FetchError::ImdsStatus { status, body }) => {
            assert_eq!(status, 400);
            assert!(body.contains("api-version is invalid"), "{body}");
        }
        other => panic!("{other:?}"),
    }
    assert!(retries.is_empty());
}

#[test]
fn a_stale_document_is_retried_then_reported() {
    let r = start(|_| {});
    let first = fetch(&r.with_nonce("first")).0.unwrap();
    assert_eq!(first.nonce, "first");
    r.set_faults(r#"{"staleCount":1}"#);
    let (fetched, retries) = fetch(&r.with_nonce("second"));
    assert_eq!(fetched.unwrap().attempts, 2);
    assert!(
        retries[0]
            .reason
            .contains("nonce \"first\", not \"second\""),
        "{:?}",
        retries[0]
    );
    r.set_faults(r#"{"staleCount":1000}"#);
    let options = edited(r.with_nonce("third"), |o| {
        o.deadline = Duration::from_secs(2)
    });
    match fetch(&options).0 {
        Err(FetchError::StaleDocument {
            asked,
            found,
            attempts,
        }) => {
            assert_eq!((asked.as_str(), found.as_str()), ("third", "second"));
            assert!(attempts >= 2, "{attempts}");
        }
        other => panic!("{other:?}"),
    }
}

/// When the deadline runs out in the middle of an attempt after IMDS served a cached document,
/// the error is the cached document, not a bare timeout (which hid it, and made
/// `a_stale_document_is_retried_then_reported` fail on a loaded machine).
#[test]
fn a_deadline_reached_after_a_stale_document_reports_the_stale_document() {
    let r = start(|_| {});
    fetch(&r.with_nonce("first")).0.unwrap();
    // The first stale answer comes at ~0.6 s, the retry starts before 0.7 s and is cut at 1 s.
    r.set_faults(r#"{"staleCount":1000,"latencyMs":600}"#);
    let options = edited(r.with_nonce("second"), |o| {
        o.deadline = Duration::from_secs(1)
    });
    let (result, retries) = fetch(&options);
    match result {
        Err(FetchError::StaleDocument {
            asked,
            found,
            attempts,
        }) => {
            assert_eq!((asked.as_str(), found.as_str()), ("second", "first"));
            assert_eq!(attempts, 2);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(retries.len(), 1, "{retries:?}");
}

#[test]
fn the_deadline_bounds_a_slow_imds() {
    let r = start(|c| {
        c.faults = Faults {
            latency_ms: 3000,
            ..Faults::default()
        }
    });
    let options = edited(r.options(), |o| o.deadline = Duration::from_secs(1));
    let started = std::time::Instant::now();
    match fetch(&options).0 {
        Err(e) => assert_eq!(
            e,
            FetchError::Failed {
                reason: FetchReason::Deadline { seconds: 1 }
            }
        ),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn an_unreachable_endpoint_is_retried_until_the_deadline() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let options = edited(FetchOptions::default(), |o| {
        o.endpoint = url;
        o.deadline = Duration::from_millis(800);
        o.backoff = Duration::from_millis(50);
    });
    let mut retries = 0;
    match fetch_blocking(&options, |_| retries += 1) {
        Err(FetchError::Failed {
            reason: FetchReason::GaveUp { attempts, last, .. },
        }) => {
            assert!(last.starts_with("cannot reach"), "{last}");
            // Every failed attempt but the last was announced as a retry.
            assert_eq!(attempts, retries + 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(retries >= 2, "{retries}");
}

#[test]
fn a_bad_nonce_is_refused_before_anything_is_sent() {
    let r = start(|c| {
        c.faults = Faults {
            fail_status: Some(500),
            fail_count: 1000,
            ..Faults::default()
        }
    });
    for bad in ["", "has space", &"x".repeat(33)] {
        let options = r.with_nonce(bad);
        assert_eq!(
            fetch(&options).0.unwrap_err(),
            FetchError::InvalidNonce { nonce: bad.into() }
        );
    }
}

#[test]
fn the_emulator_enforces_imds_request_rules() {
    let r = start(|_| {});
    let get = reqwest::Method::GET;
    type Case<'a> = (
        reqwest::Method,
        &'a str,
        Vec<(&'a str, &'a str)>,
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            get.clone(),
            "/metadata/attested/document?api-version=2021-02-01",
            vec![],
            400,
            "Required metadata header not specified",
        ),
        (
            get.clone(),
            "/metadata/attested/document?api-version=2021-02-01",
            vec![MD, ("X-Forwarded-For", "1.2.3.4")],
            400,
            "X-Forwarded-For",
        ),
        (
            get.clone(),
            "/metadata/attested/document",
            vec![MD],
            400,
            "\"newest-versions\":[\"2025-04-07\",\"2024-07-17\",\"2024-03-15\"]",
        ),
        (
            get.clone(),
            "/metadata/attested/document?api-version=2030-01-01",
            vec![MD],
            400,
            "api-version is invalid",
        ),
        (
            get.clone(),
            "/metadata/attested/document?api-version=2018-02-01",
            vec![MD],
            400,
            "api-version is invalid",
        ),
        (
            get.clone(),
            "/metadata/attested/document?api-version=2021-02-01&nonce=a&nonce=b",
            vec![MD],
            400,
            "nonce is duplicated",
        ),
        (
            reqwest::Method::POST,
            "/metadata/attested/document?api-version=2021-02-01",
            vec![MD],
            405,
            "Method not allowed",
        ),
        (
            get.clone(),
            "/metadata/nothing?api-version=2021-02-01",
            vec![MD],
            404,
            "Resource not found",
        ),
    ];
    for (method, path, headers, status, needle) in cases {
        std::thread::sleep(Duration::from_millis(250)); // stay under the rate limit
        let (got, body) = r.raw(method.clone(), path, &headers, None);
        assert_eq!(got, status, "{method} {path}: {body}");
        assert!(body.contains(needle), "{method} {path}: {body}");
    }
}

#[test]
fn the_emulator_serves_instance_metadata_with_route_filtering() {
    let mut tags = std::collections::BTreeMap::new();
    tags.insert("env".to_string(), "ci".to_string());
    let r = start(|c| {
        c.vm = VmIdentity {
            vm_id: "vm-from-config".into(),
            tags,
            ..VmIdentity::default()
        }
    });
    let cases: Vec<(&str, u16, &str)> = vec![
        ("/metadata/instance/compute/vmId?api-version=2021-02-01&format=text", 200, "vm-from-config"),
        ("/metadata/instance/compute/vmId?api-version=2021-02-01", 200, "vm-from-config"),
        ("/metadata/instance/compute/vmId?api-version=2021-02-01&format=json", 400, "only available in text format"),
        ("/metadata/instance/compute/tags?api-version=2021-02-01&format=text", 200, "env:ci"),
        ("/metadata/instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress?api-version=2021-02-01&format=text", 200, "10.0.0.4"),
        ("/metadata/instance/compute?api-version=2021-02-01&format=text", 200, "plan/"),
        ("/metadata/instance/compute/nothing?api-version=2021-02-01", 404, "Resource not found"),
        ("/metadata/versions", 200, "\"apiVersions\""),
    ];
    for (path, status, needle) in cases {
        std::thread::sleep(Duration::from_millis(250));
        let (got, body) = r.raw(reqwest::Method::GET, path, &[MD], None);
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(needle), "{path}: {body}");
    }
    std::thread::sleep(Duration::from_millis(250));
    let (status, body) = r.raw(
        reqwest::Method::GET,
        "/metadata/instance?api-version=2021-02-01",
        &[MD],
        None,
    );
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["compute"]["vmId"], "vm-from-config");
    assert_eq!(v["compute"]["location"], "eastus");
}

#[test]
fn more_than_five_requests_a_second_get_429() {
    // The limit is a sliding second: the verdict holds only if the eight requests were sent
    // within it. A loaded machine may be slower: try again (a fresh emulator each time), and
    // fail, never skip, if no attempt was fast enough.
    for _ in 0..5 {
        let r = start(|_| {});
        let started = std::time::Instant::now();
        let answers: Vec<(u16, String)> = (0..8)
            .map(|_| r.raw(reqwest::Method::GET, "/metadata/versions", &[MD], None))
            .collect();
        if started.elapsed() >= Duration::from_millis(900) {
            continue;
        }
        let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
        assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
        assert!(statuses[5..].contains(&429), "{statuses:?}");
        // IMDS's throttling, never worded as an injected fault.
        for (_, body) in answers.iter().filter(|(status, _)| *status == 429) {
            let error: Value = serde_json::from_str(body).unwrap();
            let message = error["error"].as_str().unwrap_or_default();
            assert!(message.starts_with("Too many requests"), "{body}");
            assert!(!message.contains("Injected"), "{body}");
        }
        return;
    }
    panic!("no attempt sent eight requests within 900 ms: the rate limit could not be tested");
}

/// A small HTTP server answering every request 200 with `body`, for answers the emulator never
/// gives.
fn canned(body: String) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url
}

#[test]
fn a_wrong_shaped_or_oversized_answer_is_a_clear_error() {
    let not_a_document = |error| FetchError::Failed {
        reason: FetchReason::NotADocument { error },
    };
    let cases = [
        (
            "hello".to_string(),
            not_a_document(Error::Base64 {
                reason: Base64Reason::Invalid {
                    message: "Invalid input length: 5".into(),
                },
            }),
        ),
        (
            r#"{"encoding":"jws","signature":"MIIA"}"#.to_string(),
            not_a_document(Error::UnsupportedEncoding {
                encoding: "jws".into(),
            }),
        ),
        (
            "x".repeat(70_000),
            FetchError::Failed {
                reason: FetchReason::TooLarge,
            },
        ),
    ];
    for (body, expected) in cases {
        let options = edited(FetchOptions::default(), |o| {
            o.endpoint = canned(body);
            o.nonce = Some("n".into());
            o.deadline = Duration::from_secs(5);
        });
        let (result, retries) = fetch(&options);
        assert!(retries.is_empty(), "{retries:?}");
        assert_eq!(result.unwrap_err(), expected);
    }
}
