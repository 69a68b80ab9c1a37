//! Everything in a document, shown without trusting any of it: for incident work and for
//! finding which intermediate a rotated signer needs.

use der::{Decode, Encode};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::cms::AttestedDocument;
use crate::error::Error;
use crate::trust::TrustStore;
use crate::x509::{ca_issuers, dns_names, format_name, hex, instant};

/// What a document holds, **unverified**.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Inspection {
    /// Always false: nothing here was checked.
    pub verified: bool,
    /// The content as JSON when it parses as JSON, else as (lossy) text.
    pub content: crate::json::Value,
    /// Every embedded certificate, the signer marked.
    pub certificates: Vec<CertificateInfo>,
    /// Chains from the signer through the given trust store's certificates to one of its
    /// roots, by issuer name only (no signature or validity checked): what could complete it.
    pub possible_chains: Vec<Vec<String>>,
}

/// One certificate's facts, as written in it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CertificateInfo {
    /// Whether the SignerInfo names this certificate.
    pub signer: bool,
    /// Subject (RFC 4514).
    pub subject: String,
    /// Issuer (RFC 4514).
    pub issuer: String,
    /// Serial, upper-case hex.
    pub serial: String,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_before: Option<OffsetDateTime>,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// SAN dNSNames (or CNs without a SAN extension).
    pub dns_names: Vec<String>,
    /// AIA caIssuers URLs: where the issuer's certificate is published.
    pub ca_issuers: Vec<String>,
    /// SHA-256 of the DER, upper-case hex.
    pub sha256: String,
}

/// Describes `doc` and which certificates of `trust` could complete its chain.
pub fn inspect(doc: &AttestedDocument, trust: &TrustStore) -> Result<Inspection, Error> {
    let content = serde_json::from_slice(doc.content()).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(doc.content()).into_owned())
    });
    let mut certificates = vec![describe(&doc.signer.der, true)?];
    for der in &doc.other_certificates {
        certificates.push(describe(der, false)?);
    }
    let signer =
        Certificate::from_der(&doc.signer.der).map_err(|e| Error::der("Certificate", e))?;
    let issuer = signer
        .tbs_certificate
        .issuer
        .to_der()
        .map_err(|e| Error::der("Name", e))?;
    Ok(Inspection {
        verified: false,
        content,
        certificates,
        possible_chains: trust.paths_to_roots(&issuer),
    })
}

fn describe(der: &[u8], signer: bool) -> Result<CertificateInfo, Error> {
    let cert = Certificate::from_der(der).map_err(|e| Error::der("Certificate", e))?;
    let tbs = &cert.tbs_certificate;
    let ca_issuers = ca_issuers(&cert);
    Ok(CertificateInfo {
        signer,
        subject: format_name(&tbs.subject),
        issuer: format_name(&tbs.issuer),
        serial: hex(tbs.serial_number.as_bytes()),
        not_before: instant(tbs.validity.not_before),
        not_after: instant(tbs.validity.not_after),
        dns_names: dns_names(&cert).unwrap_or_default(),
        ca_issuers,
        sha256: hex(&Sha256::digest(der)),
    })
}
