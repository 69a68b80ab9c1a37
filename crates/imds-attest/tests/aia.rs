//! Fetching a missing intermediate from the leaf's AIA caIssuers URL, against a loopback HTTP
//! server: what is used, what is refused (each with its own reason, before any request where
//! the URL alone decides), and what is remembered.
#![cfg(feature = "aia")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::NONCE;
use imds_attest::aia::http::HttpFetcher;
use imds_attest::aia::{AiaAllowList, IssuerRequest, MAX_AIA_BYTES};
use imds_attest::{
    AiaFetchReason, AttestedDocument, Cloud, Error, FetchedReason, NonceCheck, Policy, TrustStore,
    Verifier,
};
use imds_attest_testpki::loopback::{AiaServer, Route};
use imds_attest_testpki::temp;
use imds_attest_testpki::{claims_json, CertSpec, DocSpec, Issued, REFERENCE_TIME};

const ISSUING: &str = "Test Azure RSA TLS Issuing CA 07";

fn ok(body: Vec<u8>) -> Route {
    Route::ok(body)
}

fn allow(server: &AiaServer) -> AiaAllowList {
    AiaAllowList::of(&[server.authority()]).unwrap()
}

fn fetcher(server: &AiaServer) -> Arc<HttpFetcher> {
    Arc::new(HttpFetcher::new(allow(server)))
}

/// A root, the issuing CA it signed (not in any store) and a leaf whose AIA names `aia`.
struct Chain {
    root: Issued,
    issuing: Issued,
    leaf: Issued,
}

fn chain(aia: &str) -> Chain {
    let root = Issued::new(&CertSpec::ca("Test Global Root G2", 0), None);
    let issuing = Issued::new(&CertSpec::ca(ISSUING, 1), Some(&root));
    let leaf = Issued::with_aia(&CertSpec::imds_leaf(), Some(&issuing), Some(aia));
    Chain {
        root,
        issuing,
        leaf,
    }
}

impl Chain {
    fn trust(&self) -> TrustStore {
        TrustStore::from_pem(self.root.pem().as_bytes(), b"").unwrap()
    }

    fn doc(&self) -> AttestedDocument {
        let der = DocSpec::imds(&claims_json(NONCE, REFERENCE_TIME)).sign(&self.leaf);
        AttestedDocument::parse(&der).unwrap()
    }

    fn request(&self) -> IssuerRequest {
        IssuerRequest::for_child(&self.leaf.cert.to_der().unwrap()).unwrap()
    }
}

fn verify_with(
    trust: TrustStore,
    fetcher: Option<Arc<HttpFetcher>>,
    doc: &AttestedDocument,
) -> Result<imds_attest::VerifiedDocument, Error> {
    let mut verifier = Verifier::with_cache_capacity(trust, Policy::default(), 0);
    if let Some(f) = fetcher {
        verifier = verifier.with_fetcher(f);
    }
    verifier.verify(doc, NonceCheck::Exact(NONCE), REFERENCE_TIME)
}

fn fetch_error(c: &Chain, url: &str, reason: AiaFetchReason) -> Error {
    Error::IntermediateFetch {
        url: url.into(),
        issuer: c.request().issuer,
        reason,
    }
}

fn refused(c: &Chain, url: &str, reason: FetchedReason) -> Error {
    Error::FetchedIntermediateRefused {
        url: url.into(),
        issuer: c.request().issuer,
        reason,
    }
}

#[test]
fn verifies_with_the_fetched_intermediate_and_remembers_it() {
    let server = AiaServer::start();
    let url = server.url("/pki/issuing.cer");
    let c = chain(&url);
    server.serve("/pki/issuing.cer", ok(c.issuing.cert.to_der().unwrap()));
    let fetcher = fetcher(&server);

    let verified = verify_with(c.trust(), Some(Arc::clone(&fetcher)), &c.doc()).unwrap();
    assert_eq!(verified.fetched_intermediates(), std::slice::from_ref(&url));
    assert_eq!(verified.chain().len(), 3);
    let json = serde_json::to_value(&verified).unwrap();
    assert_eq!(json["fetchedIntermediates"][0], url.as_str());
    assert_eq!(server.hits(), 1);

    // Another verifier (remembering nothing) with the same fetcher: no second request.
    let again = verify_with(c.trust(), Some(fetcher), &c.doc()).unwrap();
    assert_eq!(again.fetched_intermediates(), [url]);
    assert_eq!(server.hits(), 1);
}

#[test]
fn accepts_a_pem_answer() {
    let server = AiaServer::start();
    let c = chain(&server.url("/ca.pem"));
    server.serve("/ca.pem", ok(c.issuing.pem().into_bytes()));
    verify_with(c.trust(), Some(fetcher(&server)), &c.doc()).unwrap();
}

#[test]
fn without_a_fetcher_the_missing_issuer_is_refused_as_before() {
    let server = AiaServer::start();
    let c = chain(&server.url("/ca.cer"));
    server.serve("/ca.cer", ok(c.issuing.cert.to_der().unwrap()));
    let err = verify_with(c.trust(), None, &c.doc()).unwrap_err();
    assert!(
        matches!(&err, Error::UntrustedIssuer { issuer, cloud: Cloud::Public, self_signed: false, .. } if *issuer == c.request().issuer),
        "{err:?}"
    );
    assert_eq!(server.hits(), 0);
}

#[test]
fn refuses_urls_before_any_request() {
    let server = AiaServer::start();
    let port = server.addr.port();
    let cases = [
        (
            format!("http://127.0.0.1:{}/ca.cer", port + 1),
            AiaFetchReason::HostNotAllowed {
                host: format!("127.0.0.1:{}", port + 1),
            },
        ),
        (
            format!("http://user@127.0.0.1:{port}/ca.cer"),
            AiaFetchReason::Userinfo,
        ),
        (
            format!("http://127.0.0.1:{port}/ca.cer?x=1"),
            AiaFetchReason::QueryOrFragment,
        ),
        (
            format!("ftp://127.0.0.1:{port}/ca.cer"),
            AiaFetchReason::Scheme,
        ),
    ];
    for (url, reason) in cases {
        let c = chain(&url);
        server.serve("/ca.cer", ok(c.issuing.cert.to_der().unwrap()));
        let err = verify_with(c.trust(), Some(fetcher(&server)), &c.doc()).unwrap_err();
        assert_eq!(err, fetch_error(&c, &url, reason), "{url}");
    }
    // The default list does not hold the loopback server either.
    let url = server.url("/ca.cer");
    let c = chain(&url);
    let fetcher = Arc::new(HttpFetcher::new(AiaAllowList::default()));
    let err = verify_with(c.trust(), Some(fetcher), &c.doc()).unwrap_err();
    assert_eq!(
        err,
        fetch_error(
            &c,
            &url,
            AiaFetchReason::HostNotAllowed {
                host: server.addr.to_string()
            }
        )
    );
    assert_eq!(server.hits(), 0);
}

#[test]
fn never_follows_a_redirect() {
    let server = AiaServer::start();
    for status in [301, 302] {
        let url = server.url("/moved.cer");
        let c = chain(&url);
        let target = server.url("/ca.cer");
        server.serve("/ca.cer", ok(c.issuing.cert.to_der().unwrap()));
        server.serve(
            "/moved.cer",
            Route {
                status,
                headers: vec![("Location".into(), target.clone())],
                body: Vec::new(),
                delay: Duration::ZERO,
            },
        );
        let before = server.hits();
        let err = verify_with(c.trust(), Some(fetcher(&server)), &c.doc()).unwrap_err();
        assert_eq!(
            err,
            fetch_error(
                &c,
                &url,
                AiaFetchReason::Redirect {
                    status,
                    location: target
                }
            )
        );
        assert_eq!(server.hits(), before + 1, "the target is never requested");
    }
}

#[test]
fn refuses_an_answer_one_byte_over_the_limit() {
    let server = AiaServer::start();
    let url = server.url("/big.cer");
    let c = chain(&url);
    server.serve("/big.cer", ok(vec![0x30; MAX_AIA_BYTES + 1]));
    let err = verify_with(c.trust(), Some(fetcher(&server)), &c.doc()).unwrap_err();
    assert_eq!(
        err,
        fetch_error(&c, &url, AiaFetchReason::TooLarge { max: MAX_AIA_BYTES })
    );
}

#[test]
fn gives_up_on_a_slow_server() {
    let server = AiaServer::start();
    let url = server.url("/slow.cer");
    let c = chain(&url);
    server.serve(
        "/slow.cer",
        Route {
            delay: Duration::from_secs(3),
            ..ok(c.issuing.cert.to_der().unwrap())
        },
    );
    let fetcher =
        Arc::new(HttpFetcher::new(allow(&server)).with_timeout(Duration::from_millis(300)));
    let err = verify_with(c.trust(), Some(fetcher), &c.doc()).unwrap_err();
    assert_eq!(
        err,
        fetch_error(&c, &url, AiaFetchReason::Timeout { millis: 300 })
    );
}

#[test]
fn refuses_a_certificate_that_is_not_the_issuer_asked_for() {
    let server = AiaServer::start();
    let url = server.url("/ca.cer");
    let c = chain(&url);
    let not_ca = Issued::new(
        &CertSpec {
            ca: false,
            ..CertSpec::ca(ISSUING, 1)
        },
        Some(&c.root),
    );
    let other_subject = Issued::new(&CertSpec::ca("Test Other Issuing CA", 1), Some(&c.root));
    // The right name, another key: its subjectKeyIdentifier is not the leaf's AKI.
    let other_key = Issued::new(&CertSpec::ca(ISSUING, 2), Some(&c.root));
    let cases = [
        (not_ca, FetchedReason::NotCa),
        (
            other_subject,
            FetchedReason::SubjectMismatch {
                subject: "CN=Test Other Issuing CA,O=Microsoft Corporation".into(),
            },
        ),
        (other_key, FetchedReason::KeyIdMismatch),
    ];
    for (cert, reason) in cases {
        server.serve("/ca.cer", ok(cert.cert.to_der().unwrap()));
        let err = verify_with(c.trust(), Some(fetcher(&server)), &c.doc()).unwrap_err();
        assert_eq!(err, refused(&c, &url, reason));
    }
    server.serve("/ca.cer", ok(b"not a certificate".to_vec()));
    let err = verify_with(c.trust(), Some(fetcher(&server)), &c.doc()).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::FetchedIntermediateRefused {
                reason: FetchedReason::NotACertificate { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn refuses_a_chain_to_another_clouds_root_or_to_no_pinned_root() {
    let server = AiaServer::start();
    let url = server.url("/ca.cer");
    let c = chain(&url);
    server.serve("/ca.cer", ok(c.issuing.cert.to_der().unwrap()));
    // The public cloud has a root, but the one the fetched CA chains to serves China only.
    let stranger = Issued::new(&CertSpec::ca("Test Stranger Root", 5), None);
    let unrelated = TrustStore::from_pem(stranger.pem().as_bytes(), b"").unwrap();
    let mut china_only = unrelated.clone();
    china_only
        .add_cloud_roots_pem(c.root.pem().as_bytes(), "china.pem", Cloud::China)
        .unwrap();
    for trust in [china_only, unrelated] {
        let err = verify_with(trust, Some(fetcher(&server)), &c.doc()).unwrap_err();
        let Error::FetchedIntermediateRefused {
            url: at,
            reason: FetchedReason::Chain { error },
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(*at, url);
        assert!(
            matches!(
                **error,
                Error::UntrustedIssuer {
                    cloud: Cloud::Public,
                    self_signed: false,
                    ..
                }
            ),
            "{error:?}"
        );
    }
}

#[test]
fn a_refusal_is_remembered_and_not_fetched_again() {
    let server = AiaServer::start();
    let url = server.url("/ca.cer");
    let c = chain(&url);
    server.serve(
        "/ca.cer",
        ok(Issued::new(&CertSpec::ca(ISSUING, 2), Some(&c.root))
            .cert
            .to_der()
            .unwrap()),
    );
    let fetcher = fetcher(&server);
    let err = verify_with(c.trust(), Some(Arc::clone(&fetcher)), &c.doc()).unwrap_err();
    assert_eq!(err, refused(&c, &url, FetchedReason::KeyIdMismatch));
    // The URL's answer is remembered: the same refusal, without a request.
    server.serve("/ca.cer", ok(c.issuing.cert.to_der().unwrap()));
    let err = verify_with(c.trust(), Some(fetcher), &c.doc()).unwrap_err();
    assert_eq!(err, refused(&c, &url, FetchedReason::KeyIdMismatch));
    assert_eq!(server.hits(), 1);
}

#[test]
fn a_failed_fetch_is_remembered_by_url_and_not_fetched_again() {
    let server = AiaServer::start();
    let url = server.url("/ca.cer");
    let c = chain(&url);
    let fetcher = fetcher(&server);
    let err = verify_with(c.trust(), Some(Arc::clone(&fetcher)), &c.doc()).unwrap_err();
    assert_eq!(
        err,
        fetch_error(&c, &url, AiaFetchReason::Status { status: 404 })
    );
    server.serve("/ca.cer", ok(c.issuing.cert.to_der().unwrap()));
    let err = verify_with(c.trust(), Some(fetcher), &c.doc()).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::IntermediateFetch {
                reason: AiaFetchReason::RecentlyFailed { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.hits(), 1);
}

/// A document a forger signed with their own key for a leaf naming the genuine issuing CA (its
/// name and key identifier) and `aia` as that CA's URL: the chain cannot verify with the
/// genuine CA.
fn forged(c: &Chain, aia: &str) -> AttestedDocument {
    let forger = Issued {
        cert: c.issuing.cert.clone(),
        key: imds_attest_testpki::key(imds_attest_testpki::KeyKind::Rsa(2048), 9),
    };
    let leaf = Issued::with_aia(&CertSpec::imds_leaf(), Some(&forger), Some(aia));
    AttestedDocument::parse(&DocSpec::imds(&claims_json(NONCE, REFERENCE_TIME)).sign(&leaf))
        .unwrap()
}

/// The chain error of a forged document whose leaf was checked with the genuine CA.
fn assert_forged_chain_refused(err: &Error, url: &str) {
    let Error::FetchedIntermediateRefused {
        url: at,
        reason: FetchedReason::Chain { error },
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(at, url);
    assert_eq!(error.kind(), imds_attest::ErrorKind::Chain, "{error:?}");
}

#[test]
fn a_forged_document_with_an_unreachable_url_does_not_block_the_genuine_one() {
    let server = AiaServer::start();
    let url = server.url("/pki/issuing.cer");
    let c = chain(&url);
    server.serve("/pki/issuing.cer", ok(c.issuing.cert.to_der().unwrap()));
    let fetcher = fetcher(&server);
    // Nothing is served there: 404.
    let missing = server.url("/pki/missing.cer");
    for _ in 0..2 {
        let err =
            verify_with(c.trust(), Some(Arc::clone(&fetcher)), &forged(&c, &missing)).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::IntermediateFetch {
                    reason: AiaFetchReason::Status { status: 404 }
                        | AiaFetchReason::RecentlyFailed { .. },
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert_eq!(fetcher.requests(), 1, "the failed URL is not asked again");
    let verified = verify_with(c.trust(), Some(Arc::clone(&fetcher)), &c.doc()).unwrap();
    assert_eq!(verified.fetched_intermediates(), std::slice::from_ref(&url));
    assert_eq!(fetcher.requests(), 2);
}

#[test]
fn a_forged_document_at_the_genuine_url_does_not_block_the_genuine_one() {
    let server = AiaServer::start();
    let url = server.url("/pki/issuing.cer");
    let c = chain(&url);
    server.serve("/pki/issuing.cer", ok(c.issuing.cert.to_der().unwrap()));
    let fetcher = fetcher(&server);
    for _ in 0..3 {
        let err =
            verify_with(c.trust(), Some(Arc::clone(&fetcher)), &forged(&c, &url)).unwrap_err();
        assert_forged_chain_refused(&err, &url);
    }
    let verified = verify_with(c.trust(), Some(Arc::clone(&fetcher)), &c.doc()).unwrap();
    assert_eq!(verified.fetched_intermediates(), std::slice::from_ref(&url));
    assert_eq!(fetcher.requests(), 1, "the URL's answer is used again");
}

#[test]
fn a_forged_document_does_not_evict_a_certificate_that_passed() {
    let server = AiaServer::start();
    let url = server.url("/pki/issuing.cer");
    let c = chain(&url);
    server.serve("/pki/issuing.cer", ok(c.issuing.cert.to_der().unwrap()));
    let fetcher = fetcher(&server);
    verify_with(c.trust(), Some(Arc::clone(&fetcher)), &c.doc()).unwrap();
    assert_eq!(fetcher.requests(), 1);
    // At the genuine URL, and at another one: the certificate that passed is tried, and the
    // chain fails, which says nothing against it.
    for at in [url.clone(), server.url("/pki/missing.cer")] {
        let err = verify_with(c.trust(), Some(Arc::clone(&fetcher)), &forged(&c, &at)).unwrap_err();
        assert_forged_chain_refused(&err, &at);
    }
    let verified = verify_with(c.trust(), Some(Arc::clone(&fetcher)), &c.doc()).unwrap();
    assert_eq!(verified.fetched_intermediates(), std::slice::from_ref(&url));
    assert_eq!(fetcher.requests(), 1, "no request after the first");
}

#[test]
fn refuses_a_chain_needing_a_fifth_fetch() {
    let server = AiaServer::start();
    let root = Issued::new(&CertSpec::ca("Test Global Root G2", 0), None);
    // root -> CA 1 -> ... -> CA 5 -> leaf, each naming where its issuer is published.
    let mut cas: Vec<Issued> = Vec::new();
    for i in 1..=5 {
        let spec = CertSpec::ca(&format!("Test CA {i}"), 1 + i % 2);
        let parent = cas.last().unwrap_or(&root);
        let aia = (i > 1).then(|| server.url(&format!("/ca{}.cer", i - 1)));
        let ca = Issued::with_aia(&spec, Some(parent), aia.as_deref());
        server.serve(&format!("/ca{i}.cer"), ok(ca.cert.to_der().unwrap()));
        cas.push(ca);
    }
    let leaf = Issued::with_aia(
        &CertSpec::imds_leaf(),
        cas.last(),
        Some(&server.url("/ca5.cer")),
    );
    let doc =
        AttestedDocument::parse(&DocSpec::imds(&claims_json(NONCE, REFERENCE_TIME)).sign(&leaf))
            .unwrap();
    let trust = TrustStore::from_pem(root.pem().as_bytes(), b"").unwrap();
    let err = verify_with(trust, Some(fetcher(&server)), &doc).unwrap_err();
    let Error::IntermediateFetch { url, reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*reason, AiaFetchReason::TooManyFetches { max: 4 });
    assert_eq!(*url, server.url("/ca1.cer"));
    assert_eq!(server.hits(), 4);
}

#[test]
fn a_passed_certificate_kept_on_disk_spares_the_next_fetcher_a_request() {
    let server = AiaServer::start();
    let url = server.url("/pki/issuing.cer");
    let c = chain(&url);
    server.serve("/pki/issuing.cer", ok(c.issuing.cert.to_der().unwrap()));
    let tmp = temp::dir();
    // A folder the fetcher creates.
    let dir = tmp.path().join("fetched");
    let first = Arc::new(HttpFetcher::new(allow(&server)).with_dir(dir.clone()));
    verify_with(c.trust(), Some(first), &c.doc()).unwrap();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    // A new process, as it were: a new fetcher reading the same folder.
    let second = Arc::new(HttpFetcher::new(allow(&server)).with_dir(dir));
    let verified = verify_with(c.trust(), Some(second), &c.doc()).unwrap();
    assert_eq!(verified.fetched_intermediates(), std::slice::from_ref(&url));
    assert_eq!(server.hits(), 1);
}

#[test]
fn a_remembering_verifier_with_a_fetcher_answers_as_one_that_remembers_nothing() {
    let server = AiaServer::start();
    let url = server.url("/pki/issuing.cer");
    let c = chain(&url);
    server.serve("/pki/issuing.cer", ok(c.issuing.cert.to_der().unwrap()));
    let fetcher = fetcher(&server);
    let der = DocSpec::imds(&claims_json(NONCE, REFERENCE_TIME)).sign(&c.leaf);
    let warm = Verifier::new(c.trust(), Policy::default()).with_fetcher(fetcher.clone());
    let cold = Verifier::with_cache_capacity(c.trust(), Policy::default(), 0).with_fetcher(fetcher);
    for at in [
        REFERENCE_TIME,
        REFERENCE_TIME + time::Duration::minutes(1),
        REFERENCE_TIME + time::Duration::days(3650),
    ] {
        for _ in 0..2 {
            let w = warm.verify_bytes(&der, NonceCheck::Exact(NONCE), at);
            let k = cold.verify_bytes(&der, NonceCheck::Exact(NONCE), at);
            assert_eq!(w, k, "{at}");
            match &w {
                Ok(w) => assert_eq!(w.fetched_intermediates(), std::slice::from_ref(&url)),
                // Expired with the fetched CA: reported as with a pinned one.
                Err(e) => assert_eq!(e.kind(), imds_attest::ErrorKind::DocumentExpired, "{e}"),
            }
        }
    }
}

/// A TLS root of no platform, and a loopback HTTPS server whose `localhost` certificate it
/// issued.
fn https_server() -> (Issued, AiaServer) {
    let tls_root = Issued::new(&CertSpec::ca("Test Loopback TLS Root", 7), None);
    let cert = imds_attest_testpki::loopback::localhost_cert(&tls_root, 8);
    (tls_root, AiaServer::start_tls(&cert, &[]))
}

#[test]
fn fetches_over_https_from_a_server_whose_certificate_chains_to_a_tls_root() {
    let (tls_root, server) = https_server();
    let url = server.url("/ca.cer");
    assert!(url.starts_with("https://localhost:"), "{url}");
    let c = chain(&url);
    server.serve("/ca.cer", ok(c.issuing.cert.to_der().unwrap()));
    let fetcher = HttpFetcher::new(allow(&server))
        .without_platform_tls_roots()
        .with_tls_roots(tls_root.pem().as_bytes(), "tls-root.pem")
        .unwrap();
    let verified = verify_with(c.trust(), Some(Arc::new(fetcher)), &c.doc()).unwrap();
    assert_eq!(verified.fetched_intermediates(), [url]);
    assert_eq!(server.hits(), 1);
}

#[test]
fn refuses_an_https_server_whose_certificate_chains_to_no_tls_root_trusted() {
    let (_, server) = https_server();
    let url = server.url("/ca.cer");
    let c = chain(&url);
    server.serve("/ca.cer", ok(c.issuing.cert.to_der().unwrap()));
    // The platform's roots (whatever this machine has) do not hold the test's TLS root.
    let err = verify_with(c.trust(), Some(fetcher(&server)), &c.doc()).unwrap_err();
    let Error::IntermediateFetch {
        reason: AiaFetchReason::Tls { host, message },
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(host, &server.authority());
    assert!(message.contains("invalid peer certificate"), "{message}");
    assert!(
        err.to_string()
            .contains("its certificate must chain to a platform TLS root"),
        "{err}"
    );
    assert_eq!(
        server.hits(),
        0,
        "no request is sent over an untrusted connection"
    );
}

#[test]
fn tls_roots_that_hold_no_certificate_are_refused_naming_the_file() {
    let err = HttpFetcher::new(AiaAllowList::default())
        .with_tls_roots(b"not a certificate", "roots.pem")
        .unwrap_err();
    assert_eq!(
        err,
        Error::TrustFile {
            source: "roots.pem".into(),
            reason: imds_attest::TrustFileReason::NoCertificate,
        }
    );
}

/// A self-signed CA whose subject is a name of `len` characters (one attribute of a type
/// without a length bound, so that OpenSSL writes it as given).
fn ca_with_a_long_name(len: usize) -> Issued {
    use openssl::asn1::Asn1Time;
    use openssl::x509::extension::{BasicConstraints, SubjectKeyIdentifier};
    use openssl::x509::{X509Builder, X509NameBuilder};
    let key = imds_attest_testpki::key(imds_attest_testpki::KeyKind::Rsa(2048), 10);
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("1.3.6.1.4.1.311.99.1", &"n".repeat(len))
        .unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    let from = REFERENCE_TIME.unix_timestamp() - 86_400;
    b.set_not_before(&Asn1Time::from_unix(from).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(from + 400 * 86_400).unwrap())
        .unwrap();
    b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(ski).unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    Issued {
        cert: b.build(),
        key,
    }
}

/// What a message may echo of a 10,000-character name: its first 256 characters, with the
/// rest of the message.
const MESSAGE_BOUND: usize = 2 * 1024;

#[test]
fn an_error_echoes_a_bounded_part_of_a_long_issuer_name() {
    let long = ca_with_a_long_name(10_000);
    let leaf = Issued::with_aia(&CertSpec::imds_leaf(), Some(&long), None);
    let doc =
        AttestedDocument::parse(&DocSpec::imds(&claims_json(NONCE, REFERENCE_TIME)).sign(&leaf))
            .unwrap();
    let c = chain("http://127.0.0.1:1/ca.cer");
    let err = verify_with(c.trust(), None, &doc).unwrap_err();
    let Error::UntrustedIssuer { issuer, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(issuer.len() > 10_000, "the field keeps the whole name");
    let message = err.to_string();
    assert!(message.len() <= MESSAGE_BOUND, "{} bytes", message.len());
    assert!(message.contains("more characters)"), "{message}");
}

#[test]
fn a_fetched_certificate_with_a_long_subject_is_refused_with_a_bounded_message() {
    let server = AiaServer::start();
    let url = server.url("/ca.cer");
    let c = chain(&url);
    // Its subject and issuer, both long, must fit in an answer of MAX_AIA_BYTES.
    server.serve(
        "/ca.cer",
        ok(ca_with_a_long_name(6_000).cert.to_der().unwrap()),
    );
    let err = verify_with(c.trust(), Some(fetcher(&server)), &c.doc()).unwrap_err();
    let Error::FetchedIntermediateRefused {
        reason: FetchedReason::SubjectMismatch { subject },
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(subject.len() > 6_000);
    let message = err.to_string();
    assert!(message.len() <= MESSAGE_BOUND, "{} bytes", message.len());
}
