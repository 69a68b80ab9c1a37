//! The service over real HTTP on loopback, against documents the emulator signs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{client, post, start, World};

#[test]
fn challenge_then_document_verifies_once_and_unknown_nonce_is_refused() {
    let world = World::new();
    let service = start(&world.config("s.toml", "", ""));
    let nonce = service.challenge(None);
    let document = world.document(&nonce);

    let first = service.verify(document.clone(), None);
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["verified"], true);
    assert_eq!(first.body["redeemed"], true);
    assert_eq!(first.body["claims"]["nonce"], nonce.as_str());
    assert!(first.body.as_object().unwrap().contains_key("rule"));

    let replay = service.verify(document, None);
    assert_eq!((replay.status, replay.kind()), (422, "nonce_already_used"));
    assert_eq!(replay.body["verified"], false);

    let never_issued = service.verify(world.document("neverissued0001"), None);
    assert_eq!(
        (never_issued.status, never_issued.kind()),
        (422, "nonce_unknown")
    );
}

#[test]
fn sixty_four_concurrent_posts_of_one_document_give_exactly_one_200() {
    let world = World::new();
    let service = start(&world.config("s.toml", "", "[limits]\nmax_concurrent_requests = 256"));
    let document = world.document(&service.challenge(None));
    let url = format!("{}/v1/verify", service.url);
    let answers = service.runtime.block_on(async {
        let client = client();
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (client, url, body) = (client.clone(), url.clone(), document.clone());
                tokio::spawn(async move { post(&client, &url, body, None).await })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    });
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let used = answers
        .iter()
        .filter(|a| a.status == 422 && a.kind() == "nonce_already_used")
        .count();
    assert_eq!((ok, used), (1, 63), "{answers:?}");
}

#[test]
fn without_a_valid_token_nothing_is_verified_or_redeemed() {
    let world = World::new();
    let tokens = world.dir.path().join("tokens.txt");
    std::fs::write(&tokens, "# licence servers\nright-token\n").unwrap();
    let extra = format!("[auth]\ntokens_file = {tokens:?}");
    let service = start(&world.config("s.toml", "", &extra));

    let url = format!("{}/v1/challenges", service.url);
    let refused = service
        .runtime
        .block_on(async { post(&client(), &url, "", None).await });
    assert_eq!((refused.status, refused.kind()), (401, "unauthorized"));

    let nonce = service.challenge(Some("right-token"));
    let document = world.document(&nonce);
    for token in [None, Some("wrong-token"), Some("right-toke"), Some("")] {
        let answer = service.verify(document.clone(), token);
        assert_eq!(
            (answer.status, answer.kind()),
            (401, "unauthorized"),
            "{token:?}"
        );
    }
    // Nothing was redeemed: the right token still gets the one acceptance.
    let accepted = service.verify(document, Some("right-token"));
    assert_eq!(accepted.status, 200, "{accepted:?}");
}

#[test]
fn a_100_mb_body_is_refused_413_quickly_without_being_read() {
    let world = World::new();
    let service = start(&world.config("s.toml", "", ""));
    let addr = service.url.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let size = 100 * 1024 * 1024;
    write!(
        stream,
        "POST /v1/verify HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {size}\r\n\r\n"
    )
    .unwrap();
    // A first megabyte, as a client streaming it would; the rest never comes.
    let _ = stream.write_all(&vec![b'A'; 1024 * 1024]);
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buf[..n]);
        if response.windows(4).any(|w| w == b"\r\n\r\n") && response.ends_with(b"}") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("input_too_large"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // Chunked, with no length declared: refused at the limit as well.
    let chunked = service.verify(vec![b'A'; 200 * 1024], None);
    assert_eq!((chunked.status, chunked.kind()), (413, "input_too_large"));
}

#[test]
fn past_the_concurrency_limit_requests_get_429() {
    let world = World::new();
    let extra = "[limits]\nmax_concurrent_requests = 1\nrequest_timeout_seconds = 3";
    let service = start(&world.config("s.toml", "", extra));
    let addr = service.url.trim_start_matches("http://").to_owned();
    // One request holds the only permit by sending its body slowly.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        slow,
        "POST /v1/verify HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 100\r\n\r\nA"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let refused = service.get("/healthz");
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.body["error"]["kind"], "too_many_requests");
    // The slow client is dropped at the request timeout, and the permit comes back.
    slow.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    let started = Instant::now();
    let mut response = String::new();
    let _ = slow.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(service.get("/healthz").status, 200);
}

#[test]
fn health_and_readiness_answer_with_a_working_store() {
    let world = World::new();
    let service = start(&world.config("s.toml", "", ""));
    assert_eq!(service.get("/healthz").status, 200);
    assert_eq!(service.get("/readyz").status, 200);
}

#[test]
fn metrics_count_verifications_by_kind_and_latencies() {
    let world = World::new();
    let service = start(&world.config("s.toml", "", ""));
    let document = world.document(&service.challenge(None));
    assert_eq!(service.verify(document.clone(), None).status, 200);
    assert_eq!(service.verify(document, None).status, 422);
    let url = format!("{}/metrics", service.url);
    let text = service.runtime.block_on(async {
        client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    for line in [
        "imds_attest_verifications_total{outcome=\"verified\"} 1",
        "imds_attest_verifications_total{outcome=\"nonce_already_used\"} 1",
        "imds_attest_store_duration_seconds_count 3",
        "imds_attest_proven_issuers 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    assert!(text.contains("imds_attest_request_duration_seconds_bucket{le=\"+Inf\"}"));
}

#[test]
fn a_client_sending_its_headers_a_byte_a_second_is_dropped_at_the_request_timeout() {
    let world = World::new();
    let service = start(&world.config("s.toml", "", "[limits]\nrequest_timeout_seconds = 2"));
    let addr = service.url.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(900)))
        .unwrap();
    let started = Instant::now();
    let request = b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
    for byte in request {
        if stream.write_all(&[*byte]).is_err() {
            break;
        }
        let mut buf = [0u8; 512];
        match stream.read(&mut buf) {
            Ok(_) => break, // closed (0) or answered (408): dropped either way
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still connected after 5 s"
        );
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
}
