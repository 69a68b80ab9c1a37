//! Digest and signature algorithms, and the check of the CMS signature itself.

use const_oid::ObjectIdentifier;
use der::{Tag, Tagged};
use openssl::ec::EcKey;
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::Public;
use openssl::rsa::{Padding, Rsa};
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::cms::{oid_name, AttestedDocument, SignedPart};
use crate::error::Error;

/// The least RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: u32 = 2048;

/// A digest algorithm the verifier accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

/// The kind of signature, with the hash it names when its OID names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum SignatureAlgorithm {
    RsaPkcs1,
    Ecdsa,
}

const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");

impl DigestAlgorithm {
    /// Maps a SignerInfo `digestAlgorithm`. IMDS writes sha256WithRSAEncryption there rather
    /// than id-sha256; the combined OIDs are read as their hash, anything else is refused.
    pub(crate) fn from_identifier(alg: &AlgorithmIdentifierOwned) -> Result<Self, Error> {
        let digest = match alg.oid {
            SHA256 | SHA256_WITH_RSA | ECDSA_WITH_SHA256 => DigestAlgorithm::Sha256,
            SHA384 | SHA384_WITH_RSA | ECDSA_WITH_SHA384 => DigestAlgorithm::Sha384,
            SHA512 | SHA512_WITH_RSA | ECDSA_WITH_SHA512 => DigestAlgorithm::Sha512,
            other => {
                return Err(Error::UnsupportedDigestAlgorithm {
                    algorithm: oid_name(&other),
                })
            }
        };
        if !params_absent_or_null(alg) {
            return Err(Error::UnsupportedDigestAlgorithm {
                algorithm: format!("{} with unexpected parameters", oid_name(&alg.oid)),
            });
        }
        Ok(digest)
    }
}

impl SignatureAlgorithm {
    /// Maps a SignerInfo `signatureAlgorithm`; a combined OID must name the same hash as the
    /// digest algorithm.
    pub(crate) fn from_identifier(
        alg: &AlgorithmIdentifierOwned,
        digest: DigestAlgorithm,
    ) -> Result<Self, Error> {
        let (kind, hash) = match alg.oid {
            RSA_ENCRYPTION => (SignatureAlgorithm::RsaPkcs1, None),
            SHA256_WITH_RSA => (SignatureAlgorithm::RsaPkcs1, Some(DigestAlgorithm::Sha256)),
            SHA384_WITH_RSA => (SignatureAlgorithm::RsaPkcs1, Some(DigestAlgorithm::Sha384)),
            SHA512_WITH_RSA => (SignatureAlgorithm::RsaPkcs1, Some(DigestAlgorithm::Sha512)),
            EC_PUBLIC_KEY => (SignatureAlgorithm::Ecdsa, None),
            ECDSA_WITH_SHA256 => (SignatureAlgorithm::Ecdsa, Some(DigestAlgorithm::Sha256)),
            ECDSA_WITH_SHA384 => (SignatureAlgorithm::Ecdsa, Some(DigestAlgorithm::Sha384)),
            ECDSA_WITH_SHA512 => (SignatureAlgorithm::Ecdsa, Some(DigestAlgorithm::Sha512)),
            other => {
                return Err(Error::UnsupportedSignatureAlgorithm {
                    algorithm: format!(
                        "{} (only RSA PKCS#1 v1.5 and ECDSA are accepted)",
                        oid_name(&other)
                    ),
                })
            }
        };
        if hash.is_some_and(|h| h != digest) {
            return Err(Error::UnsupportedSignatureAlgorithm {
                algorithm: format!(
                    "{} does not match the digest algorithm {digest:?}",
                    oid_name(&alg.oid)
                ),
            });
        }
        let params_ok = match kind {
            SignatureAlgorithm::RsaPkcs1 => params_absent_or_null(alg),
            SignatureAlgorithm::Ecdsa => alg.parameters.is_none() || alg.oid == EC_PUBLIC_KEY,
        };
        if !params_ok {
            return Err(Error::UnsupportedSignatureAlgorithm {
                algorithm: format!("{} with unexpected parameters", oid_name(&alg.oid)),
            });
        }
        Ok(kind)
    }
}

fn params_absent_or_null(alg: &AlgorithmIdentifierOwned) -> bool {
    match &alg.parameters {
        None => true,
        Some(any) => any.tag() == Tag::Null && any.value().is_empty(),
    }
}

/// A signer's public key, decoded once and checked for strength.
///
/// Decoded with OpenSSL's RSA and EC key readers and used through the RSA and ECDSA primitives
/// directly: OpenSSL 3's generic key decoders and `EVP_DigestVerify` cost ten times the
/// signature check itself and take global locks on every call.
#[derive(Debug, Clone)]
pub(crate) enum SignerKey {
    Rsa(Rsa<Public>),
    Ec(EcKey<Public>),
}

impl SignerKey {
    /// Decodes the signer certificate's key and checks it fits the signature algorithm.
    pub(crate) fn new(doc: &AttestedDocument) -> Result<SignerKey, Error> {
        let weak = |desc: String| Error::WeakKey {
            subject: doc.signer.subject(),
            key: desc,
        };
        match doc.signed.signature_algorithm {
            SignatureAlgorithm::RsaPkcs1 => {
                let rsa = Rsa::public_key_from_der(&doc.signer.spki_der).map_err(|_| {
                    Error::UnsupportedSignatureAlgorithm {
                        algorithm: "an RSA signature by a certificate without an RSA key".into(),
                    }
                })?;
                let bits = rsa.n().num_bits();
                if bits < MIN_RSA_BITS as i32 {
                    return Err(weak(format!("RSA-{bits}")));
                }
                Ok(SignerKey::Rsa(rsa))
            }
            SignatureAlgorithm::Ecdsa => {
                let ec = EcKey::public_key_from_der(&doc.signer.spki_der).map_err(|_| {
                    Error::UnsupportedSignatureAlgorithm {
                        algorithm: "an ECDSA signature by a certificate without an EC key".into(),
                    }
                })?;
                let curve = ec.group().curve_name();
                if !matches!(curve, Some(Nid::X9_62_PRIME256V1) | Some(Nid::SECP384R1)) {
                    let name = curve
                        .and_then(|n| n.short_name().ok())
                        .unwrap_or("an unnamed curve");
                    return Err(weak(format!("EC {name}")));
                }
                Ok(SignerKey::Ec(ec))
            }
        }
    }
}

impl SignerKey {
    /// Decodes a SubjectPublicKeyInfo holding an RSA or EC key (no strength check).
    pub(crate) fn from_spki(spki_der: &[u8]) -> Option<SignerKey> {
        Rsa::public_key_from_der(spki_der)
            .map(SignerKey::Rsa)
            .or_else(|_| EcKey::public_key_from_der(spki_der).map(SignerKey::Ec))
            .ok()
    }

    /// Whether `signature` is this key's signature of `message` hashed with `digest`: RSA
    /// PKCS#1 v1.5 with the exact DigestInfo, or ECDSA with a DER-encoded (r, s).
    pub(crate) fn verifies(
        &self,
        digest: DigestAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        let hash = digest.digest(message);
        match self {
            SignerKey::Rsa(rsa) => rsa_pkcs1_verify(rsa, digest, &hash, signature),
            // Only the DER encoding of (r, s): OpenSSL's decoder tolerates others.
            SignerKey::Ec(ec) => EcdsaSig::from_der(signature)
                .ok()
                .filter(|sig| sig.to_der().is_ok_and(|der| der == signature))
                .is_some_and(|sig| sig.verify(&hash, ec).unwrap_or(false)),
        }
    }
}

/// A digest value, on the stack.
struct DigestValue {
    bytes: [u8; 64],
    len: usize,
}

impl DigestValue {
    fn new(hash: &[u8]) -> DigestValue {
        let mut bytes = [0u8; 64];
        let len = hash.len().min(64);
        if let (Some(to), Some(from)) = (bytes.get_mut(..len), hash.get(..len)) {
            to.copy_from_slice(from);
        }
        DigestValue { bytes, len }
    }
}

impl std::ops::Deref for DigestValue {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl DigestAlgorithm {
    fn digest(self, data: &[u8]) -> DigestValue {
        match self {
            DigestAlgorithm::Sha256 => DigestValue::new(&Sha256::digest(data)),
            DigestAlgorithm::Sha384 => DigestValue::new(&Sha384::digest(data)),
            DigestAlgorithm::Sha512 => DigestValue::new(&Sha512::digest(data)),
        }
    }

    /// The DER DigestInfo prefix (RFC 8017 section 9.2, note 1) before the hash.
    fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            DigestAlgorithm::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            DigestAlgorithm::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            DigestAlgorithm::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }
}

/// Verifies the CMS signature: over the content itself, or over the signed attributes after
/// checking that their message digest is the content's. `signer` names the certificate in the
/// error.
pub(crate) fn verify(signed: &SignedPart, key: &SignerKey, signer: &str) -> Result<(), Error> {
    let signed_bytes: &[u8] = match &signed.signed_attributes {
        None => &signed.content,
        Some(attrs) => {
            if *signed.digest.digest(&signed.content) != *attrs.message_digest {
                return Err(Error::SignedAttributes {
                    detail: "the message-digest attribute is not the digest of the content".into(),
                });
            }
            &attrs.der
        }
    };
    if key.verifies(signed.digest, signed_bytes, &signed.signature) {
        Ok(())
    } else {
        Err(Error::BadSignature {
            signer: signer.to_owned(),
        })
    }
}

/// RSASSA-PKCS1-v1_5 verification (RFC 8017 section 8.2.2): the RSA public operation with
/// OpenSSL, which checks the 00 01 FF..FF 00 padding, then the recovered DigestInfo compared
/// whole with the one expected, so nothing but the exact encoding passes.
fn rsa_pkcs1_verify(rsa: &Rsa<Public>, alg: DigestAlgorithm, digest: &[u8], sig: &[u8]) -> bool {
    // On the stack: OpenSSL refuses moduli over 16384 bits (2048 bytes).
    let mut buffer = [0u8; 2048];
    let size = rsa.size() as usize;
    let Some(recovered) = buffer.get_mut(..size).filter(|_| sig.len() == size) else {
        return false;
    };
    let Ok(len) = rsa.public_decrypt(sig, recovered, Padding::PKCS1) else {
        return false;
    };
    let prefix = alg.digest_info_prefix();
    recovered.get(..len).is_some_and(|info| {
        info.len() == prefix.len() + digest.len()
            && info.starts_with(prefix)
            && info.ends_with(digest)
    })
}
