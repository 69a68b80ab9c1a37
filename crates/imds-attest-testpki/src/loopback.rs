//! A loopback HTTP/1.1 server (optionally HTTPS, with a test certificate) answering each path
//! with a fixed route and counting requests: where tests publish an intermediate at a leaf's
//! AIA caIssuers URL.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssl::ssl::{SslAcceptor, SslMethod};

use crate::Issued;

/// What the server answers on one path.
#[derive(Clone, Debug)]
pub struct Route {
    /// The status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl Route {
    /// 200 with `body`, at once.
    pub fn ok(body: Vec<u8>) -> Route {
        Route {
            status: 200,
            headers: Vec::new(),
            body,
            delay: Duration::ZERO,
        }
    }

    fn not_found() -> Route {
        Route {
            status: 404,
            ..Route::ok(Vec::new())
        }
    }
}

/// A loopback server on a free port, serving until the test process ends.
pub struct AiaServer {
    /// The address bound (127.0.0.1).
    pub addr: SocketAddr,
    /// `https://localhost:PORT` or `http://127.0.0.1:PORT`.
    base: String,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<AtomicUsize>,
}

impl AiaServer {
    /// Plain HTTP on `127.0.0.1`.
    pub fn start() -> AiaServer {
        AiaServer::spawn(None)
    }

    /// HTTPS on `127.0.0.1`, presenting `cert` (its chain: `chain`); its URLs name `localhost`,
    /// so `cert` should name `localhost` in its SAN (see [`localhost_cert`]).
    pub fn start_tls(cert: &Issued, chain: &[&Issued]) -> AiaServer {
        let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
        b.set_certificate(&cert.cert).unwrap();
        b.set_private_key(&cert.key).unwrap();
        for c in chain {
            b.add_extra_chain_cert(c.cert.clone()).unwrap();
        }
        AiaServer::spawn(Some(Arc::new(b.build())))
    }

    fn spawn(tls: Option<Arc<SslAcceptor>>) -> AiaServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let base = match tls {
            Some(_) => format!("https://localhost:{}", addr.port()),
            None => format!("http://{addr}"),
        };
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let hits = Arc::new(AtomicUsize::new(0));
        let (r, h) = (Arc::clone(&routes), Arc::clone(&hits));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (r, h, tls) = (Arc::clone(&r), Arc::clone(&h), tls.clone());
                std::thread::spawn(move || match tls {
                    // A refused handshake (an untrusted certificate) is no request.
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(stream) {
                            answer(s, &r, &h);
                        }
                    }
                    None => answer(stream, &r, &h),
                });
            }
        });
        AiaServer {
            addr,
            base,
            routes,
            hits,
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `HOST:PORT` as its URLs name it: what an allow list needs.
    pub fn authority(&self) -> String {
        self.base
            .split_once("://")
            .map(|(_, a)| a.to_owned())
            .unwrap_or_default()
    }

    /// Answers `path` with `route` from now on.
    pub fn serve(&self, path: &str, route: Route) {
        self.routes.lock().unwrap().insert(path.into(), route);
    }

    /// How many requests it has read (TLS handshakes that failed are not requests).
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn answer<S: Read + Write>(
    mut stream: S,
    routes: &Mutex<HashMap<String, Route>>,
    hits: &AtomicUsize,
) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let text = String::from_utf8_lossy(&request);
    let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
    let route = routes
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or_else(Route::not_found);
    std::thread::sleep(route.delay);
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        route.status,
        route.body.len()
    );
    for (k, v) in &route.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&route.body);
    let _ = stream.flush();
}

/// A TLS server certificate for `localhost`, issued by `issuer`, valid from a day ago for a
/// year (tests that read the clock).
pub fn localhost_cert(issuer: &Issued, slot: usize) -> Issued {
    let now = time::OffsetDateTime::now_utc();
    let spec = crate::CertSpec {
        cn: "localhost".into(),
        san: Some(vec!["localhost".into()]),
        not_before: now - time::Duration::days(1),
        not_after: now + time::Duration::days(365),
        hash: openssl::hash::MessageDigest::sha256,
        slot,
        ..crate::CertSpec::imds_leaf()
    };
    Issued::new(&spec, Some(issuer))
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
