//! X.509 helpers shared by the signer, trust and inspection code: names as text, times as
//! instants, extensions looked up, hex.

use const_oid::db::rfc4519::COMMON_NAME;
use const_oid::db::rfc5280::{
    ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_PE_AUTHORITY_INFO_ACCESS,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
use der::Decode;
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, SubjectAltName, SubjectKeyIdentifier};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::error::{Error, StructureReason, TrustFileReason};

const ID_AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");

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

/// The subject of a certificate's DER as text, or a placeholder when it cannot be read.
pub(crate) fn subject_of_der(der: Option<&[u8]>) -> String {
    der.and_then(|d| Certificate::from_der(d).ok()).map_or_else(
        || "(unreadable certificate)".to_owned(),
        |c| format_name(&c.tbs_certificate.subject),
    )
}

/// Whether basicConstraints says cA.
pub(crate) fn is_ca(cert: &Certificate) -> bool {
    extensions(cert, const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS)
        .next()
        .and_then(|e| {
            x509_cert::ext::pkix::BasicConstraints::from_der(e.extn_value.as_bytes()).ok()
        })
        .is_some_and(|bc| bc.ca)
}

/// Upper-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The certificate's extensions of type `oid`.
pub(crate) fn extensions(
    cert: &Certificate,
    oid: ObjectIdentifier,
) -> impl Iterator<Item = &Extension> {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(move |ext| ext.extn_id == oid)
}

/// The certificate's DNS names: its SAN dNSNames, or its subject CNs only when it has no SAN
/// extension at all (a SAN without a matching name is never rescued by the CN).
pub(crate) fn dns_names(cert: &Certificate) -> Result<Vec<String>, Error> {
    let mut sans = extensions(cert, ID_CE_SUBJECT_ALT_NAME);
    match (sans.next(), sans.next()) {
        (Some(_), Some(_)) => Err(Error::structure(StructureReason::TwoSubjectAltNames)),
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
        (None, _) => Ok(common_names(cert)),
    }
}

/// Whether the certificate has a subjectAltName extension.
pub(crate) fn has_san(cert: &Certificate) -> bool {
    extensions(cert, ID_CE_SUBJECT_ALT_NAME).next().is_some()
}

/// The subject's common names.
pub(crate) fn common_names(cert: &Certificate) -> Vec<String> {
    cert.tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == COMMON_NAME)
        .filter_map(|atv| directory_string(&atv.value).map(str::to_owned))
        .collect()
}

/// The subjectKeyIdentifier's value, if the certificate has one that decodes.
pub(crate) fn subject_key_identifier(cert: &Certificate) -> Option<Vec<u8>> {
    extensions(cert, ID_CE_SUBJECT_KEY_IDENTIFIER)
        .next()
        .and_then(|ext| SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes()).ok())
        .map(|ski| ski.0.as_bytes().to_vec())
}

/// The AIA caIssuers URLs: where the issuer's certificate is published.
pub(crate) fn ca_issuers(cert: &Certificate) -> Vec<String> {
    extensions(cert, ID_PE_AUTHORITY_INFO_ACCESS)
        .filter_map(|e| AuthorityInfoAccessSyntax::from_der(e.extn_value.as_bytes()).ok())
        .flat_map(|aia| aia.0)
        .filter(|ad| ad.access_method == ID_AD_CA_ISSUERS)
        .filter_map(|ad| match ad.access_location {
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
            _ => None,
        })
        .collect()
}

/// The certificates of a PEM file, each parsed by OpenSSL and with its DER; `source` names the
/// file in errors: [`Error::TrustFile`], unreadable, or holding no certificate.
pub(crate) fn pem_certificates(
    pem: &[u8],
    source: &str,
) -> Result<Vec<(openssl::x509::X509, Vec<u8>)>, Error> {
    let unreadable = |e: openssl::error::ErrorStack| Error::TrustFile {
        source: source.to_owned(),
        reason: TrustFileReason::Unreadable {
            message: e.to_string(),
        },
    };
    let certs = openssl::x509::X509::stack_from_pem(pem).map_err(unreadable)?;
    if certs.is_empty() {
        return Err(Error::TrustFile {
            source: source.to_owned(),
            reason: TrustFileReason::NoCertificate,
        });
    }
    certs
        .into_iter()
        .map(|cert| {
            let der = cert.to_der().map_err(unreadable)?;
            Ok((cert, der))
        })
        .collect()
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
