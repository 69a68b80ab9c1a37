//! Digest and signature algorithms, and the check of the CMS signature itself.

use const_oid::ObjectIdentifier;
use der::{Tag, Tagged};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::cms::{oid_name, AttestedDocument};
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

    pub(crate) fn message_digest(self) -> MessageDigest {
        match self {
            DigestAlgorithm::Sha256 => MessageDigest::sha256(),
            DigestAlgorithm::Sha384 => MessageDigest::sha384(),
            DigestAlgorithm::Sha512 => MessageDigest::sha512(),
        }
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

/// The signer's public key, decoded and checked for strength.
pub(crate) fn signer_key(doc: &AttestedDocument) -> Result<PKey<Public>, Error> {
    let key = PKey::public_key_from_der(&doc.signer.spki_der).map_err(|_| Error::WeakKey {
        subject: doc.signer.subject.clone(),
        key: "undecodable".into(),
    })?;
    check_key(&key, doc)?;
    Ok(key)
}

fn check_key(key: &PKey<Public>, doc: &AttestedDocument) -> Result<(), Error> {
    let weak = |desc: String| Error::WeakKey {
        subject: doc.signer.subject.clone(),
        key: desc,
    };
    match (key.id(), doc.signature_algorithm) {
        (Id::RSA, SignatureAlgorithm::RsaPkcs1) => {
            if key.bits() < MIN_RSA_BITS {
                return Err(weak(format!("RSA-{}", key.bits())));
            }
        }
        (Id::EC, SignatureAlgorithm::Ecdsa) => {
            let ec = key
                .ec_key()
                .map_err(|e| Error::crypto("reading an EC key", e))?;
            let curve = ec.group().curve_name();
            if !matches!(curve, Some(Nid::X9_62_PRIME256V1) | Some(Nid::SECP384R1)) {
                let name = curve
                    .and_then(|n| n.short_name().ok())
                    .unwrap_or("an unnamed curve");
                return Err(weak(format!("EC {name}")));
            }
        }
        (id, alg) => {
            return Err(Error::UnsupportedSignatureAlgorithm {
                algorithm: format!("{alg:?} signature with a key of type {id:?}"),
            })
        }
    }
    Ok(())
}

/// Verifies the CMS signature: over the content itself, or over the signed attributes after
/// checking that their message digest is the content's.
pub(crate) fn verify(doc: &AttestedDocument, key: &PKey<Public>) -> Result<(), Error> {
    let md = doc.digest.message_digest();
    let signed_bytes: &[u8] = match &doc.signed_attributes {
        None => &doc.content,
        Some(attrs) => {
            let digest = openssl::hash::hash(md, &doc.content)
                .map_err(|e| Error::crypto("hashing the content", e))?;
            if *digest != *attrs.message_digest {
                return Err(Error::SignedAttributes {
                    detail: "the message-digest attribute is not the digest of the content".into(),
                });
            }
            &attrs.der
        }
    };
    let mut verifier = openssl::sign::Verifier::new(md, key)
        .map_err(|e| Error::crypto("preparing signature verification", e))?;
    verifier
        .update(signed_bytes)
        .map_err(|e| Error::crypto("hashing the signed bytes", e))?;
    // OpenSSL reports a malformed signature as an error and a wrong one as `false`: both mean
    // the document is not signed by this key.
    match verifier.verify(&doc.signature) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(Error::BadSignature {
            signer: doc.signer.subject.clone(),
        }),
    }
}
