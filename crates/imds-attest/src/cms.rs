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

use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::revocation::RevocationInfoChoices;
use cms::signed_data::{
    CertificateSet, DigestAlgorithmIdentifiers, EncapsulatedContentInfo, SignedData,
    SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence, Tag, Tagged};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

use crate::error::Error;
use crate::input;
use crate::limits::{check_der_shape, check_size, children, DEFAULT_MAX_INPUT_BYTES};
use crate::signature::{DigestAlgorithm, SignatureAlgorithm};
use crate::signer::SignerCertificate;

/// The most certificates a document may embed. IMDS embeds one.
pub const MAX_EMBEDDED_CERTIFICATES: usize = 16;

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
        check_size(input, max_bytes)?;
        AttestedDocument::decode_der(&input::decode(input)?)
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
        Self::from_signed_data(signed, certificate_encodings(der)?)
    }

    fn from_signed_data(
        signed: SignedData,
        encodings: Vec<&[u8]>,
    ) -> Result<AttestedDocument, Error> {
        let (signed_part, sid) = signed_part(
            signed.version,
            &signed.digest_algorithms,
            &signed.encap_content_info,
            &signed.signer_infos,
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
/// algorithm, its signed attributes.
fn signed_part<'s>(
    version: CmsVersion,
    digest_algorithms: &DigestAlgorithmIdentifiers,
    encap: &EncapsulatedContentInfo,
    signer_infos: &'s SignerInfos,
) -> Result<(SignedPart, &'s SignerIdentifier), Error> {
    if !matches!(version, CmsVersion::V1 | CmsVersion::V3) {
        return Err(structure(format!(
            "SignedData version {version:?}, expected 1 or 3"
        )));
    }
    let content = attached_content(encap)?;
    let signer_info = only_signer(signer_infos)?;
    let digest = DigestAlgorithm::from_identifier(&signer_info.digest_alg)?;
    check_digest_algorithms(digest_algorithms, &signer_info.digest_alg)?;
    let signature_algorithm =
        SignatureAlgorithm::from_identifier(&signer_info.signature_algorithm, digest)?;
    let signed_attributes = signer_info
        .signed_attrs
        .as_ref()
        .map(signed_attributes)
        .transpose()?;
    Ok((
        SignedPart {
            content,
            digest,
            signature_algorithm,
            signature: signer_info.signature.as_bytes().to_vec(),
            signed_attributes,
        },
        &signer_info.sid,
    ))
}

/// A document read without decoding its one certificate: what a verifier needs when it has
/// proven that exact certificate before (it keeps the decoded one). Anything this reader does
/// not accept goes through [`AttestedDocument`]'s full parse, which gives the error.
pub(crate) struct KnownSignerDocument<'a> {
    pub(crate) signed: SignedPart,
    /// Exactly one, checked.
    signer_infos: SignerInfos,
    /// The certificate's encoding as it stands in the input.
    pub(crate) certificate: &'a [u8],
}

/// `ContentInfo`, its content borrowed.
#[derive(Sequence)]
struct ContentInfoShell<'a> {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: AnyRef<'a>,
}

/// `SignedData` as the `cms` crate declares it, but with its certificates left undecoded.
#[derive(Sequence)]
struct SignedDataShell<'a> {
    version: CmsVersion,
    digest_algorithms: DigestAlgorithmIdentifiers,
    encap_content_info: EncapsulatedContentInfo,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    certificates: Option<SetOfVec<AnyRef<'a>>>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    crls: Option<RevocationInfoChoices>,
    signer_infos: SignerInfos,
}

impl<'a> KnownSignerDocument<'a> {
    /// The document in `der` if it has exactly one embedded certificate and passes every check
    /// [`AttestedDocument`] makes outside that certificate; `None` for anything else.
    pub(crate) fn read(der: &'a [u8]) -> Option<KnownSignerDocument<'a>> {
        check_size(der, DEFAULT_MAX_INPUT_BYTES).ok()?;
        check_der_shape(der).ok()?;
        let info = ContentInfoShell::from_der(der).ok()?;
        if info.content_type != ID_SIGNED_DATA {
            return None;
        }
        let shell: SignedDataShell<'_> = info.content.decode_as().ok()?;
        let [certificate] = shell.certificates.as_ref()?.as_slice() else {
            return None;
        };
        // A CertificateChoices that is a Certificate: a SEQUENCE (the others are tagged).
        if certificate.tag() != Tag::Sequence {
            return None;
        }
        let (signed, _) = signed_part(
            shell.version,
            &shell.digest_algorithms,
            &shell.encap_content_info,
            &shell.signer_infos,
        )
        .ok()?;
        let encodings = certificate_encodings(der).ok()?;
        let [encoding] = encodings.as_slice() else {
            return None;
        };
        Some(KnownSignerDocument {
            signed,
            signer_infos: shell.signer_infos,
            certificate: encoding,
        })
    }

    /// The signer identifier of the one SignerInfo.
    pub(crate) fn sid(&self) -> Option<&SignerIdentifier> {
        self.signer_infos.0.get(0).map(|info| &info.sid)
    }
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
            subject_key_identifier: crate::signer::subject_key_identifier(cert),
        }
    }

    pub(crate) fn is_named_by(&self, sid: &SignerIdentifier) -> bool {
        sid_names(
            sid,
            &self.issuer,
            &self.serial,
            self.subject_key_identifier.as_deref(),
        )
    }
}

/// The encodings of the embedded certificates as they stand in the input.
fn certificate_encodings(der: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let malformed = || structure("the SignedData is not where ContentInfo puts it".into());
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

fn structure(detail: String) -> Error {
    Error::Structure { detail }
}

fn attached_content(encap: &EncapsulatedContentInfo) -> Result<Vec<u8>, Error> {
    if encap.econtent_type != ID_DATA {
        return Err(structure(format!(
            "encapsulated content type is {}, expected id-data",
            oid_name(&encap.econtent_type)
        )));
    }
    let any = encap.econtent.as_ref().ok_or(Error::DetachedContent)?;
    if any.tag() != Tag::OctetString {
        return Err(structure(format!(
            "eContent is a {}, expected an OCTET STRING",
            any.tag()
        )));
    }
    Ok(any.value().to_vec())
}

/// `digestAlgorithms` lists the digests the signers use (RFC 5652 section 5.1): each must be
/// one accepted here, and the signer's must be among them. OpenSSL refuses a document whose
/// list names a digest it does not know, so a verifier that ignored the list would accept
/// what another rejects.
fn check_digest_algorithms(
    listed: &cms::signed_data::DigestAlgorithmIdentifiers,
    signer: &x509_cert::spki::AlgorithmIdentifierOwned,
) -> Result<(), Error> {
    for alg in listed.iter() {
        DigestAlgorithm::from_identifier(alg)?;
    }
    if listed.iter().any(|alg| alg == signer) {
        Ok(())
    } else {
        Err(structure(format!(
            "the signer's digest algorithm {} is not in the SignedData's digestAlgorithms",
            oid_name(&signer.oid)
        )))
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
                Err(structure(format!(
                    "SignerInfo version {:?} does not fit its signer identifier (RFC 5652 5.3)",
                    one.version
                )))
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
        return Err(structure(format!(
            "{} embedded certificates, more than the {MAX_EMBEDDED_CERTIFICATES} accepted",
            set.0.len()
        )));
    }
    set.0
        .into_vec()
        .into_iter()
        .map(|choice| match choice {
            CertificateChoices::Certificate(cert) => Ok(cert),
            CertificateChoices::Other(_) => Err(structure(
                "an embedded certificate is not an X.509 certificate".into(),
            )),
        })
        .collect()
}

/// The index of the one embedded certificate the signer identifier names (never simply the
/// first certificate).
fn find_signer(certificates: &[Certificate], sid: &SignerIdentifier) -> Result<usize, Error> {
    let matches: Vec<usize> = certificates
        .iter()
        .enumerate()
        .filter(|(_, cert)| sid_matches(sid, cert))
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::SignerCertificateNotFound {
            sid: describe_sid(sid),
        }),
        _ => Err(structure(format!(
            "{} embedded certificates match the signer identifier ({})",
            matches.len(),
            describe_sid(sid)
        ))),
    }
}

fn sid_matches(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    let ski = match sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => None,
        SignerIdentifier::SubjectKeyIdentifier(_) => crate::signer::subject_key_identifier(cert),
    };
    sid_names(sid, &tbs.issuer, &tbs.serial_number, ski.as_deref())
}

fn sid_names(
    sid: &SignerIdentifier,
    issuer: &Name,
    serial: &SerialNumber,
    subject_key_identifier: Option<&[u8]>,
) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == *issuer && ias.serial_number == *serial
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            subject_key_identifier == Some(ski.0.as_bytes())
        }
    }
}

fn describe_sid(sid: &SignerIdentifier) -> String {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => format!(
            "issuer \"{}\", serial {}",
            crate::signer::format_name(&ias.issuer),
            hex(ias.serial_number.as_bytes())
        ),
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            format!("subject key identifier {}", hex(ski.0.as_bytes()))
        }
    }
}

fn signed_attributes(
    attrs: &cms::signed_data::SignedAttributes,
) -> Result<SignedAttributes, Error> {
    let fail = |detail: &str| Error::SignedAttributes {
        detail: detail.to_owned(),
    };
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
            return Err(fail("an attribute must hold exactly one value"));
        };
        // The SET OF decoder already refused two attributes of one type only if they were
        // byte-identical; two different values of one type are refused here.
        if slot.replace(value).is_some() {
            return Err(fail("an attribute type appears twice"));
        }
    }
    let content_type = content_type.ok_or_else(|| fail("the content-type attribute is missing"))?;
    let oid: ObjectIdentifier = content_type
        .decode_as()
        .map_err(|_| fail("the content-type attribute is not an OID"))?;
    if oid != ID_DATA {
        return Err(Error::SignedAttributes {
            detail: format!(
                "the content-type attribute is {}, not id-data",
                oid_name(&oid)
            ),
        });
    }
    let digest: OctetString = message_digest
        .ok_or_else(|| fail("the message-digest attribute is missing"))?
        .decode_as()
        .map_err(|_| fail("the message-digest attribute is not an OCTET STRING"))?;
    Ok(SignedAttributes {
        der: attrs
            .to_der()
            .map_err(|e| Error::der("SignedAttributes", e))?,
        message_digest: digest.as_bytes().to_vec(),
    })
}

/// `name (dotted.oid)` when the OID is known, else the dotted OID.
pub(crate) fn oid_name(oid: &ObjectIdentifier) -> String {
    match const_oid::db::DB.by_oid(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
