//! Missing intermediates fetched from the AIA caIssuers URL of the certificate that needs
//! them: the hook ([`IntermediateFetcher`]) the verifier calls when a chain lacks an issuer,
//! the checks a fetched certificate must pass before the chain is tried with it, and the URL
//! policy (allow list, schemes, no userinfo, query or fragment) a fetcher applies before any
//! request. The core does no I/O: the HTTP fetcher is `aia::http`, behind the `aia` feature.
//!
//! Fetching is a server-side request forgery risk (peers have published advisories): only the
//! issuer the failing certificate names is asked for, at its own URL, on an allow-listed host,
//! and what comes back is used only if the normal chain check passes with it added as one more
//! untrusted intermediate.

#[cfg(feature = "aia")]
mod bounded;
#[cfg(feature = "aia")]
pub mod http;

use const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER;
use der::{Decode, Encode};
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::Certificate;

use crate::error::{AiaFetchReason, FetchedReason};
use crate::x509::{ca_issuers, extensions, format_name, is_ca, subject_key_identifier};

/// At most this many intermediates are fetched for one verification.
pub const MAX_FETCHES: usize = 4;

/// A fetched answer larger than this is refused.
pub const MAX_AIA_BYTES: usize = 16 * 1024;

/// The time limit of one fetch.
pub const DEFAULT_AIA_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A caIssuers URL longer than this (in bytes) is refused: the published ones are about a
/// hundred, and what a fetcher remembers is keyed by URL.
pub const MAX_AIA_URL_BYTES: usize = 2 * 1024;

/// A source of missing intermediates, given to a [`Verifier`](crate::Verifier) with
/// [`with_fetcher`](crate::Verifier::with_fetcher).
///
/// The verifier calls [`fetch`](Self::fetch) only when the chain cannot be built from the
/// pinned and carried certificates, once per missing issuer and at most [`MAX_FETCHES`] times
/// per verification; it checks what comes back itself (a CA, the subject asked for, the key
/// identifier asked for, then the whole chain check with it) and tells the fetcher the outcome,
/// so that a fetcher may remember certificates that passed and failures. The verdict is always
/// the verifier's.
///
/// Every request comes from a document nobody has verified yet: a forged one can name a genuine
/// issuer, its key identifier and its URL. What a fetcher remembers must therefore never make
/// another document's request fail: remember a failure by what failed (the URL that could not
/// be fetched), and never forget or refuse a certificate because a chain did not verify with it.
pub trait IntermediateFetcher: Send + Sync {
    /// The certificate (DER or PEM) published for `request`, or why there is none. An
    /// implementation must refuse URLs it would not fetch before making any request.
    fn fetch(&self, request: &IssuerRequest) -> Result<Vec<u8>, AiaFetchReason>;

    /// `der`, fetched for `request`, completed a chain that verified.
    fn accepted(&self, request: &IssuerRequest, der: &[u8]) {
        let _ = (request, der);
    }

    /// What was fetched for `request` is not the certificate asked for: unreadable, not a CA,
    /// or another subject or key identifier than `request` names. That can be the request's
    /// fault as well as the answer's: a key for remembering it must include what was asked for,
    /// not the URL alone.
    ///
    /// Not called when a chain merely fails to verify with a fetched certificate (a forged
    /// document naming a genuine issuer does that), nor when a chain needs too many fetches:
    /// neither says anything against the certificate.
    fn refused(&self, request: &IssuerRequest) {
        let _ = request;
    }
}

/// The issuer a chain lacks: what the certificate that needs it says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuerRequest {
    /// The first AIA caIssuers URL of the certificate whose issuer is missing.
    pub url: String,
    /// The issuer's name as text.
    pub issuer: String,
    /// The issuer's name, DER.
    pub issuer_der: Vec<u8>,
    /// The child's authorityKeyIdentifier keyIdentifier, if it has one.
    pub key_id: Option<Vec<u8>>,
}

impl IssuerRequest {
    /// What to ask for to complete the chain above `der` (a certificate): `None` when it
    /// cannot be read or names no caIssuers URL.
    pub fn for_child(der: &[u8]) -> Option<IssuerRequest> {
        let cert = Certificate::from_der(der).ok()?;
        let url = ca_issuers(&cert).into_iter().next()?;
        Some(IssuerRequest {
            url,
            issuer: format_name(&cert.tbs_certificate.issuer),
            issuer_der: cert.tbs_certificate.issuer.to_der().ok()?,
            key_id: authority_key_id(&cert),
        })
    }
}

/// The request for the certificate among `certs` whose subject and issuer are those the chain
/// check named: the one whose issuer is missing.
pub(crate) fn request_for<'a>(
    subject: &str,
    issuer: &str,
    certs: impl Iterator<Item = &'a [u8]>,
) -> Option<IssuerRequest> {
    certs
        .filter_map(|der| {
            let cert = Certificate::from_der(der).ok()?;
            let tbs = &cert.tbs_certificate;
            (format_name(&tbs.subject) == subject && format_name(&tbs.issuer) == issuer)
                .then_some(der)
        })
        .find_map(IssuerRequest::for_child)
}

/// The DER of a fetched answer, if it is the certificate asked for: one strict DER or PEM
/// certificate, a CA, whose subject is the issuer asked for and whose subjectKeyIdentifier is
/// the child's authorityKeyIdentifier. Whether it completes a valid chain is the chain check's.
pub(crate) fn check_candidate(
    request: &IssuerRequest,
    bytes: &[u8],
) -> Result<Vec<u8>, FetchedReason> {
    let der = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let (label, der) =
            der::pem::decode_vec(bytes).map_err(|e| FetchedReason::NotACertificate {
                message: e.to_string(),
            })?;
        if label != "CERTIFICATE" {
            return Err(FetchedReason::NotACertificate {
                message: format!("PEM label {label}"),
            });
        }
        der
    } else {
        bytes.to_vec()
    };
    let cert = Certificate::from_der(&der).map_err(|e| FetchedReason::NotACertificate {
        message: e.to_string(),
    })?;
    if !is_ca(&cert) {
        return Err(FetchedReason::NotCa);
    }
    let subject = &cert.tbs_certificate.subject;
    if subject.to_der().ok().as_deref() != Some(request.issuer_der.as_slice()) {
        return Err(FetchedReason::SubjectMismatch {
            subject: format_name(subject),
        });
    }
    match (&request.key_id, subject_key_identifier(&cert)) {
        (Some(wanted), Some(ski)) if *wanted == ski => Ok(der),
        _ => Err(FetchedReason::KeyIdMismatch),
    }
}

fn authority_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    extensions(cert, ID_CE_AUTHORITY_KEY_IDENTIFIER)
        .next()
        .and_then(|e| AuthorityKeyIdentifier::from_der(e.extn_value.as_bytes()).ok())
        .and_then(|aki| aki.key_identifier)
        .map(|k| k.as_bytes().to_vec())
}

/// A URL a fetcher may request: `http` or `https`, a host of letters, digits, `-` and `.`,
/// an optional port, a path; no userinfo, query or fragment; at most [`MAX_AIA_URL_BYTES`].
/// The path is taken as it is, never normalised, so one that a server could read as another
/// is refused: `.` or `..` segments, a backslash, or `%2e`, `%2f`, `%5c` (a percent-encoded
/// dot, slash or backslash, in any case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiaUrl {
    /// `https` rather than `http`.
    pub https: bool,
    /// The host, lower case.
    pub host: String,
    /// The port (the scheme's default when the URL names none).
    pub port: u16,
    /// Whether the URL named the port.
    pub explicit_port: bool,
    /// The path, from its `/`.
    pub path: String,
}

impl AiaUrl {
    /// Reads `url`, refusing what is never fetched.
    pub fn parse(url: &str) -> Result<AiaUrl, AiaFetchReason> {
        if url.len() > MAX_AIA_URL_BYTES {
            return Err(AiaFetchReason::Malformed);
        }
        let (scheme, rest) = url.split_once("://").ok_or(AiaFetchReason::Malformed)?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return Err(AiaFetchReason::Scheme),
        };
        if rest.contains(['?', '#']) {
            return Err(AiaFetchReason::QueryOrFragment);
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(AiaFetchReason::Userinfo);
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                Some(port.parse::<u16>().map_err(|_| AiaFetchReason::Malformed)?),
            ),
            None => (authority, None),
        };
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !host_ok || !plain_path(path) {
            return Err(AiaFetchReason::Malformed);
        }
        Ok(AiaUrl {
            https,
            host: host.to_ascii_lowercase(),
            port: port.unwrap_or(if https { 443 } else { 80 }),
            explicit_port: port.is_some(),
            path: path.to_owned(),
        })
    }

    /// `host` or `host:port`, as the URL named it.
    pub fn authority(&self) -> String {
        if self.explicit_port {
            format!("{}:{}", self.host, self.port)
        } else {
            self.host.clone()
        }
    }
}

/// Whether `path` means what it says to any server: printable ASCII, no `.` or `..` segment,
/// no backslash, no percent-encoded dot, slash or backslash. Checked before an allow list's
/// path prefix, which a server decoding or normalising the path would otherwise escape.
fn plain_path(path: &str) -> bool {
    const ENCODED: [&str; 3] = ["%2e", "%2f", "%5c"];
    let lower = path.to_ascii_lowercase();
    path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && !path.split('/').any(|seg| seg == ".." || seg == ".")
        && !ENCODED.iter().any(|e| lower.contains(e))
}

/// The hosts a fetcher may request, each with an optional port and path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiaAllowList {
    hosts: Vec<AllowedHost>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedHost {
    host: String,
    /// `None`: the scheme's default port only.
    port: Option<u16>,
    path_prefix: Option<&'static str>,
}

impl Default for AiaAllowList {
    /// Where Microsoft and DigiCert publish the IMDS chains' CAs: `www.microsoft.com` under
    /// `/pkiops/`, `caissuers.microsoft.com`, `cacerts.digicert.com`, `cacerts.digicert.cn`,
    /// `cacerts.geotrust.com`, each on its scheme's default port.
    fn default() -> AiaAllowList {
        let host = |host: &str, path_prefix| AllowedHost {
            host: host.into(),
            port: None,
            path_prefix,
        };
        AiaAllowList {
            hosts: vec![
                host("www.microsoft.com", Some("/pkiops/")),
                host("caissuers.microsoft.com", None),
                host("cacerts.digicert.com", None),
                host("cacerts.digicert.cn", None),
                host("cacerts.geotrust.com", None),
            ],
        }
    }
}

impl AiaAllowList {
    /// A list of these `HOST[:PORT]` entries only (any path), replacing the default one.
    pub fn of<S: AsRef<str>>(entries: &[S]) -> Result<AiaAllowList, AiaFetchReason> {
        let hosts = entries
            .iter()
            .map(|entry| {
                let url = AiaUrl::parse(&format!("http://{}/", entry.as_ref()))?;
                Ok(AllowedHost {
                    host: url.host,
                    port: url.explicit_port.then_some(url.port),
                    path_prefix: None,
                })
            })
            .collect::<Result<_, AiaFetchReason>>()?;
        Ok(AiaAllowList { hosts })
    }

    /// Whether `url` may be requested.
    pub fn allows(&self, url: &AiaUrl) -> bool {
        let default_port = if url.https { 443 } else { 80 };
        self.hosts.iter().any(|h| {
            h.host == url.host
                && h.port.unwrap_or(default_port) == url.port
                && h.path_prefix.is_none_or(|p| url.path.starts_with(p))
        })
    }

    /// `url` read and checked against this list: what a fetcher may request, or why not.
    pub fn check(&self, url: &str) -> Result<AiaUrl, AiaFetchReason> {
        let parsed = AiaUrl::parse(url)?;
        if self.allows(&parsed) {
            Ok(parsed)
        } else {
            Err(AiaFetchReason::HostNotAllowed {
                host: parsed.authority(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_allow_list_takes_only_the_published_hosts() {
        let list = AiaAllowList::default();
        let ok = [
            "http://www.microsoft.com/pkiops/certs/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2007%20-%20xsign.crt",
            "http://caissuers.microsoft.com/pki/x.crt",
            "https://cacerts.digicert.com/DigiCertGlobalRootG2.crt",
            "http://CACERTS.digicert.cn/x.crt",
            "http://cacerts.geotrust.com/x.crt",
        ];
        for url in ok {
            assert!(list.check(url).is_ok(), "{url}");
        }
        let refused = [
            ("http://www.microsoft.com/other/x.crt", "www.microsoft.com"),
            ("http://www.microsoft.com/pkiops/../x", ""),
            ("http://www.microsoft.com/pkiops/%2e%2e/x", ""),
            ("http://www.microsoft.com/pkiops/%2E%2E/x", ""),
            ("http://www.microsoft.com/pkiops/..%2fx", ""),
            ("http://www.microsoft.com/pkiops/..%2Fx", ""),
            ("http://www.microsoft.com/pkiops/..\\x", ""),
            ("http://www.microsoft.com/pkiops/%5c..%5cx", ""),
            ("http://www.microsoft.com/pkiops/./x", ""),
            ("http://169.254.169.254/metadata", "169.254.169.254"),
            (
                "http://caissuers.microsoft.com:8080/x",
                "caissuers.microsoft.com:8080",
            ),
            (
                "http://caissuers.microsoft.com.evil.example/x",
                "caissuers.microsoft.com.evil.example",
            ),
        ];
        for (url, host) in refused {
            let expected = if host.is_empty() {
                AiaFetchReason::Malformed
            } else {
                AiaFetchReason::HostNotAllowed { host: host.into() }
            };
            assert_eq!(list.check(url), Err(expected), "{url}");
        }
    }

    #[test]
    fn refuses_a_url_longer_than_the_limit_and_takes_one_at_it() {
        let list = AiaAllowList::default();
        let base = "http://caissuers.microsoft.com/";
        let at_limit = format!("{base}{}", "a".repeat(MAX_AIA_URL_BYTES - base.len()));
        assert!(list.check(&at_limit).is_ok());
        let over = format!("{at_limit}a");
        assert_eq!(list.check(&over), Err(AiaFetchReason::Malformed));
    }

    #[test]
    fn refuses_userinfo_query_fragment_and_other_schemes() {
        let list = AiaAllowList::default();
        let cases = [
            (
                "http://user@caissuers.microsoft.com/x",
                AiaFetchReason::Userinfo,
            ),
            (
                "http://u:p@caissuers.microsoft.com/x",
                AiaFetchReason::Userinfo,
            ),
            (
                "http://caissuers.microsoft.com/x?a=1",
                AiaFetchReason::QueryOrFragment,
            ),
            (
                "http://caissuers.microsoft.com/x#f",
                AiaFetchReason::QueryOrFragment,
            ),
            ("ftp://caissuers.microsoft.com/x", AiaFetchReason::Scheme),
            ("ldap://caissuers.microsoft.com/x", AiaFetchReason::Scheme),
            ("caissuers.microsoft.com/x", AiaFetchReason::Malformed),
            ("http://[::1]/x", AiaFetchReason::Malformed),
        ];
        for (url, reason) in cases {
            assert_eq!(list.check(url), Err(reason), "{url}");
        }
    }

    #[test]
    fn every_refusal_has_its_own_message() {
        use crate::error::Error;
        let fetch = [
            AiaFetchReason::Scheme,
            AiaFetchReason::Userinfo,
            AiaFetchReason::QueryOrFragment,
            AiaFetchReason::Malformed,
            AiaFetchReason::HostNotAllowed { host: "h".into() },
            AiaFetchReason::Redirect {
                status: 302,
                location: "l".into(),
            },
            AiaFetchReason::Status { status: 404 },
            AiaFetchReason::TooLarge { max: MAX_AIA_BYTES },
            AiaFetchReason::Timeout { millis: 10 },
            AiaFetchReason::Connect {
                message: "m".into(),
            },
            AiaFetchReason::Tls {
                host: "h".into(),
                message: "m".into(),
            },
            AiaFetchReason::TooManyFetches { max: MAX_FETCHES },
            AiaFetchReason::RecentlyFailed { retry_in_secs: 1 },
        ]
        .map(|r| r.to_string());
        let used = [
            FetchedReason::NotACertificate {
                message: "m".into(),
            },
            FetchedReason::NotCa,
            FetchedReason::SubjectMismatch {
                subject: "s".into(),
            },
            FetchedReason::KeyIdMismatch,
            FetchedReason::Chain {
                error: Box::new(Error::NoTrustAnchors {
                    cloud: crate::cloud::Cloud::Public,
                }),
            },
        ]
        .map(|r| r.to_string());
        let all: Vec<&String> = fetch.iter().chain(used.iter()).collect();
        let distinct: std::collections::BTreeSet<&String> = all.iter().copied().collect();
        assert_eq!(distinct.len(), all.len(), "{all:#?}");
    }

    #[test]
    fn replacement_list_names_host_and_port() {
        let list = AiaAllowList::of(&["127.0.0.1:8080"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(list.check("http://127.0.0.1:8080/pki/a.cer").is_ok());
        assert_eq!(
            list.check("http://127.0.0.1:8081/pki/a.cer"),
            Err(AiaFetchReason::HostNotAllowed {
                host: "127.0.0.1:8081".into()
            })
        );
        assert!(list.check("http://caissuers.microsoft.com/x").is_err());
    }
}
