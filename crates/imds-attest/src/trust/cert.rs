//! One certificate of a trust store: its encoding and what the store needs of it at once, with
//! OpenSSL's decodings made the first time a chain may use it.
//!
//! OpenSSL 3 takes a few hundred microseconds to decode a certificate (it sets up its generic
//! key decoders each time): decoding the 38 pinned ones up front was most of a command-line
//! verification. A chain uses two or three of them.

use std::ops::Range;
use std::sync::OnceLock;

use openssl::x509::{X509Name, X509NameRef, X509};
use time::OffsetDateTime;
use x509_cert::der::Decode;

use crate::cloud::Cloud;
use crate::error::TrustFileReason;
use crate::tlv::{child_at, value_range};
use crate::x509::instant;

pub(super) struct TrustCert {
    der: Vec<u8>,
    /// Where the issuer and subject names stand in `der`, as encoded there.
    issuer: Range<usize>,
    subject: Range<usize>,
    /// notBefore and notAfter; `None` when they could not be read.
    pub(super) validity: Option<(OffsetDateTime, OffsetDateTime)>,
    /// Where it came from: its file under `certs/`, or the source a caller named.
    pub(super) label: String,
    pub(super) anchor: bool,
    /// Empty: every cloud (certificates a caller supplies).
    pub(super) clouds: &'static [Cloud],
    x509: OnceLock<Option<X509>>,
    /// OpenSSL's reading of the subject and issuer names: OpenSSL chooses issuers by them.
    names: OnceLock<Option<(X509Name, X509Name)>>,
}

impl TrustCert {
    /// A certificate from its DER, which must be strict: the same parser as for documents,
    /// since what OpenSSL tolerates is not enough. The error says why it is not.
    pub(super) fn new(
        der: Vec<u8>,
        label: String,
        anchor: bool,
        clouds: &'static [Cloud],
    ) -> Result<TrustCert, TrustFileReason> {
        let cert =
            x509_cert::Certificate::from_der(&der).map_err(|e| TrustFileReason::NotStrictDer {
                message: e.to_string(),
            })?;
        let validity = cert.tbs_certificate.validity;
        let validity = instant(validity.not_before).zip(instant(validity.not_after));
        let (issuer, subject) = name_ranges(&der).ok_or(TrustFileReason::NoNames)?;
        Ok(TrustCert {
            der,
            issuer,
            subject,
            validity,
            label,
            anchor,
            clouds,
            x509: OnceLock::new(),
            names: OnceLock::new(),
        })
    }

    /// [`new`](Self::new) for a certificate a caller supplies (serving every cloud), which
    /// OpenSSL has decoded already.
    pub(super) fn decoded(
        x509: X509,
        der: Vec<u8>,
        label: String,
        anchor: bool,
    ) -> Result<TrustCert, TrustFileReason> {
        let cert = TrustCert::new(der, label, anchor, &[])?;
        // Just created: the cell is empty.
        let _ = cert.x509.set(Some(x509));
        Ok(cert)
    }

    pub(super) fn serves(&self, cloud: Cloud) -> bool {
        self.clouds.is_empty() || self.clouds.contains(&cloud)
    }

    /// OpenSSL's decoding, or `None` when OpenSSL cannot read it.
    pub(super) fn x509(&self) -> Option<&X509> {
        self.x509
            .get_or_init(|| X509::from_der(&self.der).ok())
            .as_ref()
    }

    /// The subject and issuer names as OpenSSL reads them, or `None` when it cannot.
    pub(super) fn names(&self) -> Option<(&X509NameRef, &X509NameRef)> {
        self.names
            .get_or_init(|| {
                let subject = X509Name::from_der(self.subject_der()).ok()?;
                let issuer = X509Name::from_der(self.issuer_der()).ok()?;
                Some((subject, issuer))
            })
            .as_ref()
            .map(|(subject, issuer)| (&**subject, &**issuer))
    }

    /// The subject name's DER, as encoded in the certificate.
    pub(super) fn subject_der(&self) -> &[u8] {
        self.der.get(self.subject.clone()).unwrap_or_default()
    }

    /// The issuer name's DER, as encoded in the certificate.
    pub(super) fn issuer_der(&self) -> &[u8] {
        self.der.get(self.issuer.clone()).unwrap_or_default()
    }

    /// The certificate's DER.
    pub(super) fn der(&self) -> &[u8] {
        &self.der
    }
}

impl Clone for TrustCert {
    /// A copy that shares OpenSSL's decoding of the certificate and reads the names again
    /// when needed (OpenSSL's names cannot be shared).
    fn clone(&self) -> TrustCert {
        TrustCert {
            der: self.der.clone(),
            issuer: self.issuer.clone(),
            subject: self.subject.clone(),
            validity: self.validity,
            label: self.label.clone(),
            anchor: self.anchor,
            clouds: self.clouds,
            x509: self.x509.clone(),
            names: OnceLock::new(),
        }
    }
}

/// Where the issuer and subject names stand in a certificate's DER: TBSCertificate {
/// [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject, .. }.
fn name_ranges(der: &[u8]) -> Option<(Range<usize>, Range<usize>)> {
    let tbs = child_at(der, 0, 0)?;
    let skip = usize::from(der.get(child_at(der, tbs, 0)?) == Some(&0xa0));
    let whole = |index: usize| {
        let start = child_at(der, tbs, skip + index)?;
        Some(start..value_range(der, start)?.1.end)
    };
    Some((whole(2)?, whole(4)?))
}
