//! The signer certificate: its facts, and the DNS names checked against the clouds.

use const_oid::db::rfc4519::COMMON_NAME;
use const_oid::db::rfc5280::{ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER};
use const_oid::ObjectIdentifier;
use der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
use der::{Decode, Encode};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{SubjectAltName, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::cms::hex;
use crate::error::Error;

/// The certificate a SignerInfo names, parsed once. Its names are formatted only when asked
/// for: formatting is costly, and a verifier that has seen the signer before never needs it.
#[derive(Debug, Clone)]
pub(crate) struct SignerCertificate {
    pub(crate) der: Vec<u8>,
    pub(crate) spki_der: Vec<u8>,
    pub(crate) dns_names: Vec<String>,
    cert: Certificate,
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
        let spki_der = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| Error::der("SubjectPublicKeyInfo", e))?;
        let dns_names = dns_names(&cert)?;
        Ok(SignerCertificate {
            der,
            spki_der,
            dns_names,
            cert,
        })
    }

    /// The subject, formatted (RFC 4514).
    pub(crate) fn subject(&self) -> String {
        format_name(&self.cert.tbs_certificate.subject)
    }

    /// The decoded certificate.
    pub(crate) fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// What a SignerInfo may name this certificate by.
    pub(crate) fn identity(&self) -> crate::cms::SignerIdentity {
        crate::cms::SignerIdentity::of(&self.cert)
    }

    /// Everything a verified document reports about this certificate.
    pub(crate) fn facts(&self) -> Result<SignerFacts, Error> {
        let out_of_range = || Error::Structure {
            detail: "the signer certificate's validity is out of range".into(),
        };
        let tbs = &self.cert.tbs_certificate;
        Ok(SignerFacts {
            subject: self.subject(),
            issuer: format_name(&tbs.issuer),
            serial: hex(tbs.serial_number.as_bytes()),
            not_before: instant(tbs.validity.not_before).ok_or_else(out_of_range)?,
            not_after: instant(tbs.validity.not_after).ok_or_else(out_of_range)?,
            sha256: hex(&Sha256::digest(&self.der)),
            dns_names: self.dns_names.clone(),
        })
    }
}

/// A distinguished name as RFC 4514 text, as x509-cert formats it (last RDN first), but with
/// the common attribute types looked up in a short table: x509-cert searches the whole OID
/// database for each attribute, which made formatting cost more than parsing.
pub(crate) fn format_name(name: &Name) -> String {
    const SHORT: [(ObjectIdentifier, &str); 10] = [
        (COMMON_NAME, "CN"),
        (ObjectIdentifier::new_unwrap("2.5.4.6"), "C"),
        (ObjectIdentifier::new_unwrap("2.5.4.7"), "L"),
        (ObjectIdentifier::new_unwrap("2.5.4.8"), "ST"),
        (ObjectIdentifier::new_unwrap("2.5.4.9"), "STREET"),
        (ObjectIdentifier::new_unwrap("2.5.4.10"), "O"),
        (ObjectIdentifier::new_unwrap("2.5.4.11"), "OU"),
        (ObjectIdentifier::new_unwrap("2.5.4.5"), "SERIALNUMBER"),
        (
            ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.25"),
            "DC",
        ),
        (
            ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.1"),
            "UID",
        ),
    ];
    let mut out = String::new();
    for (i, rdn) in name.0.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.0.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let short = SHORT
                .iter()
                .find(|(oid, _)| *oid == atv.oid)
                .map(|(_, s)| *s);
            match (short, directory_string(&atv.value)) {
                (Some(short), Some(value)) => {
                    out.push_str(short);
                    out.push('=');
                    escape_value(&mut out, value);
                }
                _ => out.push_str(&atv.to_string()),
            }
        }
    }
    out
}

fn directory_string(value: &der::Any) -> Option<&str> {
    Utf8StringRef::try_from(value)
        .map(|s| s.as_str())
        .or_else(|_| PrintableStringRef::try_from(value).map(|s| s.as_str()))
        .or_else(|_| Ia5StringRef::try_from(value).map(|s| s.as_str()))
        .ok()
}

/// RFC 4514 section 2.4 escaping, as x509-cert does it.
fn escape_value(out: &mut String, value: &str) {
    let mut chars = value.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || chars.peek().is_none() => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\x00'..='\x1f' | '\x7f' => out.push_str(&format!("\\{:02x}", c as u32)),
            _ => out.push(c),
        }
    }
}

/// A certificate time as an instant; `None` past what `time` can represent.
pub(crate) fn instant(t: x509_cert::time::Time) -> Option<OffsetDateTime> {
    i64::try_from(t.to_unix_duration().as_secs())
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
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
            .filter_map(|atv| directory_string(&atv.value).map(str::to_owned))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn formats_names_exactly_as_x509_cert_does() {
        for text in [
            "CN=metadata.azure.com,O=Microsoft Corporation,L=Redmond,ST=WA,C=US",
            "CN=a\\,b+OU=x,DC=example,DC=com",
            "CN=\\#hash,O=\\ lead and trail\\ ",
            "UID=u1,SERIALNUMBER=42,STREET=1 Main",
        ] {
            let name = Name::from_str(text).unwrap();
            assert_eq!(format_name(&name), name.to_string(), "{text}");
        }
    }
}
