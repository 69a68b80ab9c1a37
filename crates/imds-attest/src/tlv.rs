//! The TLV bounds walk: resource limits on untrusted bytes, checked before the ASN.1 decoder
//! sees them, and the bounds-checked readers of tags and lengths the other modules use.
//!
//! The decoder allocates per element and sorts every SET OF by insertion (quadratic), so a
//! document holding thousands of SignerInfos or certificates would cost seconds. One linear,
//! allocation-free walk over the TLV tree first refuses such shapes, and with them indefinite
//! and non-minimal lengths, lengths running past their parent, and nesting deeper than any
//! attested document needs.

use std::ops::Range;

use crate::error::{DerReason, Error, StructureReason, TlvProblem};

pub(crate) use crate::limits::DEFAULT_MAX_INPUT_BYTES;
use crate::limits::{MAX_DER_DEPTH, MAX_DER_ELEMENTS};

pub(crate) fn check_size(input: &[u8], max: usize) -> Result<(), Error> {
    if input.len() > max {
        return Err(Error::InputTooLarge {
            size: input.len(),
            max,
        });
    }
    Ok(())
}

/// Walks every TLV of `der` (one value, nothing after it) without recursion or allocation.
pub(crate) fn check_der_shape(der: &[u8]) -> Result<(), Error> {
    // For each open constructed value: where it ends and how many children it has so far.
    let mut open: [(usize, usize); MAX_DER_DEPTH] = [(0, 0); MAX_DER_DEPTH];
    let mut depth = 0usize;
    let mut pos = 0usize;
    let top = Tlv::read(der, 0)?;
    if top.end != der.len() {
        return Err(der_error(
            top.end,
            TlvProblem::Trailing {
                count: der.len() - top.end,
            },
        ));
    }
    loop {
        // Close every value that ends here.
        while depth > 0 && open.get(depth - 1).is_some_and(|(end, _)| *end == pos) {
            depth -= 1;
        }
        if pos == der.len() {
            return Ok(());
        }
        let tlv = Tlv::read(der, pos)?;
        if let Some((parent_end, children)) = depth.checked_sub(1).and_then(|d| open.get_mut(d)) {
            if tlv.end > *parent_end {
                return Err(der_error(pos, TlvProblem::PastParent));
            }
            *children += 1;
            if *children > MAX_DER_ELEMENTS {
                return Err(Error::structure(StructureReason::TooManyElements {
                    offset: pos,
                }));
            }
        }
        if tlv.constructed && tlv.content_start < tlv.end {
            let slot = open
                .get_mut(depth)
                .ok_or(Error::structure(StructureReason::TooDeep { offset: pos }))?;
            *slot = (tlv.end, 0);
            depth += 1;
            pos = tlv.content_start;
        } else {
            pos = tlv.end;
        }
    }
}

/// The children of the constructed value starting at `der`, as slices; `None` when `der` does
/// not hold one well-formed constructed value (run [`check_der_shape`] first).
pub(crate) fn children(der: &[u8]) -> Option<Vec<&[u8]>> {
    let top = Tlv::read(der, 0).ok()?;
    let mut out = Vec::new();
    let mut pos = top.content_start;
    while pos < top.end {
        let tlv = Tlv::read(der, pos).ok()?;
        out.push(der.get(pos..tlv.end)?);
        pos = tlv.end;
    }
    Some(out)
}

/// The start of the `index`th child of the constructed value starting at `pos`.
pub(crate) fn child_at(der: &[u8], pos: usize, index: usize) -> Option<usize> {
    let parent = Tlv::read(der, pos).ok()?;
    let mut at = parent.content_start;
    for _ in 0..index {
        at = Tlv::read(der, at).ok()?.end;
    }
    (parent.constructed && at < parent.end).then_some(at)
}

/// The starts of the children of the constructed value starting at `pos`, at most `N`.
pub(crate) fn child_starts<const N: usize>(der: &[u8], pos: usize) -> Option<([usize; N], usize)> {
    let parent = Tlv::read(der, pos).ok()?;
    let mut starts = [0usize; N];
    let (mut at, mut count) = (parent.content_start, 0);
    while at < parent.end {
        *starts.get_mut(count)? = at;
        count += 1;
        at = Tlv::read(der, at).ok()?.end;
    }
    parent.constructed.then_some((starts, count))
}

/// Where the value (contents octets) of the TLV starting at `pos` stands, and its first tag
/// octet.
pub(crate) fn value_range(der: &[u8], pos: usize) -> Option<(u8, Range<usize>)> {
    let tlv = Tlv::read(der, pos).ok()?;
    Some((*der.get(pos)?, tlv.content_start..tlv.end))
}

struct Tlv {
    constructed: bool,
    content_start: usize,
    end: usize,
}

impl Tlv {
    fn read(der: &[u8], pos: usize) -> Result<Tlv, Error> {
        let byte = |i: usize| {
            der.get(i)
                .copied()
                .ok_or_else(|| der_error(pos, TlvProblem::Truncated))
        };
        let tag = byte(pos)?;
        let mut i = pos + 1;
        if tag & 0x1f == 0x1f {
            // High tag number: base-128 digits, never in an attested document but valid DER.
            let mut digits = 0;
            while byte(i)? & 0x80 != 0 {
                i += 1;
                digits += 1;
                if digits > 4 {
                    return Err(der_error(pos, TlvProblem::TagTooLong));
                }
            }
            i += 1;
        }
        let first = byte(i)?;
        i += 1;
        let len = match first {
            0x80 => return Err(der_error(pos, TlvProblem::IndefiniteLength)),
            0xff => return Err(der_error(pos, TlvProblem::ReservedLength)),
            n if n < 0x80 => usize::from(n),
            n => {
                let count = usize::from(n & 0x7f);
                if count > 4 {
                    return Err(der_error(pos, TlvProblem::LengthTooLong));
                }
                let mut len = 0usize;
                for _ in 0..count {
                    len = (len << 8) | usize::from(byte(i)?);
                    i += 1;
                }
                if len < 0x80 || (count > 1 && len >> ((count - 1) * 8) == 0) {
                    return Err(der_error(pos, TlvProblem::NonMinimalLength));
                }
                len
            }
        };
        let end = i
            .checked_add(len)
            .filter(|end| *end <= der.len())
            .ok_or_else(|| {
                der_error(
                    pos,
                    TlvProblem::Overrun {
                        length: len,
                        remaining: der.len().saturating_sub(i),
                    },
                )
            })?;
        Ok(Tlv {
            constructed: tag & 0x20 != 0,
            content_start: i,
            end,
        })
    }
}

fn der_error(offset: usize, problem: TlvProblem) -> Error {
    Error::Der {
        what: "the TLV structure",
        reason: DerReason::Tlv { offset, problem },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(r: Result<(), Error>) -> String {
        match r {
            Err(Error::Der { reason, .. }) => reason.to_string(),
            Err(Error::Structure { reason }) => reason.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accepts_nested_and_empty_values() {
        assert!(check_der_shape(&[0x30, 0x05, 0x31, 0x00, 0x04, 0x01, 0xaa]).is_ok());
        assert!(check_der_shape(&[0x30, 0x00]).is_ok());
    }

    #[test]
    fn rejects_each_malformed_length_with_its_reason() {
        let cases: &[(&[u8], &str)] = &[
            (&[], "ends inside a tag"),
            (&[0x30], "ends inside a tag or length"),
            (&[0x30, 0x80, 0x00, 0x00], "indefinite length"),
            (
                &[0x30, 0x81, 0x05, 0x04, 0x03, 1, 2, 3],
                "more octets than needed",
            ),
            (&[0x30, 0x82, 0x00, 0x85], "more octets than needed"),
            (&[0x30, 0x85, 1, 1, 1, 1, 1], "more than 4 octets"),
            (
                &[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff],
                "claims more than the 0 that remain",
            ),
            (
                &[0x30, 0x07, 0x30, 0x02, 0x04, 0x03, 1, 2, 3],
                "runs past the end of its enclosing value",
            ),
            (
                &[0x30, 0x00, 0x00],
                "1 trailing bytes follow the DER value (offset 2)",
            ),
            (&[0x30, 0xff], "reserved length"),
        ];
        for (der, want) in cases {
            let got = detail(check_der_shape(der));
            assert!(got.contains(want), "{der:02x?}: {got}");
        }
    }

    #[test]
    fn rejects_deep_nesting_and_wide_sets() {
        // 33 SEQUENCEs around a NULL.
        let depth = MAX_DER_DEPTH + 1;
        let mut deep = Vec::new();
        for i in 0..depth {
            deep.extend([0x30, u8::try_from(2 * (depth - i)).unwrap()]);
        }
        deep.extend([0x05, 0x00]);
        assert!(detail(check_der_shape(&deep)).contains("nest deeper than 32"));
        let mut wide = vec![0x31, 0x81, 2 * 65];
        wide.extend([0x05, 0x00].repeat(65));
        assert!(detail(check_der_shape(&wide)).contains("more than 64 elements"));
        let mut ok = vec![0x31, 0x81, 2 * 64];
        ok.extend([0x05, 0x00].repeat(64));
        assert!(check_der_shape(&ok).is_ok());
    }
}
