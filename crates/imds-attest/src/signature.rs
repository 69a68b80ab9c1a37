//! The CMS signature itself: the signer's key, decoded once and checked for strength and cost,
//! and the check of the signature over the content or the signed attributes.
//!
//! ```text
//! SignatureValue ::= OCTET STRING                         -- RFC 5652 section 5.3
//! ```
//! RSA is PKCS#1 v1.5 (RFC 8017 section 8.2.2) with the exact DigestInfo; ECDSA is over P-256 or
//! P-384 with a DER-encoded (r, s).

use openssl::ec::EcKey;
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::Public;
use openssl::rsa::{Padding, Rsa};

use crate::algorithms::{DigestAlgorithm, SignatureAlgorithm};
use crate::cms::SignedPart;
use crate::error::{AlgorithmReason, Error, KeyReason, SignedAttributesReason};
use crate::limits::{MAX_RSA_BITS, MAX_RSA_EXPONENT, MIN_RSA_BITS};

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
    /// Decodes the signer's key (its SubjectPublicKeyInfo) and checks that it fits the
    /// signature algorithm and is neither weak nor costly: RSA of [`MIN_RSA_BITS`] to
    /// [`MAX_RSA_BITS`] bits with an odd exponent from 3 to 2^32 - 1 (checked before any
    /// modular arithmetic), or EC on P-256 or P-384. `subject` names the certificate in errors.
    pub(crate) fn for_signer(
        algorithm: SignatureAlgorithm,
        spki_der: &[u8],
        subject: impl FnOnce() -> String,
    ) -> Result<SignerKey, Error> {
        let checked = match algorithm {
            SignatureAlgorithm::RsaPkcs1 => match Rsa::public_key_from_der(spki_der) {
                Ok(rsa) => rsa_strength(&rsa).map(|()| SignerKey::Rsa(rsa)),
                Err(_) => {
                    return Err(Error::UnsupportedSignatureAlgorithm {
                        algorithm: "rsaEncryption".into(),
                        reason: AlgorithmReason::KeyMismatch { needs: "RSA" },
                    })
                }
            },
            SignatureAlgorithm::Ecdsa => match EcKey::public_key_from_der(spki_der) {
                Ok(ec) => ec_strength(&ec).map(|()| SignerKey::Ec(ec)),
                Err(_) => {
                    return Err(Error::UnsupportedSignatureAlgorithm {
                        algorithm: "ECDSA".into(),
                        reason: AlgorithmReason::KeyMismatch { needs: "EC" },
                    })
                }
            },
        };
        checked.map_err(|reason| Error::WeakKey {
            subject: subject(),
            reason,
        })
    }
}

fn rsa_strength(rsa: &Rsa<Public>) -> Result<(), KeyReason> {
    let bits = u32::try_from(rsa.n().num_bits()).unwrap_or(0);
    if bits < MIN_RSA_BITS {
        return Err(KeyReason::RsaTooSmall { bits });
    }
    if bits > MAX_RSA_BITS {
        return Err(KeyReason::RsaTooLarge { bits });
    }
    let e = rsa.e();
    // Read from the bytes, no arithmetic: a huge exponent is refused at the cost of its length.
    let exponent_ok =
        bn_to_u64(e).is_some_and(|v| v % 2 == 1 && (3..=MAX_RSA_EXPONENT).contains(&v));
    if exponent_ok {
        Ok(())
    } else {
        Err(KeyReason::RsaExponent {
            exponent: e
                .to_dec_str()
                .map(|s| abbreviate(&s))
                .unwrap_or_else(|_| "(unreadable)".into()),
        })
    }
}

/// The value of a non-negative BIGNUM of at most 64 bits.
fn bn_to_u64(n: &openssl::bn::BigNumRef) -> Option<u64> {
    if n.is_negative() || n.num_bits() > 64 {
        return None;
    }
    n.to_vec().iter().try_fold(0u64, |acc, b| {
        acc.checked_mul(256)?.checked_add(u64::from(*b))
    })
}

/// A huge decimal number shortened to its first and last digits and its length.
fn abbreviate(digits: &str) -> String {
    match (
        digits.get(..12),
        digits.get(digits.len().saturating_sub(6)..),
    ) {
        (Some(head), Some(tail)) if digits.len() > 40 => {
            format!("{head}...{tail} ({} digits)", digits.len())
        }
        _ => digits.to_owned(),
    }
}

fn ec_strength(ec: &EcKey<Public>) -> Result<(), KeyReason> {
    let curve = ec.group().curve_name();
    if matches!(curve, Some(Nid::X9_62_PRIME256V1) | Some(Nid::SECP384R1)) {
        Ok(())
    } else {
        Err(KeyReason::Curve {
            curve: curve
                .and_then(|n| n.short_name().ok())
                .unwrap_or("unnamed")
                .to_owned(),
        })
    }
}

impl SignerKey {
    /// Decodes a SubjectPublicKeyInfo holding an RSA or EC key (no strength check: for an
    /// issuer whose chain OpenSSL verified).
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

/// Verifies the CMS signature: over the content itself, or over the signed attributes after
/// checking that their message digest is the content's. `signer` names the certificate in the
/// error.
pub(crate) fn verify(signed: &SignedPart, key: &SignerKey, signer: &str) -> Result<(), Error> {
    let signed_bytes: &[u8] = match &signed.signed_attributes {
        None => &signed.content,
        Some(attrs) => {
            if *signed.digest.digest(&signed.content) != *attrs.message_digest {
                return Err(Error::SignedAttributes {
                    reason: SignedAttributesReason::DigestMismatch,
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
