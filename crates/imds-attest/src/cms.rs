//! The CMS (PKCS#7) structure of an attested document, parsed strictly into
//! [`AttestedDocument`].
//!
//! ```text
//! ContentInfo ::= SEQUENCE { contentType id-signedData, content [0] EXPLICIT SignedData }
//! SignedData ::= SEQUENCE {                                         -- RFC 5652 section 5.1
//!   version CMSVersion, digestAlgorithms SET OF DigestAlgorithmIdentifier,
//!   encapContentInfo EncapsulatedContentInfo,                       -- id-data, attached
//!   certificates [0] IMPLICIT CertificateSet OPTIONAL,              -- IMDS: the leaf only
//!   crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
//!   signerInfos SET OF SignerInfo }                                 -- exactly one here
//! SignerInfo ::= SEQUENCE {                                         -- RFC 5652 section 5.3
//!   version CMSVersion, sid SignerIdentifier, digestAlgorithm DigestAlgorithmIdentifier,
//!   signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,             -- IMDS: absent
//!   signatureAlgorithm SignatureAlgorithmIdentifier, signature SignatureValue,
//!   unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
//! ```
//!
//! Four pieces of code read a SignedData, each for a reason of its own:
//! - this module's parser, the one that decides: every document a verifier has not seen is
//!   read here, strictly, into [`AttestedDocument`];
//! - [`certificate_encodings`] and the signed attributes' reader here, which take bytes as the
//!   input carries them where the decoder would give its own re-encoding (a SET OF is sorted
//!   when decoded): the certificates' encodings, and the bytes the signature covers;
//! - the warm path's known-signer reader (`warm/known.rs`), the same checks through the same
//!   [`signed_part`] for a document whose one certificate was proven before, without decoding
//!   that certificate again;
//! - the warm path's outline (`warm/outline.rs`), which reads only tags and lengths to find
//!   the content and signature values, and validates nothing: it recognises a document
//!   byte for byte like one this parser read and verified.

use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, DigestAlgorithmIdentifiers, EncapsulatedContentInfo, SignedData,
    SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode, Tag, Tagged};
use x509_cert::Certificate;

use crate::algorithms::{oid_name, DigestAlgorithm, DigestIdentifier, SignatureAlgorithm};
use crate::error::{Error, SignedAttributesReason, StructureReason};
use crate::input;
use crate::limits::MAX_EMBEDDED_CERTIFICATES;
use crate::signer::{describe_sid, find_signer, SignerCertificate};
use crate::tlv::{
    check_der_shape, check_size, child_at, child_starts, children, value_range,
    DEFAULT_MAX_INPUT_BYTES,
};

/// A parsed, **unverified** attested document.
///
/// Making one proves only that the bytes have the shape of an attested document: a strict-DER
/// SignedData with one signer whose certificate is embedded and attached content. Nothing in it
/// is trusted until [`Verifier::verify`](crate::Verifier::verify) turns it into a
/// [`VerifiedDocument`](crate::VerifiedDocument).
#[derive(Debug, Clone)]
pub struct AttestedDocument {
    pub(crate) signed: SignedPart,
    pub(crate) signer: SignerCertificate,
    pub(crate) other_certificates: Vec<Vec<u8>>,
}

/// Everything of a document but its certificates: the content and the signature over it.
#[derive(Debug, Clone)]
pub(crate) struct SignedPart {
    pub(crate) content: Vec<u8>,
    pub(crate) digest: DigestAlgorithm,
    pub(crate) signature_algorithm: SignatureAlgorithm,
    pub(crate) signature: Vec<u8>,
    pub(crate) signed_attributes: Option<SignedAttributes>,
}

/// Signed attributes (RFC 5652 section 5.4): what the signature covers instead of the content.
#[derive(Debug, Clone)]
pub(crate) struct SignedAttributes {
    /// The DER `SET OF Attribute` the signature covers.
    pub(crate) der: Vec<u8>,
    /// The message-digest attribute's value.
    pub(crate) message_digest: Vec<u8>,
}

impl AttestedDocument {
    /// Parses a document given in any accepted form: the IMDS JSON response
    /// (`{"encoding":"pkcs7","signature":"..."}`), bare base64 (line breaks allowed), PEM
    /// (`-----BEGIN PKCS7-----`) or DER.
    ///
    /// ```
    /// # fn main() -> Result<(), imds_attest::Error> {
    /// let json = std::fs::read("../../testdata/real/taskcluster_2025_rsatls07.json").unwrap();
    /// let doc = imds_attest::AttestedDocument::parse(&json)?;
    /// assert_eq!(doc.signer_subject(), "CN=metadata.azure.com,O=Microsoft Corporation,L=Redmond,ST=WA,C=US");
    /// # Ok(()) }
    /// ```
    ///
    /// Inputs over [`DEFAULT_MAX_INPUT_BYTES`] are refused before any decoding.
    pub fn parse(input: &[u8]) -> Result<AttestedDocument, Error> {
        AttestedDocument::parse_with_max_size(input, DEFAULT_MAX_INPUT_BYTES)
    }

    /// [`parse`](Self::parse) with another size limit, in bytes.
    pub fn parse_with_max_size(input: &[u8], max_bytes: usize) -> Result<AttestedDocument, Error> {
        AttestedDocument::decode_der(&input::to_der(input, max_bytes)?)
    }

    /// Parses the DER of a ContentInfo holding SignedData (at most
    /// [`DEFAULT_MAX_INPUT_BYTES`]).
    pub fn from_der(der: &[u8]) -> Result<AttestedDocument, Error> {
        check_size(der, DEFAULT_MAX_INPUT_BYTES)?;
        AttestedDocument::decode_der(der)
    }

    fn decode_der(der: &[u8]) -> Result<AttestedDocument, Error> {
        check_der_shape(der)?;
        let info = ContentInfo::from_der(der).map_err(|e| Error::der("ContentInfo", e))?;
        if info.content_type != ID_SIGNED_DATA {
            return Err(Error::NotSignedData {
                content_type: oid_name(&info.content_type),
            });
        }
        let signed: SignedData = info
            .content
            .decode_as()
            .map_err(|e| Error::der("SignedData", e))?;
        Self::from_signed_data(signed, der)
    }

    fn from_signed_data(signed: SignedData, der: &[u8]) -> Result<AttestedDocument, Error> {
        let encodings = certificate_encodings(der)?;
        let (signed_part, sid) = signed_part(
            signed.version,
            &signed.digest_algorithms,
            &signed.encap_content_info,
            &signed.signer_infos,
            der,
        )?;
        let certificates = embedded_certificates(signed.certificates)?;
        let signer_index = find_signer(&certificates, sid)?;
        // A lone certificate (as IMDS sends) is its input encoding; with several, the decoder
        // has reordered them by its own comparison, so each is re-encoded instead.
        let lone = match (certificates.len(), encodings.as_slice()) {
            (1, [only]) => Some(only.to_vec()),
            _ => None,
        };
        let mut signer = None;
        let mut other_certificates = Vec::with_capacity(certificates.len());
        for (i, cert) in certificates.into_iter().enumerate() {
            let der = match &lone {
                Some(der) => der.clone(),
                None => cert.to_der().map_err(|e| Error::der("Certificate", e))?,
            };
            if i == signer_index {
                signer = Some(SignerCertificate::new(cert, der)?);
            } else {
                other_certificates.push(der);
            }
        }
        let signer = signer.ok_or_else(|| Error::SignerCertificateNotFound {
            sid: describe_sid(sid),
        })?;
        Ok(AttestedDocument {
            signed: signed_part,
            signer,
            other_certificates,
        })
    }

    /// The signed content bytes (the claims JSON), **not yet verified**.
    pub fn content(&self) -> &[u8] {
        &self.signed.content
    }

    /// The subject of the certificate the SignerInfo names, **not yet verified**.
    pub fn signer_subject(&self) -> String {
        self.signer.subject()
    }
}

/// The checks of everything but the certificates, in the order a document is read: versions,
/// attached id-data content, one signer, its digest among `digestAlgorithms`, its signature
/// algorithm paired with that digest, its signed attributes (read from `der`, the whole
/// document, as it carries them).
pub(crate) fn signed_part<'s>(
    version: CmsVersion,
    digest_algorithms: &DigestAlgorithmIdentifiers,
    encap: &EncapsulatedContentInfo,
    signer_infos: &'s SignerInfos,
    der: &[u8],
) -> Result<(SignedPart, &'s SignerIdentifier), Error> {
    if !matches!(version, CmsVersion::V1 | CmsVersion::V3) {
        return Err(Error::structure(StructureReason::SignedDataVersion {
            version: format!("{version:?}"),
        }));
    }
    let content = attached_content(encap)?;
    let signer_info = only_signer(signer_infos)?;
    let digest = DigestIdentifier::from_identifier(&signer_info.digest_alg)?;
    check_digest_algorithms(digest_algorithms, &signer_info.digest_alg)?;
    let signature_algorithm = SignatureAlgorithm::from_identifier(
        &signer_info.signature_algorithm,
        &signer_info.digest_alg,
        digest,
    )?;
    let signed_attributes = signer_info
        .signed_attrs
        .as_ref()
        .map(|attrs| signed_attributes(attrs, der))
        .transpose()?;
    Ok((
        SignedPart {
            content,
            digest: digest.digest,
            signature_algorithm,
            signature: signer_info.signature.as_bytes().to_vec(),
            signed_attributes,
        },
        &signer_info.sid,
    ))
}

/// The encodings of the embedded certificates as they stand in the input.
pub(crate) fn certificate_encodings(der: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let malformed = || Error::structure(StructureReason::Misplaced);
    let top = children(der).ok_or_else(malformed)?;
    let explicit = top.get(1).ok_or_else(malformed)?;
    let signed = children(explicit)
        .and_then(|c| c.first().copied())
        .ok_or_else(malformed)?;
    let fields = children(signed).ok_or_else(malformed)?;
    // certificates is the [0] IMPLICIT field right after encapContentInfo.
    match fields.get(3).filter(|f| f.first() == Some(&0xa0)) {
        Some(set) => children(set).ok_or_else(malformed),
        None => Ok(Vec::new()),
    }
}

/// The one SignerInfo's `signedAttrs` as the input carries them: `[0] IMPLICIT SET OF
/// Attribute`, its tag included; `None` when it has none.
fn signed_attributes_encoding(der: &[u8]) -> Option<&[u8]> {
    // ContentInfo { contentType, [0] { SignedData { .., signerInfos } } }
    let signed = child_at(der, child_at(der, 0, 1)?, 0)?;
    let (fields, count) = child_starts::<8>(der, signed)?;
    let infos = *fields.get(count.checked_sub(1)?)?;
    // SignerInfo { version, sid, digestAlgorithm, [0] signedAttrs OPTIONAL, .. }
    let attrs = child_at(der, child_at(der, infos, 0)?, 3)?;
    let (tag, value) = value_range(der, attrs)?;
    (tag == 0xa0).then(|| der.get(attrs..value.end)).flatten()
}

fn attached_content(encap: &EncapsulatedContentInfo) -> Result<Vec<u8>, Error> {
    if encap.econtent_type != ID_DATA {
        return Err(Error::structure(StructureReason::ContentType {
            content_type: oid_name(&encap.econtent_type),
        }));
    }
    let any = encap.econtent.as_ref().ok_or(Error::DetachedContent)?;
    if any.tag() != Tag::OctetString {
        return Err(Error::structure(StructureReason::ContentNotOctetString {
            tag: any.tag().to_string(),
        }));
    }
    Ok(any.value().to_vec())
}

/// `digestAlgorithms` lists the digests the signers use (RFC 5652 section 5.1): each must be
/// one accepted here, and the signer's must be among them. OpenSSL refuses a document whose
/// list names a digest it does not know, so a verifier that ignored the list would accept
/// what another rejects.
fn check_digest_algorithms(
    listed: &DigestAlgorithmIdentifiers,
    signer: &x509_cert::spki::AlgorithmIdentifierOwned,
) -> Result<(), Error> {
    for alg in listed.iter() {
        DigestIdentifier::from_identifier(alg)?;
    }
    if listed.iter().any(|alg| alg == signer) {
        Ok(())
    } else {
        Err(Error::structure(StructureReason::DigestNotListed {
            algorithm: oid_name(&signer.oid),
        }))
    }
}

fn only_signer(infos: &SignerInfos) -> Result<&SignerInfo, Error> {
    match infos.0.as_slice() {
        [one] => {
            let version_ok = match one.sid {
                SignerIdentifier::IssuerAndSerialNumber(_) => one.version == CmsVersion::V1,
                SignerIdentifier::SubjectKeyIdentifier(_) => one.version == CmsVersion::V3,
            };
            if version_ok {
                Ok(one)
            } else {
                Err(Error::structure(StructureReason::SignerInfoVersion {
                    version: format!("{:?}", one.version),
                }))
            }
        }
        many => Err(Error::SignerCount { count: many.len() }),
    }
}

fn embedded_certificates(set: Option<CertificateSet>) -> Result<Vec<Certificate>, Error> {
    let Some(set) = set else {
        return Ok(Vec::new());
    };
    if set.0.len() > MAX_EMBEDDED_CERTIFICATES {
        return Err(Error::structure(StructureReason::TooManyCertificates {
            count: set.0.len(),
        }));
    }
    set.0
        .into_vec()
        .into_iter()
        .map(|choice| match choice {
            CertificateChoices::Certificate(cert) => Ok(cert),
            CertificateChoices::Other(_) => Err(Error::structure(StructureReason::NotX509)),
        })
        .collect()
}

/// Reads the signed attributes (RFC 5652 section 5.4): exactly one content-type (id-data) and
/// one message-digest, each with one value. The signature covers them as the document carries
/// them, re-tagged as a SET OF (section 5.4): the decoder sorts a SET OF, so its re-encoding
/// could differ from what was signed. An encoding not in DER order is refused.
fn signed_attributes(
    attrs: &cms::signed_data::SignedAttributes,
    der: &[u8],
) -> Result<SignedAttributes, Error> {
    let fail = |reason| Error::SignedAttributes { reason };
    let mut content_type = None;
    let mut message_digest = None;
    for attr in attrs.iter() {
        let slot = if attr.oid == ID_CONTENT_TYPE {
            &mut content_type
        } else if attr.oid == ID_MESSAGE_DIGEST {
            &mut message_digest
        } else {
            continue;
        };
        let [value] = attr.values.as_slice() else {
            return Err(fail(SignedAttributesReason::ValueCount));
        };
        // The SET OF decoder already refused two attributes of one type only if they were
        // byte-identical; two different values of one type are refused here.
        if slot.replace(value).is_some() {
            return Err(fail(SignedAttributesReason::Duplicate));
        }
    }
    let content_type = content_type.ok_or(fail(SignedAttributesReason::ContentTypeMissing))?;
    let oid: ObjectIdentifier = content_type
        .decode_as()
        .map_err(|_| fail(SignedAttributesReason::ContentTypeNotOid))?;
    if oid != ID_DATA {
        return Err(fail(SignedAttributesReason::ContentTypeNotData {
            content_type: oid_name(&oid),
        }));
    }
    let digest: OctetString = message_digest
        .ok_or(fail(SignedAttributesReason::DigestMissing))?
        .decode_as()
        .map_err(|_| fail(SignedAttributesReason::DigestNotOctetString))?;
    let carried = signed_attributes_encoding(der)
        .ok_or_else(|| Error::structure(StructureReason::Misplaced))?;
    let elements = children(carried).ok_or_else(|| Error::structure(StructureReason::Misplaced))?;
    if !in_der_order(&elements) {
        return Err(fail(SignedAttributesReason::NotDerOrder));
    }
    let mut set = carried.to_vec();
    if let Some(tag) = set.first_mut() {
        *tag = 0x31;
    }
    Ok(SignedAttributes {
        der: set,
        message_digest: digest.as_bytes().to_vec(),
    })
}

/// Whether the encodings are in the order DER requires of a SET OF (X.690 section 11.6):
/// ascending as octet strings, the shorter padded with zero octets at its end.
fn in_der_order(elements: &[&[u8]]) -> bool {
    let padded_cmp = |a: &[u8], b: &[u8]| {
        let len = a.len().max(b.len());
        let byte = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
        (0..len)
            .map(|i| byte(a, i).cmp(&byte(b, i)))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    };
    elements
        .windows(2)
        .all(|pair| matches!(pair, [a, b] if padded_cmp(a, b).is_le()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_order_compares_encodings_padded_with_zeros() {
        let cases: &[(&[&[u8]], bool)] = &[
            (&[&[0x30, 0x01, 0x01], &[0x30, 0x01, 0x02]], true),
            (&[&[0x30, 0x01, 0x02], &[0x30, 0x01, 0x01]], false),
            (&[&[0x30, 0x01, 0x01], &[0x30, 0x01, 0x01]], true),
            (&[&[0x30, 0x00], &[0x30, 0x00, 0x00]], true),
            (&[&[0x30, 0x01, 0x05], &[0x30, 0x02, 0x00, 0x01]], true),
            (&[&[0x30, 0x02, 0x00, 0x01], &[0x30, 0x01, 0x05]], false),
            (&[], true),
        ];
        for (elements, want) in cases {
            assert_eq!(in_der_order(elements), *want, "{elements:02x?}");
        }
    }
}
