//! Documents and signers that [`DocSpec`] and [`CertSpec`](crate::CertSpec) cannot make: signed attributes in a
//! chosen order over chosen bytes, and signer certificates with any public key (an RSA key that
//! has no private half, an even or huge exponent), any names (wildcards, NUL bytes) and any
//! profile (CA, missing keyUsage bits, unusual extendedKeyUsage).
//!
//! Built by editing the DER of a normally signed document with [`Tlv`], a tree of DER values
//! that re-encodes its lengths, and by issuing certificates with OpenSSL directly.
//!
//! ```
//! use imds_attest_testpki::hostile::{signed_attributes_document, AttributeOrder, SignedOver};
//! use imds_attest_testpki::{claims_json, TestPki, REFERENCE_TIME};
//! let pki = TestPki::azure();
//! let content = claims_json("n", REFERENCE_TIME);
//! let der = signed_attributes_document(&content, &pki.leaf, AttributeOrder::Reversed, SignedOver::Sorted);
//! assert_eq!(der.first(), Some(&0x30));
//! ```

use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509Extension, X509NameBuilder, X509};
use time::Duration;

use crate::{asn1_time, DocSpec, Issued, SignedAttrs, OID_SHA256, REFERENCE_TIME};

/// One DER value: primitive bytes, or a constructed value's children (re-encoded, with their
/// lengths, by [`Tlv::to_der`]). Single-byte tags and definite lengths only, as in DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tlv {
    /// A primitive value.
    Primitive {
        /// Its tag byte.
        tag: u8,
        /// Its contents.
        bytes: Vec<u8>,
    },
    /// A constructed value (tag bit 0x20 set).
    Constructed {
        /// Its tag byte.
        tag: u8,
        /// Its elements.
        children: Vec<Tlv>,
    },
}

impl Tlv {
    /// Parses one DER value that fills `der` exactly.
    pub fn parse(der: &[u8]) -> Tlv {
        let (tlv, rest) = Tlv::parse_one(der);
        assert!(rest.is_empty(), "{} bytes after the value", rest.len());
        tlv
    }

    fn parse_one(der: &[u8]) -> (Tlv, &[u8]) {
        let tag = der[0];
        let (len, header) = match der[1] {
            short @ 0..=0x7f => (usize::from(short), 2),
            long => {
                let n = usize::from(long & 0x7f);
                let len = der[2..2 + n]
                    .iter()
                    .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
                (len, 2 + n)
            }
        };
        let (contents, rest) = der[header..].split_at(len);
        let tlv = if tag & 0x20 != 0 {
            let mut children = Vec::new();
            let mut inner = contents;
            while !inner.is_empty() {
                let (child, after) = Tlv::parse_one(inner);
                children.push(child);
                inner = after;
            }
            Tlv::Constructed { tag, children }
        } else {
            Tlv::Primitive {
                tag,
                bytes: contents.to_vec(),
            }
        };
        (tlv, rest)
    }

    /// The DER encoding, lengths recomputed.
    pub fn to_der(&self) -> Vec<u8> {
        match self {
            Tlv::Primitive { tag, bytes } => tlv(*tag, bytes),
            Tlv::Constructed { tag, children } => tlv(
                *tag,
                &children.iter().flat_map(Tlv::to_der).collect::<Vec<_>>(),
            ),
        }
    }

    /// Its tag byte.
    pub fn tag(&self) -> u8 {
        match self {
            Tlv::Primitive { tag, .. } | Tlv::Constructed { tag, .. } => *tag,
        }
    }

    /// The elements of a constructed value.
    pub fn children_mut(&mut self) -> &mut Vec<Tlv> {
        match self {
            Tlv::Constructed { children, .. } => children,
            Tlv::Primitive { tag, .. } => panic!("tag {tag:#04x} is primitive"),
        }
    }

    /// The only SignerInfo of a ContentInfo holding SignedData.
    pub fn signer_info_mut(&mut self) -> &mut Tlv {
        let signed_data = &mut self.children_mut()[1].children_mut()[0];
        let signer_infos = signed_data.children_mut().last_mut().unwrap();
        &mut signer_infos.children_mut()[0]
    }
}

/// One DER value: `tag`, the definite length of `value`, `value`.
pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match value.len() {
        len @ 0..=0x7f => out.push(len as u8),
        len => {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
    }
    out.extend_from_slice(value);
    out
}

/// In which order a document carries its signed attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeOrder {
    /// The DER order of a SET OF (content-type, then message-digest).
    Der,
    /// The reverse: message-digest first, which DER does not allow.
    Reversed,
}

/// Which encoding of the signed attributes the signature is over (always re-tagged as
/// `SET OF`, 0x31, as RFC 5652 section 5.4 says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedOver {
    /// The attributes in the order the document carries them.
    Carried,
    /// The attributes in DER order, whatever order the document carries them in.
    Sorted,
}

/// A document with correct content-type and message-digest attributes (digest id-sha256),
/// carried in `order`, and an RSA-SHA256 signature by `signer` over the `over` encoding.
pub fn signed_attributes_document(
    content: &[u8],
    signer: &Issued,
    order: AttributeOrder,
    over: SignedOver,
) -> Vec<u8> {
    let spec = DocSpec {
        signed_attrs: SignedAttrs::Valid,
        digest_oid: OID_SHA256,
        ..DocSpec::imds(content)
    };
    let mut doc = Tlv::parse(&spec.sign(signer));
    let info = doc.signer_info_mut();
    let fields = info.children_mut();
    let attrs = fields.iter_mut().find(|f| f.tag() == 0xa0).unwrap();
    let sorted = attrs.children_mut().clone();
    assert_eq!(sorted.len(), 2, "content-type and message-digest");
    if order == AttributeOrder::Reversed {
        attrs.children_mut().reverse();
    }
    let signed_set = Tlv::Constructed {
        tag: 0x31,
        children: match over {
            SignedOver::Carried => attrs.children_mut().clone(),
            SignedOver::Sorted => sorted,
        },
    };
    let signature = sign(&signer.key, &signed_set.to_der());
    let last = fields.last_mut().unwrap();
    assert_eq!(
        last.tag(),
        0x04,
        "the signature is the SignerInfo's last field"
    );
    *last = Tlv::Primitive {
        tag: 0x04,
        bytes: signature,
    };
    doc.to_der()
}

/// An RSA PKCS#1 v1.5 SHA-256 signature of `bytes`.
pub fn sign(key: &PKey<Private>, bytes: &[u8]) -> Vec<u8> {
    let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), key).unwrap();
    s.update(bytes).unwrap();
    s.sign_to_vec().unwrap()
}

/// An RSA public key with a random odd modulus of exactly `bits` bits and exponent `e`: no
/// private key exists for it, so nothing it "signs" verifies, but it can be put in a
/// certificate.
pub fn rsa_public_key(bits: i32, e: &BigNum) -> PKey<Public> {
    let mut n = BigNum::new().unwrap();
    n.rand(bits, MsbOption::ONE, true).unwrap();
    let rsa = Rsa::from_public_components(n, BigNum::from_slice(&e.to_vec()).unwrap()).unwrap();
    PKey::from_rsa(rsa).unwrap()
}

/// A fresh RSA key of `bits` bits with public exponent `e` (odd, at least 3).
pub fn rsa_key_with_exponent(bits: u32, e: u64) -> PKey<Private> {
    let e = BigNum::from_slice(&e.to_be_bytes()).unwrap();
    PKey::from_rsa(Rsa::generate_with_e(bits, &e).unwrap()).unwrap()
}

/// The public half of a key.
pub fn public_half(key: &PKey<Private>) -> PKey<Public> {
    PKey::public_key_from_der(&key.public_key_to_der().unwrap()).unwrap()
}

/// A keyUsage bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// digitalSignature.
    DigitalSignature,
    /// keyEncipherment.
    KeyEncipherment,
    /// keyCertSign.
    KeyCertSign,
}

/// How to make a signer certificate, field by field.
#[derive(Clone)]
pub struct LeafSpec {
    /// Subject common names, in order (none, one or several), after O=Microsoft Corporation.
    pub common_names: Vec<String>,
    /// SAN dNSNames as raw IA5String bytes (any byte, NUL included); `None` omits the
    /// extension.
    pub dns_names: Option<Vec<Vec<u8>>>,
    /// basicConstraints cA.
    pub ca: bool,
    /// keyUsage bits; `None` omits the extension.
    pub key_usage: Option<Vec<Usage>>,
    /// extendedKeyUsage purposes by OpenSSL short name (`serverAuth`, `anyExtendedKeyUsage`);
    /// `None` omits the extension.
    pub extended_key_usage: Option<Vec<&'static str>>,
    /// The certificate's public key.
    pub public_key: PKey<Public>,
}

impl LeafSpec {
    /// The profile of [`CertSpec::imds_leaf`](crate::CertSpec::imds_leaf) around `public_key`.
    pub fn imds(public_key: PKey<Public>) -> LeafSpec {
        LeafSpec {
            common_names: vec!["metadata.azure.com".into()],
            dns_names: Some(vec![
                b"eastus.metadata.azure.com".to_vec(),
                b"metadata.azure.com".to_vec(),
            ]),
            ca: false,
            key_usage: Some(vec![Usage::DigitalSignature, Usage::KeyEncipherment]),
            extended_key_usage: Some(vec!["serverAuth", "clientAuth"]),
            public_key,
        }
    }

    /// The same profile with these SAN dNSNames.
    pub fn with_dns_names(self, names: &[&[u8]]) -> LeafSpec {
        LeafSpec {
            dns_names: Some(names.iter().map(|n| n.to_vec()).collect()),
            ..self
        }
    }

    /// The certificate, valid from 30 days before to 180 days after [`REFERENCE_TIME`], signed
    /// with SHA-256 by `issuer`.
    pub fn issue(&self, issuer: &Issued) -> X509 {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Microsoft Corporation")
            .unwrap();
        for cn in &self.common_names {
            name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
        }
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        let mut serial = BigNum::new().unwrap();
        serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
        b.set_serial_number(&Asn1Integer::from_bn(&serial).unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(issuer.cert.subject_name()).unwrap();
        b.set_pubkey(&self.public_key).unwrap();
        b.set_not_before(&asn1_time(REFERENCE_TIME - Duration::days(30)))
            .unwrap();
        b.set_not_after(&asn1_time(REFERENCE_TIME + Duration::days(180)))
            .unwrap();
        let mut bc = BasicConstraints::new();
        bc.critical();
        if self.ca {
            bc.ca();
        }
        b.append_extension(bc.build().unwrap()).unwrap();
        if let Some(usages) = &self.key_usage {
            let mut ku = KeyUsage::new();
            ku.critical();
            for usage in usages {
                match usage {
                    Usage::DigitalSignature => ku.digital_signature(),
                    Usage::KeyEncipherment => ku.key_encipherment(),
                    Usage::KeyCertSign => ku.key_cert_sign(),
                };
            }
            b.append_extension(ku.build().unwrap()).unwrap();
        }
        if let Some(purposes) = &self.extended_key_usage {
            let mut eku = ExtendedKeyUsage::new();
            for p in purposes {
                eku.other(p);
            }
            b.append_extension(eku.build().unwrap()).unwrap();
        }
        let ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(Some(&issuer.cert), None))
            .unwrap();
        b.append_extension(ski).unwrap();
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(&issuer.cert), None))
            .unwrap();
        b.append_extension(aki).unwrap();
        if let Some(names) = &self.dns_names {
            // Encoded by hand: OpenSSL's configuration syntax cannot carry a NUL byte.
            let general_names: Vec<u8> = names.iter().flat_map(|n| tlv(0x82, n)).collect();
            let der = tlv(0x30, &general_names);
            let ext = X509Extension::new_from_der(
                &Asn1Object::from_str("2.5.29.17").unwrap(),
                false,
                &Asn1OctetString::new_from_bytes(&der).unwrap(),
            )
            .unwrap();
            b.append_extension(ext).unwrap();
        }
        b.sign(&issuer.key, MessageDigest::sha256()).unwrap();
        b.build()
    }
}

/// A CA certificate with CN `cn` (after O=Microsoft Corporation) for `key`, valid from a year
/// before to four years after [`REFERENCE_TIME`], signed with SHA-256 by `issuer`
/// (self-signed when `None`): for chains of keys that [`CertSpec`](crate::CertSpec) cannot
/// choose, such as RSA-4096 with exponent 2^32 - 1.
pub fn certificate_authority(cn: &str, key: &PKey<Private>, issuer: Option<&Issued>) -> Issued {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Microsoft Corporation")
        .unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&Asn1Integer::from_bn(&serial).unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&*name, |i| i.cert.subject_name()))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&asn1_time(REFERENCE_TIME - Duration::days(365)))
        .unwrap();
    b.set_not_after(&asn1_time(REFERENCE_TIME + Duration::days(4 * 365)))
        .unwrap();
    b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .digital_signature()
            .build()
            .unwrap(),
    )
    .unwrap();
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(issuer.map(|i| &*i.cert), None))
        .unwrap();
    b.append_extension(ski).unwrap();
    if let Some(issuer) = issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(&issuer.cert), None))
            .unwrap();
        b.append_extension(aki).unwrap();
    }
    b.sign(issuer.map_or(key, |i| &i.key), MessageDigest::sha256())
        .unwrap();
    Issued {
        cert: b.build(),
        key: key.clone(),
    }
}

/// The IMDS-shaped document (see [`DocSpec::imds`]) around `content`, embedding `signer_cert`
/// and signed with `key`, which need not be the certificate's.
pub fn document_signed_by(content: &[u8], signer_cert: &X509, key: &PKey<Private>) -> Vec<u8> {
    DocSpec::imds(content).sign(&Issued {
        cert: signer_cert.clone(),
        key: key.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_round_trips_long_and_short_lengths() {
        for len in [0usize, 0x7f, 0x80, 0xff, 0x100, 70_000] {
            let der = tlv(0x30, &tlv(0x04, &vec![7; len]));
            assert_eq!(Tlv::parse(&der).to_der(), der, "{len}");
        }
    }
}
