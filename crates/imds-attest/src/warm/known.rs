//! The known-signer reader: a document read without decoding its one certificate, for a
//! verifier that has proven that exact certificate before (and keeps the decoded one).
//!
//! It applies the same checks as [`AttestedDocument`](crate::AttestedDocument)'s parse to
//! everything but the certificate (through the same [`signed_part`]); the certificate's bytes
//! identify the proven signer, so decoding it again could only give the same result. Anything
//! it does not accept goes through the full parse, which gives the error.

use cms::content_info::CmsVersion;
use cms::revocation::RevocationInfoChoices;
use cms::signed_data::{
    DigestAlgorithmIdentifiers, EncapsulatedContentInfo, SignerIdentifier, SignerInfos,
};
use const_oid::db::rfc5911::ID_SIGNED_DATA;
use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, SetOfVec};
use der::{Decode, Sequence, Tag, Tagged};

use crate::cms::{certificate_encodings, signed_part, SignedPart};
use crate::tlv::{check_der_shape, check_size, DEFAULT_MAX_INPUT_BYTES};

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
            der,
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
