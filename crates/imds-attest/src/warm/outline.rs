//! A document's outline: its bytes with the contents of its eContent and of its signature
//! left out, and where those two stand, hashed. Documents from one signer share an outline
//! (IMDS changes only the claims and the signature between them, and an RSA signature's
//! length is the key's), so a verifier that has verified one document knows how every other
//! with the same outline parses: byte for byte the same SignedData, SignerInfo and
//! certificate, with this content and this signature, both primitive OCTET STRING values
//! whose bytes no DER rule looks into.
//!
//! Finding the two values reads only tag and length octets outside them, with bounds checks,
//! and nothing is validated: a document that is not DER cannot share an outline with one that
//! was fully parsed and verified, because every byte outside the two values is in the hash.

use std::ops::Range;

use sha2::{Digest, Sha256};

use crate::tlv::{check_size, child_at, child_starts, value_range, DEFAULT_MAX_INPUT_BYTES};

/// The outline's key and the two values left out of it.
pub(crate) struct Outline<'a> {
    pub(crate) key: [u8; 32],
    pub(crate) content: &'a [u8],
    pub(crate) signature: &'a [u8],
}

const OCTET_STRING: u8 = 0x04;

impl<'a> Outline<'a> {
    /// The outline of `der`, or `None` when `der` does not have the one SignerInfo, and the
    /// eContent and signature as primitive OCTET STRINGs, where RFC 5652 puts them.
    pub(crate) fn of(der: &'a [u8]) -> Option<Outline<'a>> {
        check_size(der, DEFAULT_MAX_INPUT_BYTES).ok()?;
        let (content, signature) = masked_values(der)?;
        let mut hasher = Sha256::new();
        for n in [
            der.len(),
            content.start,
            content.end,
            signature.start,
            signature.end,
        ] {
            hasher.update((n as u64).to_be_bytes());
        }
        // Both values lie inside `der` and the content comes first (checked by masked_values).
        hasher.update(der.get(..content.start)?);
        hasher.update(der.get(content.end..signature.start)?);
        hasher.update(der.get(signature.end..)?);
        Some(Outline {
            key: hasher.finalize().into(),
            content: der.get(content)?,
            signature: der.get(signature)?,
        })
    }
}

/// Where the eContent's value and the signature's value stand in `der`.
fn masked_values(der: &[u8]) -> Option<(Range<usize>, Range<usize>)> {
    // ContentInfo { contentType, [0] { SignedData { version, digestAlgorithms,
    //   encapContentInfo { eContentType, [0] { eContent } }, .., signerInfos } } }
    let signed = child_at(der, child_at(der, 0, 1)?, 0)?;
    let (fields, count) = child_starts::<8>(der, signed)?;
    let encap = *fields.get(2)?;
    let (content_tag, content) = value_range(der, child_at(der, child_at(der, encap, 1)?, 0)?)?;
    let infos = *fields.get(count.checked_sub(1)?)?;
    let (info, signers) = child_starts::<2>(der, infos)?;
    if signers != 1 {
        return None;
    }
    // SignerInfo { version, sid, digestAlgorithm, [0]?, signatureAlgorithm, signature, [1]? }:
    // the signature is its one universal OCTET STRING (a subjectKeyIdentifier sid is [0]).
    let (info_fields, info_count) = child_starts::<8>(der, *info.first()?)?;
    let mut signature = None;
    for &field in info_fields.get(..info_count)? {
        if der.get(field) == Some(&OCTET_STRING) && signature.replace(field).is_some() {
            return None;
        }
    }
    let (_, signature) = value_range(der, signature?)?;
    (content_tag == OCTET_STRING && content.end <= signature.start).then_some((content, signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal SignedData shape: contentType, [0] { SEQ { version, digestAlgorithms,
    /// encap { oid, [0] { OCTET STRING content } }, signerInfos { SEQ { version, OCTET STRING
    /// signature } } } }.
    fn document(content: &[u8], signature: &[u8]) -> Vec<u8> {
        fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
            assert!(value.len() < 0x80);
            let mut out = vec![tag, value.len() as u8];
            out.extend_from_slice(value);
            out
        }
        let encap = tlv(
            0x30,
            &[tlv(0x06, &[0x2a]), tlv(0xa0, &tlv(0x04, content))].concat(),
        );
        let info = tlv(0x30, &[tlv(0x02, &[1]), tlv(0x04, signature)].concat());
        let signed = tlv(
            0x30,
            &[tlv(0x02, &[1]), tlv(0x31, &[]), encap, tlv(0x31, &info)].concat(),
        );
        tlv(0x30, &[tlv(0x06, &[0x2a]), tlv(0xa0, &signed)].concat())
    }

    #[test]
    fn documents_differing_only_in_content_and_signature_share_an_outline() {
        let a = document(b"{\"n\":1}", &[7; 16]);
        let b = document(b"{\"n\":2}", &[9; 16]);
        let (oa, ob) = (Outline::of(&a).unwrap(), Outline::of(&b).unwrap());
        assert_eq!(oa.key, ob.key);
        assert_eq!(
            (oa.content, oa.signature),
            (&b"{\"n\":1}"[..], &[7u8; 16][..])
        );
        assert_eq!(
            (ob.content, ob.signature),
            (&b"{\"n\":2}"[..], &[9u8; 16][..])
        );
    }

    #[test]
    fn any_other_difference_makes_another_outline() {
        let base = document(b"{\"n\":1}", &[7; 16]);
        let key = Outline::of(&base).unwrap().key;
        // Another length of either value moves the bytes after it.
        for other in [
            document(b"{\"n\":10}", &[7; 16]),
            document(b"{\"n\":1}", &[7; 17]),
        ] {
            assert_ne!(Outline::of(&other).unwrap().key, key);
        }
        // Every byte outside the two values is in the outline.
        let outline = Outline::of(&base).unwrap();
        let content = outline.content.as_ptr() as usize - base.as_ptr() as usize;
        let signature = outline.signature.as_ptr() as usize - base.as_ptr() as usize;
        for i in 0..base.len() {
            let masked =
                (content..content + 7).contains(&i) || (signature..signature + 16).contains(&i);
            let mut changed = base.clone();
            changed[i] ^= 0x01;
            match Outline::of(&changed) {
                Some(o) if masked => assert_eq!(o.key, key, "byte {i}"),
                Some(o) => assert_ne!(o.key, key, "byte {i}"),
                None => assert!(!masked, "byte {i}"),
            }
        }
    }

    #[test]
    fn has_no_outline_without_an_octet_string_signature_or_the_whole_encoding() {
        let base = document(b"{}", &[7; 4]);
        let without_signature = {
            // The signature's tag made an INTEGER.
            let mut d = base.clone();
            let at = d.len() - 6;
            assert_eq!(d[at], 0x04);
            d[at] = 0x02;
            d
        };
        assert!(Outline::of(&without_signature).is_none());
        assert!(Outline::of(&base[..base.len() - 1]).is_none());
        assert!(Outline::of(&[]).is_none());
    }
}
