//! The digest and signature algorithms accepted, their OIDs, and the pairing rules between them.
//!
//! ```text
//! DigestAlgorithmIdentifier ::= AlgorithmIdentifier       -- RFC 5652 section 10.1.1
//! SignatureAlgorithmIdentifier ::= AlgorithmIdentifier    -- RFC 5652 section 10.1.2
//! ```
//! IMDS writes sha256WithRSAEncryption as the *digest* algorithm (not id-sha256): that OID is read
//! as SHA-256, but only for an RSA signature. Digests are computed here (sha2), never by OpenSSL.

use const_oid::ObjectIdentifier;
use der::{Tag, Tagged};
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::error::{AlgorithmReason, Error};

/// A digest algorithm the verifier accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

/// The kind of signature.
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

/// A SignerInfo's digest algorithm as read, before it is paired with the signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DigestIdentifier {
    pub(crate) digest: DigestAlgorithm,
    /// Whether the OID was a sha*WithRSAEncryption one (the IMDS quirk).
    rsa_combined: bool,
}

impl DigestIdentifier {
    /// Reads a `digestAlgorithm`: id-sha256/384/512, or sha*WithRSAEncryption read as its hash.
    /// Anything else (ecdsa-with-*, SHA-1, MD5...) is refused by name.
    pub(crate) fn from_identifier(alg: &AlgorithmIdentifierOwned) -> Result<Self, Error> {
        let (digest, rsa_combined) = match alg.oid {
            SHA256 => (DigestAlgorithm::Sha256, false),
            SHA384 => (DigestAlgorithm::Sha384, false),
            SHA512 => (DigestAlgorithm::Sha512, false),
            SHA256_WITH_RSA => (DigestAlgorithm::Sha256, true),
            SHA384_WITH_RSA => (DigestAlgorithm::Sha384, true),
            SHA512_WITH_RSA => (DigestAlgorithm::Sha512, true),
            other => {
                return Err(Error::UnsupportedDigestAlgorithm {
                    algorithm: oid_name(&other),
                    reason: AlgorithmReason::NotAccepted,
                })
            }
        };
        if !params_absent_or_null(alg) {
            return Err(Error::UnsupportedDigestAlgorithm {
                algorithm: oid_name(&alg.oid),
                reason: AlgorithmReason::Parameters,
            });
        }
        Ok(DigestIdentifier {
            digest,
            rsa_combined,
        })
    }
}

impl SignatureAlgorithm {
    /// Reads a SignerInfo `signatureAlgorithm` and pairs it with the digest algorithm: a
    /// combined OID must name the same hash, and a sha*WithRSAEncryption digest OID goes only
    /// with an RSA signature.
    pub(crate) fn from_identifier(
        alg: &AlgorithmIdentifierOwned,
        digest_alg: &AlgorithmIdentifierOwned,
        digest: DigestIdentifier,
    ) -> Result<Self, Error> {
        let refuse = |reason| Error::UnsupportedSignatureAlgorithm {
            algorithm: oid_name(&alg.oid),
            reason,
        };
        let (kind, hash) = match alg.oid {
            RSA_ENCRYPTION => (SignatureAlgorithm::RsaPkcs1, None),
            SHA256_WITH_RSA => (SignatureAlgorithm::RsaPkcs1, Some(DigestAlgorithm::Sha256)),
            SHA384_WITH_RSA => (SignatureAlgorithm::RsaPkcs1, Some(DigestAlgorithm::Sha384)),
            SHA512_WITH_RSA => (SignatureAlgorithm::RsaPkcs1, Some(DigestAlgorithm::Sha512)),
            EC_PUBLIC_KEY => (SignatureAlgorithm::Ecdsa, None),
            ECDSA_WITH_SHA256 => (SignatureAlgorithm::Ecdsa, Some(DigestAlgorithm::Sha256)),
            ECDSA_WITH_SHA384 => (SignatureAlgorithm::Ecdsa, Some(DigestAlgorithm::Sha384)),
            ECDSA_WITH_SHA512 => (SignatureAlgorithm::Ecdsa, Some(DigestAlgorithm::Sha512)),
            _ => return Err(refuse(AlgorithmReason::NotAccepted)),
        };
        if hash.is_some_and(|h| h != digest.digest) {
            return Err(refuse(AlgorithmReason::HashMismatch {
                digest: oid_name(&digest_alg.oid),
            }));
        }
        if digest.rsa_combined && kind != SignatureAlgorithm::RsaPkcs1 {
            return Err(Error::UnsupportedDigestAlgorithm {
                algorithm: oid_name(&digest_alg.oid),
                reason: AlgorithmReason::PairedWith {
                    signature: oid_name(&alg.oid),
                },
            });
        }
        let params_ok = match kind {
            SignatureAlgorithm::RsaPkcs1 => params_absent_or_null(alg),
            SignatureAlgorithm::Ecdsa => alg.parameters.is_none() || alg.oid == EC_PUBLIC_KEY,
        };
        if !params_ok {
            return Err(refuse(AlgorithmReason::Parameters));
        }
        Ok(kind)
    }
}

/// The digest and the kind of signature a certificate's `signatureAlgorithm` names, with
/// whether its parameters must be NULL (RSA) or absent (ECDSA); `None` for any other.
pub(crate) fn certificate_signature(
    oid: ObjectIdentifier,
) -> Option<(DigestAlgorithm, SignatureAlgorithm)> {
    Some(match oid {
        SHA256_WITH_RSA => (DigestAlgorithm::Sha256, SignatureAlgorithm::RsaPkcs1),
        SHA384_WITH_RSA => (DigestAlgorithm::Sha384, SignatureAlgorithm::RsaPkcs1),
        SHA512_WITH_RSA => (DigestAlgorithm::Sha512, SignatureAlgorithm::RsaPkcs1),
        ECDSA_WITH_SHA256 => (DigestAlgorithm::Sha256, SignatureAlgorithm::Ecdsa),
        ECDSA_WITH_SHA384 => (DigestAlgorithm::Sha384, SignatureAlgorithm::Ecdsa),
        ECDSA_WITH_SHA512 => (DigestAlgorithm::Sha512, SignatureAlgorithm::Ecdsa),
        _ => return None,
    })
}

pub(crate) fn params_absent_or_null(alg: &AlgorithmIdentifierOwned) -> bool {
    match &alg.parameters {
        None => true,
        Some(any) => any.tag() == Tag::Null && any.value().is_empty(),
    }
}

/// A digest value, on the stack.
pub(crate) struct DigestValue {
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
    /// The digest of `data`.
    pub(crate) fn digest(self, data: &[u8]) -> DigestValue {
        match self {
            DigestAlgorithm::Sha256 => DigestValue::new(&Sha256::digest(data)),
            DigestAlgorithm::Sha384 => DigestValue::new(&Sha384::digest(data)),
            DigestAlgorithm::Sha512 => DigestValue::new(&Sha512::digest(data)),
        }
    }

    /// The DER DigestInfo prefix (RFC 8017 section 9.2, note 1) before the hash.
    pub(crate) fn digest_info_prefix(self) -> &'static [u8] {
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

/// `name (dotted.oid)` when the OID is known, else the dotted OID.
pub(crate) fn oid_name(oid: &ObjectIdentifier) -> String {
    match const_oid::db::DB.by_oid(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}
