//! The signer certificate: the one the SignerInfo names (never simply the first), its profile,
//! its DNS names, and the facts a verified document reports about it.
//!
//! ```text
//! SignerIdentifier ::= CHOICE {                               -- RFC 5652 section 5.3
//!   issuerAndSerialNumber IssuerAndSerialNumber,
//!   subjectKeyIdentifier [0] SubjectKeyIdentifier }
//! ```

use cms::signed_data::SignerIdentifier;
use const_oid::db::rfc5280::{ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE};
use const_oid::db::rfc5912::{ANY_EXTENDED_KEY_USAGE, ID_KP_SERVER_AUTH};
use der::{Decode, Encode};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

use crate::cloud::Cloud;
use crate::error::{Error, NameReason, ProfileReason, StructureReason};
use crate::x509::{self, format_name, hex, instant};

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
#[non_exhaustive]
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
        let dns_names = x509::dns_names(&cert)?;
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
    pub(crate) fn identity(&self) -> SignerIdentity {
        SignerIdentity::of(&self.cert)
    }

    /// Checks that the certificate may sign as a TLS server does and names itself plainly: not
    /// a CA; keyUsage (if present) with digitalSignature; extendedKeyUsage (if present) with
    /// serverAuth or anyExtendedKeyUsage; exactly one CN when there is no SAN; every DNS name
    /// made of LDH labels.
    pub(crate) fn check_profile(&self) -> Result<(), Error> {
        let fail = |reason| Error::SignerProfile {
            subject: self.subject(),
            reason,
        };
        let cert = &self.cert;
        for ext in x509::extensions(cert, ID_CE_BASIC_CONSTRAINTS) {
            let bc = BasicConstraints::from_der(ext.extn_value.as_bytes()).map_err(|_| {
                fail(ProfileReason::Extension {
                    name: "basicConstraints",
                })
            })?;
            if bc.ca {
                return Err(fail(ProfileReason::Ca));
            }
        }
        for ext in x509::extensions(cert, ID_CE_KEY_USAGE) {
            let ku = KeyUsage::from_der(ext.extn_value.as_bytes())
                .map_err(|_| fail(ProfileReason::Extension { name: "keyUsage" }))?;
            if !ku.0.contains(KeyUsages::DigitalSignature) {
                return Err(fail(ProfileReason::KeyUsage));
            }
        }
        for ext in x509::extensions(cert, ID_CE_EXT_KEY_USAGE) {
            let eku = ExtendedKeyUsage::from_der(ext.extn_value.as_bytes()).map_err(|_| {
                fail(ProfileReason::Extension {
                    name: "extendedKeyUsage",
                })
            })?;
            if !eku
                .0
                .iter()
                .any(|p| *p == ID_KP_SERVER_AUTH || *p == ANY_EXTENDED_KEY_USAGE)
            {
                return Err(fail(ProfileReason::ExtendedKeyUsage));
            }
        }
        if !x509::has_san(cert) {
            let count = x509::common_names(cert).len();
            if count != 1 {
                return Err(fail(ProfileReason::CommonNames { count }));
            }
        }
        for name in &self.dns_names {
            check_host_name(name).map_err(|reason| Error::InvalidSignerName {
                name: name.clone(),
                reason,
            })?;
        }
        Ok(())
    }

    /// The one cloud this signer's names belong to, among `allowed` (see
    /// [`Cloud::of_signer`]).
    pub(crate) fn cloud(&self, allowed: &[Cloud]) -> Result<Cloud, Error> {
        Cloud::of_signer(&self.dns_names, allowed).map_err(|clouds| Error::SignerName {
            found: self.dns_names.clone(),
            allowed: clouds,
        })
    }

    /// Everything a verified document reports about this certificate.
    pub(crate) fn facts(&self) -> Result<SignerFacts, Error> {
        let out_of_range = || Error::structure(StructureReason::ValidityOutOfRange);
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

/// A host name of LDH labels (RFC 1034 section 3.5, RFC 5280 section 4.2.1.6): letters, digits
/// and hyphens, 1 to 63 of them, not beginning or ending with a hyphen; no wildcard.
fn check_host_name(name: &str) -> Result<(), NameReason> {
    if name.is_empty() {
        return Err(NameReason::EmptyLabel);
    }
    for label in name.split('.') {
        if label == "*" || label.contains('*') {
            return Err(NameReason::Wildcard);
        }
        if label.is_empty() {
            return Err(NameReason::EmptyLabel);
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(NameReason::Character);
        }
        if label.len() > 63 || label.starts_with('-') || label.ends_with('-') {
            return Err(NameReason::Label);
        }
    }
    Ok(())
}

/// What a signer identifier can name a certificate by.
#[derive(Debug, Clone)]
pub(crate) struct SignerIdentity {
    issuer: Name,
    serial: SerialNumber,
    subject_key_identifier: Option<Vec<u8>>,
}

impl SignerIdentity {
    pub(crate) fn of(cert: &Certificate) -> SignerIdentity {
        SignerIdentity {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial: cert.tbs_certificate.serial_number.clone(),
            subject_key_identifier: x509::subject_key_identifier(cert),
        }
    }

    /// Whether `sid` names the certificate this identity is of.
    pub(crate) fn is_named_by(&self, sid: &SignerIdentifier) -> bool {
        match sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                ias.issuer == self.issuer && ias.serial_number == self.serial
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                self.subject_key_identifier.as_deref() == Some(ski.0.as_bytes())
            }
        }
    }
}

/// The index of the one certificate the signer identifier names (never simply the first).
pub(crate) fn find_signer(
    certificates: &[Certificate],
    sid: &SignerIdentifier,
) -> Result<usize, Error> {
    let matches: Vec<usize> = certificates
        .iter()
        .enumerate()
        .filter(|(_, cert)| SignerIdentity::of(cert).is_named_by(sid))
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::SignerCertificateNotFound {
            sid: describe_sid(sid),
        }),
        _ => Err(Error::structure(StructureReason::AmbiguousSigner {
            count: matches.len(),
            sid: describe_sid(sid),
        })),
    }
}

/// The signer identifier, readable.
pub(crate) fn describe_sid(sid: &SignerIdentifier) -> String {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => format!(
            "issuer \"{}\", serial {}",
            crate::error::echoed(&format_name(&ias.issuer)),
            crate::error::echoed(&hex(ias.serial_number.as_bytes()))
        ),
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            format!(
                "subject key identifier {}",
                crate::error::echoed(&hex(ski.0.as_bytes()))
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_ldh_host_names() {
        let cases: &[(&str, Result<(), NameReason>)] = &[
            ("eastus.metadata.azure.com", Ok(())),
            ("metadata.azure.com", Ok(())),
            ("a-1.metadata.azure.com", Ok(())),
            ("*.metadata.azure.com", Err(NameReason::Wildcard)),
            ("e*.metadata.azure.com", Err(NameReason::Wildcard)),
            ("..metadata.azure.com", Err(NameReason::EmptyLabel)),
            (".metadata.azure.com", Err(NameReason::EmptyLabel)),
            ("metadata.azure.com.", Err(NameReason::EmptyLabel)),
            ("", Err(NameReason::EmptyLabel)),
            (" .metadata.azure.com", Err(NameReason::Character)),
            (
                "evil.example\0.metadata.azure.com",
                Err(NameReason::Character),
            ),
            ("east_us.metadata.azure.com", Err(NameReason::Character)),
            ("-east.metadata.azure.com", Err(NameReason::Label)),
        ];
        for (name, want) in cases {
            assert_eq!(check_host_name(name), *want, "{name:?}");
        }
        assert_eq!(
            check_host_name(&format!("{}.metadata.azure.com", "a".repeat(64))),
            Err(NameReason::Label)
        );
    }
}
