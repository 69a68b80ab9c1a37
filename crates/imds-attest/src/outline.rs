//! A document's outline: everything of its encoding but the contents of its eContent and of
//! its signature, hashed. Documents from one signer share an outline (IMDS changes only the
//! claims and the signature between them), so a verifier that has verified one document with
//! an outline knows how every other with the same outline parses: the same SignedData, the
//! same SignerInfo, the same certificate, with this content and this signature. Only those two
//! are read from such a document, after the DER shape walk has checked all its lengths.

use sha2::{Digest, Sha256};

use crate::limits::{
    check_size, child_at, child_starts, outline, value_at, DEFAULT_MAX_INPUT_BYTES,
};

/// The outline's key and the two masked values of one document.
pub(crate) struct Outline<'a> {
    pub(crate) key: [u8; 32],
    pub(crate) content: &'a [u8],
    pub(crate) signature: &'a [u8],
}

const OCTET_STRING: u8 = 0x04;

impl<'a> Outline<'a> {
    /// The outline of `der`, or `None` when it is not well-formed DER with one SignerInfo and
    /// an eContent and a signature that are primitive OCTET STRINGs where RFC 5652 puts them.
    pub(crate) fn of(der: &'a [u8]) -> Option<Outline<'a>> {
        check_size(der, DEFAULT_MAX_INPUT_BYTES).ok()?;
        // Positions first (bounds-checked reads); the outline's walk then checks the shape
        // of the whole, so a document that is not DER has no outline.
        // ContentInfo { contentType, [0] { SignedData { version, digestAlgorithms,
        //   encapContentInfo { eContentType, [0] { eContent } }, .., signerInfos } } }
        let signed = child_at(der, child_at(der, 0, 1)?, 0)?;
        let (fields, count) = child_starts::<8>(der, signed)?;
        let encap = *fields.get(2)?;
        let econtent = child_at(der, child_at(der, encap, 1)?, 0)?;
        let infos = *fields.get(count.checked_sub(1)?)?;
        let (info, signers) = child_starts::<2>(der, infos)?;
        if signers != 1 {
            return None;
        }
        // SignerInfo { version, sid, digestAlgorithm, [0]?, signatureAlgorithm, signature,
        //   [1]? }: the signature is its one universal OCTET STRING.
        let (info_fields, info_count) = child_starts::<8>(der, *info.first()?)?;
        let mut signature = None;
        for &field in info_fields.get(..info_count)? {
            if der.get(field) == Some(&OCTET_STRING) && signature.replace(field).is_some() {
                return None;
            }
        }
        let signature = signature?;
        let (content_tag, content) = value_at(der, econtent)?;
        let (_, signature_value) = value_at(der, signature)?;
        if content_tag != OCTET_STRING {
            return None;
        }
        let mut hasher = Sha256::new();
        outline(der, &[econtent, signature], |bytes| hasher.update(bytes)).ok()?;
        Some(Outline {
            key: hasher.finalize().into(),
            content,
            signature: signature_value,
        })
    }
}
