//! The signer certificate: its facts, and the DNS names checked against the clouds.

use const_oid::db::rfc4519::COMMON_NAME;
use const_oid::db::rfc5280::{ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER};
use der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
use der::{Decode, Encode};
use openssl::hash::MessageDigest;
use serde::Serialize;
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{SubjectAltName, SubjectKeyIdentifier};
use x509_cert::Certificate;

use crate::cms::hex;
use crate::error::Error;

/// The certificate a SignerInfo names, parsed once.
#[derive(Debug, Clone)]
pub(crate) struct SignerCertificate {
    pub(crate) der: Vec<u8>,
    pub(crate) spki_der: Vec<u8>,
    pub(crate) subject: String,
    pub(crate) dns_names: Vec<String>,
    pub(crate) facts: SignerFacts,
}

/// What a verified document reports about the certificate that signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignerFacts {
    /// Subject distinguished name (RFC 4514).
    pub subject: String,
    /// Issuer distinguished name (RFC 4514).
    pub issuer: String,
    /// Serial number, upper-case hex.
    pub serial: String,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// SHA-256 of the certificate's DER, upper-case hex.
    pub sha256: String,
    /// The DNS names checked against the cloud's domain.
    pub dns_names: Vec<String>,
}

impl SignerCertificate {
    pub(crate) fn new(cert: Certificate, der: Vec<u8>) -> Result<SignerCertificate, Error> {
        let tbs = &cert.tbs_certificate;
        let spki_der = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| Error::der("SubjectPublicKeyInfo", e))?;
        let subject = tbs.subject.to_string();
        let dns_names = dns_names(&cert)?;
        let digest = openssl::hash::hash(MessageDigest::sha256(), &der)
            .map_err(|e| Error::crypto("hashing the signer certificate", e))?;
        let facts = SignerFacts {
            subject: subject.clone(),
            issuer: tbs.issuer.to_string(),
            serial: hex(tbs.serial_number.as_bytes()),
            not_before: instant(tbs.validity.not_before)?,
            not_after: instant(tbs.validity.not_after)?,
            sha256: hex(&digest),
            dns_names: dns_names.clone(),
        };
        Ok(SignerCertificate {
            der,
            spki_der,
            subject,
            dns_names,
            facts,
        })
    }
}

fn instant(t: x509_cert::time::Time) -> Result<OffsetDateTime, Error> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| Error::Structure {
        detail: format!("certificate time out of range: {e}"),
    })
}

/// The certificate's DNS names: its SAN dNSNames, or its subject CNs only when it has no SAN
/// extension at all (a SAN without a matching name is never rescued by the CN).
pub(crate) fn dns_names(cert: &Certificate) -> Result<Vec<String>, Error> {
    let tbs = &cert.tbs_certificate;
    let mut sans = tbs
        .extensions
        .iter()
        .flatten()
        .filter(|ext| ext.extn_id == ID_CE_SUBJECT_ALT_NAME);
    match (sans.next(), sans.next()) {
        (Some(_), Some(_)) => Err(Error::Structure {
            detail: "the signer certificate has two subjectAltName extensions".into(),
        }),
        (Some(ext), None) => {
            let san = SubjectAltName::from_der(ext.extn_value.as_bytes())
                .map_err(|e| Error::der("signer subjectAltName", e))?;
            Ok(san
                .0
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DnsName(dns) => Some(dns.to_string()),
                    _ => None,
                })
                .collect())
        }
        (None, _) => Ok(tbs
            .subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .filter(|atv| atv.oid == COMMON_NAME)
            .filter_map(|atv| {
                let v = &atv.value;
                Utf8StringRef::try_from(v)
                    .map(|s| s.as_str().to_owned())
                    .or_else(|_| PrintableStringRef::try_from(v).map(|s| s.as_str().to_owned()))
                    .or_else(|_| Ia5StringRef::try_from(v).map(|s| s.as_str().to_owned()))
                    .ok()
            })
            .collect()),
    }
}

pub(crate) fn subject_key_identifier(cert: &Certificate) -> Option<Vec<u8>> {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|ext| ext.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)
        .and_then(|ext| SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes()).ok())
        .map(|ski| ski.0.as_bytes().to_vec())
}
