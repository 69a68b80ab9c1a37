//! The service over real HTTP on loopback, against documents the emulator signs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{client, post, sign, signing_pki, start, World};
use imds_attest_testpki::redis::RedisServer;
use imds_attest_testpki::temp;

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

/// A store call still running on the blocking pool when its request got its 408 keeps the
/// request's permit until it returns: the concurrency limit counts the work, not the answer.
#[test]
fn a_store_call_outliving_its_408_still_holds_its_permit() {
    // A "Redis" that accepts connections and never answers: each call waits out the store's
    // 3 s timeout, well past the 1 s request timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    let world = World::new();
    let extra = format!(
        "[store]\nurl = \"redis://127.0.0.1:{port}/0?timeout_ms=3000\"\n\
         [limits]\nmax_concurrent_requests = 1\nrequest_timeout_seconds = 1"
    );
    let service = start(&world.config("s.toml", "", &extra));
    let started = Instant::now();
    let url = format!("{}/v1/challenges", service.url);
    let timed_out = service
        .runtime
        .block_on(async { post(&client(), &url, String::new(), None).await });
    assert_eq!(timed_out.status, 408, "{timed_out:?}");
    assert_eq!(timed_out.kind(), "request_timeout");
    // The store call goes on for its 3 s timeout (more, where the client's connection
    // handshake waits too): until it returns there is no permit to give.
    let refused = service.get("/healthz");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "too slow to tell"
    );
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(refused.kind(), "too_many_requests");
    // Once it has returned, the permit is back.
    loop {
        let answer = service.get("/healthz");
        if answer.status == 200 {
            break;
        }
        assert_eq!(answer.status, 429, "{answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the permit never came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(started.elapsed() >= Duration::from_millis(2900));
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
        // The first document proved the signer; the replay found it remembered.
        "imds_attest_signer_cache_misses_total 1",
        "imds_attest_signer_cache_hits_total 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    // Every request answered before this one: the challenge and the two verifications.
    for line in [
        "imds_attest_request_duration_seconds_bucket{le=\"+Inf\"} 3",
        "imds_attest_request_duration_seconds_count 3",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
}

#[test]
fn unknown_endpoints_and_methods_get_their_kinds_and_no_token_is_asked_first() {
    let world = World::new();
    let tokens = world.dir.path().join("tokens.txt");
    std::fs::write(&tokens, "right-token\n").unwrap();
    let extra = format!("[auth]\ntokens_file = {tokens:?}");
    let service = start(&world.config("s.toml", "", &extra));
    let (url, runtime) = (&service.url, &service.runtime);
    let send = |method: reqwest::Method, path: &str| {
        runtime.block_on(async {
            let response = client()
                .request(method, format!("{url}{path}"))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let allow = response
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap())
                .unwrap_or(serde_json::Value::Null);
            (
                status,
                body["error"]["kind"].as_str().unwrap_or("").to_owned(),
                allow,
            )
        })
    };
    use reqwest::Method;
    let none = None::<String>;
    assert_eq!(
        send(Method::GET, "/v1/verifyy"),
        (404, "not_found".into(), none.clone())
    );
    assert_eq!(
        send(Method::POST, "/"),
        (404, "not_found".into(), none.clone())
    );
    assert_eq!(
        send(Method::GET, "/v1/verify"),
        (405, "method_not_allowed".into(), Some("POST".into()))
    );
    assert_eq!(
        send(Method::POST, "/healthz"),
        (405, "method_not_allowed".into(), Some("GET".into()))
    );
    // The right method on /v1 needs the token; HEAD answers where GET does, without one.
    assert_eq!(
        send(Method::POST, "/v1/verify"),
        (401, "unauthorized".into(), none.clone())
    );
    assert_eq!(send(Method::HEAD, "/healthz").0, 200);
    assert_eq!(send(Method::GET, "/metrics").0, 200);
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

/// One verification of the outage test: which document, whether it was sent after Redis had
/// been killed, and the answer.
#[derive(Debug)]
struct Sent {
    document: usize,
    after_kill: bool,
    status: u16,
    kind: String,
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "redis-server is not installed (apt-get install redis-server)"
)]
fn redis_killed_under_load_is_503_for_every_unredeemed_nonce_then_200_again_without_a_restart() {
    const CLIENTS: usize = 16;
    const DOCUMENTS: usize = 400;
    const BEFORE_KILL: usize = 40; // 200s seen before Redis is killed
    const AFTER_KILL: usize = 4; // verifications each client sends once it is dead
                                 // AOF with fsync on every write: the challenges issued before the kill survive it, so the
                                 // documents refused during the outage can be verified after it.
    let persistent = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut redis = RedisServer::required(&persistent);
    let dir = temp::dir();
    let store = format!(
        "[store]\nurl = \"{}?timeout_ms=300\"\n[limits]\nmax_concurrent_requests = 256",
        redis.url()
    );
    let (pki, config) = signing_pki(dir.path(), &store);
    let service = start(&config);
    let nonces: Vec<String> = (0..DOCUMENTS).map(|_| service.challenge(None)).collect();
    let documents = Arc::new(sign(&pki, &nonces));

    let next = Arc::new(AtomicUsize::new(0));
    let verified = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let url = format!("{}/v1/verify", service.url);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (next, verified, killed) = (next.clone(), verified.clone(), killed.clone());
            let (url, documents) = (url.clone(), documents.clone());
            service.runtime.spawn(async move {
                let client = client();
                let mut sent = Vec::new();
                let mut after = 0;
                while after < AFTER_KILL {
                    let document = next.fetch_add(1, Ordering::SeqCst);
                    let Some(body) = documents.get(document) else {
                        break;
                    };
                    let after_kill = killed.load(Ordering::SeqCst);
                    let answer = post(&client, &url, body.clone(), None).await;
                    if answer.status == 200 {
                        verified.fetch_add(1, Ordering::SeqCst);
                    }
                    after += usize::from(after_kill);
                    sent.push(Sent {
                        document,
                        after_kill,
                        status: answer.status,
                        kind: answer.kind().to_owned(),
                    });
                }
                sent
            })
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(120);
    while verified.load(Ordering::SeqCst) < BEFORE_KILL {
        assert!(
            Instant::now() < deadline,
            "only {} of {BEFORE_KILL} documents verified in 120 s before the kill",
            verified.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    redis.stop(); // SIGKILL, and waits until the process is gone
    killed.store(true, Ordering::SeqCst);
    let sent: Vec<Sent> = service.runtime.block_on(async {
        let mut all = Vec::new();
        for client in clients {
            all.extend(client.await.unwrap());
        }
        all
    });

    let after_kill: Vec<&Sent> = sent.iter().filter(|s| s.after_kill).collect();
    assert_eq!(
        after_kill.len(),
        CLIENTS * AFTER_KILL,
        "the documents ran out before every client had sent {AFTER_KILL} after the kill: {sent:?}"
    );
    for s in &sent {
        // In flight across the kill: redeemed (200) or refused (503); sent after it: 503,
        // never 200 and never nonce_unknown for a nonce the store could not be asked about.
        let allowed = (s.status == 200 && !s.after_kill)
            || (s.status == 503 && s.kind == "store_unavailable");
        assert!(allowed, "{s:?}");
    }
    let readyz = service.get("/readyz");
    assert_eq!((readyz.status, readyz.kind()), (503, "store_unavailable"));
    // Issuing writes nothing, so a challenge is still issued (the key was read before the
    // kill); a document carrying it cannot be redeemed while the store is down.
    let during = sign(&pki, &[service.challenge(None)]);
    let answer = service.verify(during[0].clone(), None);
    assert_eq!((answer.status, answer.kind()), (503, "store_unavailable"));

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let readyz = service.get("/readyz");
        if readyz.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still {readyz:?} 20 s after Redis came back"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every refused document again: one sent after the kill was redeemed nowhere, so it is
    // accepted now; one in flight at the kill may have been redeemed by Redis just before it
    // died (the answer lost), and is then a replay. Never accepted twice.
    for s in sent.iter().filter(|s| s.status == 503) {
        let again = service.verify(documents[s.document].clone(), None);
        let allowed = again.status == 200
            || (!s.after_kill && (again.status, again.kind()) == (422, "nonce_already_used"));
        assert!(allowed, "{s:?} then {again:?}");
    }
    let fresh = sign(&pki, &[service.challenge(None)]);
    let answer = service.verify(fresh[0].clone(), None);
    assert_eq!(answer.status, 200, "{answer:?}");
    let answer = service.verify(during[0].clone(), None);
    assert_eq!(answer.status, 200, "{answer:?}");
}

/// One configured limit, one answer: a body within `max_body_bytes` but over the library's
/// default input limit is parsed and named for what is wrong with it, as `verify --max-input`
/// names it, never 422 `input_too_large`.
#[test]
fn max_body_bytes_is_the_verifiers_input_limit_too() {
    let world = World::new();
    let max = 2 * 1024 * 1024;
    let service = start(&world.config("s.toml", "", &format!("[limits]\nmax_body_bytes = {max}")));
    let over_default = imds_attest::DEFAULT_MAX_INPUT_BYTES + 1;
    // Bodies the library's default limit refuses, each of a form the parser recognises.
    // A SEQUENCE of 100,000 zero bytes.
    let mut der = vec![0x30, 0x83, 0x01, 0x86, 0xa0];
    der.resize(5 + 100_000, 0);
    let cases: [(&str, Vec<u8>, &str); 2] = [
        (
            "base64 of no document",
            "QUFB".repeat(over_default / 4 + 1).into_bytes(),
            "der",
        ),
        ("DER of no document", der, "structure"),
    ];
    for (case, body, kind) in cases {
        assert!(body.len() > imds_attest::DEFAULT_MAX_INPUT_BYTES, "{case}");
        // What `verify --max-input 2097152` says of the same bytes.
        let cli = imds_attest::AttestedDocument::parse_with_max_size(&body, max)
            .unwrap_err()
            .kind();
        let answer = service.verify(body, None);
        assert_eq!(
            (answer.status, answer.kind()),
            (422, kind),
            "{case}: {answer:?}"
        );
        assert_eq!(answer.kind(), cli.as_str(), "{case}");
    }
    // A genuine document padded past the default limit verifies, nonce redeemed.
    let nonce = service.challenge(None);
    let mut padded = world.document(&nonce);
    padded.push_str(&" ".repeat(over_default));
    let answer = service.verify(padded, None);
    assert_eq!(
        (
            answer.status,
            answer.body["verified"].as_bool(),
            answer.body["redeemed"].as_bool()
        ),
        (200, Some(true), Some(true)),
        "{answer:?}"
    );
    // Over max_body_bytes: refused unread, as before.
    let answer = service.verify(vec![b'A'; max + 1], None);
    assert_eq!((answer.status, answer.kind()), (413, "input_too_large"));
}

/// One `GET /healthz` on `stream`: the status line, or `None` if the connection was closed
/// without an answer.
fn healthz_on(stream: &mut std::net::TcpStream) -> Option<String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    // The whole answer: its body is the last thing in it.
    while !answer.ends_with(br#"{"status":"ok"}"#) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    text.lines().next().map(str::to_owned)
}

/// Whether the service closed `stream` (end of file or a reset) within `within`.
fn closed_within(stream: &mut std::net::TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {} // an answer (such as a 408) before the close
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Idle sockets used to be held without limit, each a file descriptor: enough of them left
/// the service none to accept a genuine client with. Past `max_connections`, a new connection
/// is now closed at once, while those open are served; once the idle ones go, a new client
/// is served again.
#[test]
fn past_max_connections_new_connections_are_closed_and_open_ones_still_served() {
    const MAX: usize = 16;
    let world = World::new();
    let extra = format!("[limits]\nmax_connections = {MAX}\nrequest_timeout_seconds = 30");
    let service = start(&world.config("s.toml", "", &extra));
    let addr = service.url.trim_start_matches("http://").to_owned();
    let connect = || std::net::TcpStream::connect(&addr).unwrap();

    // A keep-alive client, served once, then the rest of the limit taken by idle sockets.
    let mut served = connect();
    assert_eq!(healthz_on(&mut served).as_deref(), Some("HTTP/1.1 200 OK"));
    let mut idle: Vec<_> = (1..MAX).map(|_| connect()).collect();
    // The kernel completes these handshakes; the service closes each as it takes it.
    let mut extra: Vec<_> = (0..8).map(|_| connect()).collect();
    for (i, stream) in extra.iter_mut().enumerate() {
        assert!(
            closed_within(stream, Duration::from_secs(3)),
            "connection {} past max_connections is still open",
            MAX + i
        );
    }
    // Neither the served connection nor the idle ones were closed for it.
    assert_eq!(healthz_on(&mut served).as_deref(), Some("HTTP/1.1 200 OK"));
    for stream in &mut idle {
        assert!(!closed_within(stream, Duration::from_millis(50)));
    }

    // Once the idle sockets are gone, a new client gets its answer.
    drop(idle);
    let started = Instant::now();
    loop {
        if let Some(status) = healthz_on(&mut connect()) {
            assert_eq!(status, "HTTP/1.1 200 OK");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no slot came back after the idle connections closed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(served);
}

/// The header read timeout used to be the request timeout: with `request_timeout_seconds =
/// 60`, a socket that sent half a request line held its connection for a minute. It is now
/// at most `MAX_HEADER_READ_TIMEOUT` (10 s).
#[test]
fn a_request_line_left_unfinished_is_closed_at_the_header_read_timeout_before_the_request_timeout()
{
    let world = World::new();
    let extra = "[limits]\nrequest_timeout_seconds = 60";
    let service = start(&world.config("s.toml", "", extra));
    let addr = service.url.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let started = Instant::now();
    stream.write_all(b"GET /heal").unwrap();
    let limit = imds_attest_service::MAX_HEADER_READ_TIMEOUT;
    assert!(
        closed_within(&mut stream, limit + Duration::from_secs(5)),
        "still open {:?} after a partial request line",
        started.elapsed()
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= limit - Duration::from_millis(500) && elapsed < limit + Duration::from_secs(5),
        "{elapsed:?}"
    );
}

/// `GET /openapi.json`: the document, as JSON, without a token even under `[auth]`.
#[test]
fn the_openapi_document_is_served_as_json_without_a_token() {
    let world = World::new();
    let tokens = world.dir.path().join("tokens.txt");
    std::fs::write(&tokens, "right-token\n").unwrap();
    let extra = format!("[auth]\ntokens_file = {tokens:?}");
    let service = start(&world.config("s.toml", "", &extra));
    let answer = service.get("/openapi.json");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["openapi"], "3.1.0");
    let verify = &answer.body["paths"]["/v1/verify"]["post"];
    assert_eq!(verify["operationId"], "verifyDocument");
    assert_eq!(verify["security"][0]["bearer"], serde_json::json!([]));
}

/// With `[tls]`, a connection counts from its TCP accept: sockets that never start a
/// handshake fill `max_connections` as idle plain ones do, and the next is closed at once.
#[test]
fn with_tls_connections_that_never_handshake_count_toward_max_connections() {
    const MAX: usize = 4;
    let world = World::new();
    let issued =
        imds_attest_testpki::Issued::new(&imds_attest_testpki::CertSpec::ca("server", 0), None);
    let (cert, key) = (
        world.dir.path().join("server.pem"),
        world.dir.path().join("server.key"),
    );
    std::fs::write(&cert, issued.pem()).unwrap();
    std::fs::write(&key, issued.key_pem()).unwrap();
    let extra = format!(
        "[limits]\nmax_connections = {MAX}\nrequest_timeout_seconds = 30\n\
         [tls]\ncert = {cert:?}\nkey = {key:?}"
    );
    let service = start(&world.config("s.toml", "", &extra));
    let addr = service.url.trim_start_matches("http://").to_owned();
    let connect = || std::net::TcpStream::connect(&addr).unwrap();

    let mut silent: Vec<_> = (0..MAX).map(|_| connect()).collect();
    let mut past = connect();
    assert!(
        closed_within(&mut past, Duration::from_secs(3)),
        "a connection past max_connections is still open"
    );
    for stream in &mut silent {
        assert!(!closed_within(stream, Duration::from_millis(50)));
    }
    // Once they go, a new connection is held open again, waiting for its handshake.
    drop(silent);
    let started = Instant::now();
    while closed_within(&mut connect(), Duration::from_millis(500)) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no slot came back after the silent connections closed"
        );
    }
}
