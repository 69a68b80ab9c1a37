//! The proven-issuer memory. Once OpenSSL has built and verified a chain from a signer, through
//! the certificate that issued it, to a root, a new signer from the same issuer costs one
//! signature check of its certificate instead of a chain build (which begins with OpenSSL 3
//! decoding the signer certificate, the most costly step of a first verification).
//!
//! This is sound only where OpenSSL's verdict on such a signer depends on nothing this module
//! does not check, so it applies only when:
//! - the document carries no certificate but the signer (the chains OpenSSL can build then
//!   depend on the trust store alone);
//! - the signer certificate is plain: version 3, a SHA-2 RSA PKCS#1 or ECDSA signature named
//!   the same inside and outside the TBS, each extension at most once and of a kind Azure's
//!   signers use, parsed strictly, critical only where OpenSSL handles it, no CA flag, a SAN
//!   of DNS names only, and a subject that is not its issuer by OpenSSL's name comparison;
//! - OpenSSL built the remembered chain for a signer with the same issuer name, authority key
//!   identifier and signature algorithm (what it chooses an issuer by), to the byte;
//! - no certificate above the signer constrains names or policies (the verdict would then
//!   depend on the signer's names);
//! - the verification time falls in the span in which no certificate of the store for that
//!   cloud begins or ends its validity (OpenSSL chooses among candidates by validity at the
//!   time, and only there is every choice the same as when the chain was built).
//!
//! Within those, what remains of OpenSSL's checks on the signer is its validity at the time and
//! its signature by the issuer's key, done here. Anything else, and any failure, goes to
//! OpenSSL, which gives the verdict and the error. The test
//! `tests/cache_equivalence.rs` runs every accept and reject case both ways.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES,
    ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME,
    ID_CE_SUBJECT_KEY_IDENTIFIER, ID_PE_AUTHORITY_INFO_ACCESS,
};
use const_oid::ObjectIdentifier;
use der::{Decode, Tag, Tagged};
use openssl::x509::X509Name;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, SubjectAltName, SubjectKeyIdentifier,
};

use crate::algorithms::{certificate_signature, DigestAlgorithm, SignatureAlgorithm};
use crate::cloud::Cloud;
use crate::error::Error;
use crate::signature::SignerKey;
use crate::signer::SignerCertificate;
use crate::tlv::children;
use crate::trust::chain::{self, ChainProof};
use crate::trust::TrustStore;
use crate::x509::instant;

/// The most issuers a verifier remembers. Azure has a few dozen.
const MAX_PROVEN_ISSUERS: usize = 256;

/// What a chain built by OpenSSL proved above a signer.
#[derive(Debug)]
pub(crate) struct IssuerProof {
    /// The issuer's key, which signs the signer certificates.
    pub(crate) key: SignerKey,
    /// The chain's subjects above the signer: its issuer first, the anchor last.
    pub(crate) subjects: Vec<String>,
    /// The span in which the proof holds, `valid_until` excluded.
    pub(crate) valid_from: OffsetDateTime,
    pub(crate) valid_until: OffsetDateTime,
}

/// The proofs a verifier remembers, keyed by [`SignerProfile::key`].
#[derive(Debug, Default)]
pub(crate) struct ProvenIssuers {
    proofs: RwLock<HashMap<[u8; 32], Arc<IssuerProof>>>,
}

impl ProvenIssuers {
    pub(crate) fn get(&self, key: &[u8; 32], at: OffsetDateTime) -> Option<Arc<IssuerProof>> {
        let proofs = self.proofs.read().unwrap_or_else(|e| e.into_inner());
        proofs
            .get(key)
            .filter(|p| p.valid_from <= at && at < p.valid_until)
            .cloned()
    }

    pub(crate) fn remember(&self, key: [u8; 32], proof: IssuerProof) {
        let mut proofs = self.proofs.write().unwrap_or_else(|e| e.into_inner());
        if proofs.len() < MAX_PROVEN_ISSUERS || proofs.contains_key(&key) {
            proofs.insert(key, Arc::new(proof));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.proofs.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl ProvenIssuers {
    /// Verifies that `signer` chains to a root of `trust` serving `cloud` at `at`: through an
    /// issuer proven before when the signer allows it, else with OpenSSL
    /// ([`chain::verify`], the cold path's check), remembering the issuer when that is sound.
    /// The proof's window is narrowed to the span in which no certificate OpenSSL could choose
    /// begins or ends its validity.
    pub(crate) fn verify_chain(
        &self,
        trust: &TrustStore,
        cloud: Cloud,
        signer: &SignerCertificate,
        carried: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> Result<ChainProof, Error> {
        let profile = if carried.is_empty() {
            SignerProfile::of(cloud, signer)
        } else {
            None
        };
        if let Some(profile) = &profile {
            if let Some(proof) = self.get(&profile.key, at) {
                if profile.issued_by(&proof, at) {
                    let (valid_from, valid_until) = profile.window(&proof);
                    return Ok(ChainProof {
                        subjects: std::iter::once(signer.subject())
                            .chain(proof.subjects.iter().cloned())
                            .collect(),
                        valid_from,
                        valid_until,
                        issuer: None,
                    });
                }
            }
        }
        let mut chain = chain::verify(trust, cloud, &signer.der, carried, at)?;
        // The verdict holds only while every certificate OpenSSL could choose keeps the
        // validity it has at `at`.
        let carried_validity: Vec<_> = carried
            .iter()
            .map(|der| {
                x509_cert::Certificate::from_der(der).ok().and_then(|c| {
                    let v = c.tbs_certificate.validity;
                    instant(v.not_before).zip(instant(v.not_after))
                })
            })
            .collect();
        let (from, until) = stable_window(trust, cloud, &carried_validity, at);
        chain.valid_from = chain.valid_from.max(from);
        chain.valid_until = chain.valid_until.min(until);
        if let (Some(profile), Some(issuer)) = (profile, &chain.issuer) {
            let key = SignerKey::from_spki(&issuer.spki_der);
            if let (false, Some(key)) = (issuer.constrained, key) {
                self.remember(
                    profile.key,
                    IssuerProof {
                        key,
                        subjects: chain.subjects.iter().skip(1).cloned().collect(),
                        valid_from: from,
                        valid_until: until,
                    },
                );
            }
        }
        Ok(chain)
    }
}

/// The span around `at` in which no certificate of `trust` serving `cloud`, nor any in
/// `extra`, begins or ends its validity (`until` excluded); empty when a validity is unknown.
fn stable_window(
    trust: &TrustStore,
    cloud: Cloud,
    extra: &[Option<(OffsetDateTime, OffsetDateTime)>],
    at: OffsetDateTime,
) -> (OffsetDateTime, OffsetDateTime) {
    let mut from = OffsetDateTime::UNIX_EPOCH;
    let mut until = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT);
    for validity in trust.validities(cloud).chain(extra.iter().copied()) {
        let Some((not_before, not_after)) = validity else {
            return (until, from);
        };
        for event in [not_before, not_after] {
            if event <= at {
                from = from.max(event);
            } else {
                until = until.min(event);
            }
        }
    }
    (from, until)
}

/// A plain signer certificate, read for the checks this module makes.
pub(crate) struct SignerProfile<'a> {
    /// What OpenSSL chooses the signer's issuer by, and the cloud: the proofs' key.
    pub(crate) key: [u8; 32],
    tbs: &'a [u8],
    digest: DigestAlgorithm,
    signature: &'a [u8],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

/// Signed certificate timestamps (RFC 6962), not read by chain verification.
const CT_SCTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Microsoft's certificate template and application policies, not read by OpenSSL.
const MS_TEMPLATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.21.7");
const MS_APP_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.21.10");

impl<'a> SignerProfile<'a> {
    /// The profile of `signer` for chains of `cloud`, or `None` when it is not plain.
    pub(crate) fn of(cloud: Cloud, signer: &'a SignerCertificate) -> Option<SignerProfile<'a>> {
        let cert = signer.certificate();
        let tbs = &cert.tbs_certificate;
        if tbs.version != Version::V3
            || tbs.issuer_unique_id.is_some()
            || tbs.subject_unique_id.is_some()
            || tbs.signature != cert.signature_algorithm
        {
            return None;
        }
        let (digest, kind) = certificate_signature(cert.signature_algorithm.oid)?;
        let params_null = kind == SignatureAlgorithm::RsaPkcs1;
        let params_ok = match &cert.signature_algorithm.parameters {
            None => !params_null,
            Some(p) => params_null && p.tag() == Tag::Null && p.value().is_empty(),
        };
        if !params_ok || !plain_extensions(cert) {
            return None;
        }
        // The input's own encodings: [version, serial, signature, issuer, validity, subject, ..].
        let [tbs_der, _, signature] = children(&signer.der)?.as_slice()[..] else {
            return None;
        };
        let fields = children(tbs_der)?;
        let (alg_der, issuer_der, subject_der) =
            (*fields.get(2)?, *fields.get(3)?, *fields.get(5)?);
        // OpenSSL treats a certificate whose subject matches its issuer (by its own
        // comparison, which folds case and spaces) as self-issued: not plain.
        let issuer = X509Name::from_der(issuer_der).ok()?;
        let subject = X509Name::from_der(subject_der).ok()?;
        if subject.try_cmp(&issuer).ok()? == std::cmp::Ordering::Equal {
            return None;
        }
        let aki = tbs
            .extensions
            .iter()
            .flatten()
            .find(|ext| ext.extn_id == ID_CE_AUTHORITY_KEY_IDENTIFIER)
            .map(|ext| ext.extn_value.as_bytes());
        let mut h = Sha256::new();
        for part in [
            cloud.to_string().as_bytes(),
            issuer_der,
            aki.unwrap_or(b"-"),
            alg_der,
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        // BIT STRING contents: the unused-bits byte (0), then the signature.
        let signature = match signature.get(..1) {
            Some([0x03]) => bits_of(signature)?,
            _ => return None,
        };
        Some(SignerProfile {
            key: h.finalize().into(),
            tbs: tbs_der,
            digest,
            signature,
            not_before: instant(tbs.validity.not_before)?,
            not_after: instant(tbs.validity.not_after)?,
        })
    }

    /// Whether the signer is valid at `at` (notBefore counted in, notAfter out, as OpenSSL
    /// counts them) and signed by the proven issuer's key.
    pub(crate) fn issued_by(&self, proof: &IssuerProof, at: OffsetDateTime) -> bool {
        self.not_before <= at
            && at < self.not_after
            && proof.key.verifies(self.digest, self.tbs, self.signature)
    }

    /// The span in which both the signer and the proof are valid.
    pub(crate) fn window(&self, proof: &IssuerProof) -> (OffsetDateTime, OffsetDateTime) {
        (
            self.not_before.max(proof.valid_from),
            self.not_after.min(proof.valid_until),
        )
    }
}

/// The signature bits of a DER BIT STRING with no unused bits.
fn bits_of(bit_string: &[u8]) -> Option<&[u8]> {
    let value = der::asn1::BitStringRef::from_der(bit_string).ok()?;
    if value.unused_bits() != 0 {
        return None;
    }
    value.as_bytes()
}

/// Each extension at most once, of a kind Azure's signers carry, parsed strictly, critical only
/// where OpenSSL handles it, no CA flag, a SAN of DNS names only.
fn plain_extensions(cert: &x509_cert::Certificate) -> bool {
    let extensions = cert
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default();
    let mut seen: Vec<ObjectIdentifier> = Vec::with_capacity(extensions.len());
    for ext in extensions {
        if seen.contains(&ext.extn_id) {
            return false;
        }
        seen.push(ext.extn_id);
        let value = ext.extn_value.as_bytes();
        let (may_be_critical, parses) = match ext.extn_id {
            ID_CE_BASIC_CONSTRAINTS => (
                true,
                BasicConstraints::from_der(value)
                    .is_ok_and(|bc| !bc.ca && bc.path_len_constraint.is_none()),
            ),
            ID_CE_KEY_USAGE => (true, KeyUsage::from_der(value).is_ok()),
            ID_CE_EXT_KEY_USAGE => (true, ExtendedKeyUsage::from_der(value).is_ok()),
            ID_CE_SUBJECT_ALT_NAME => (
                true,
                SubjectAltName::from_der(value).is_ok_and(|san| {
                    !san.0.is_empty()
                        && san.0.iter().all(|n| matches!(n, GeneralName::DnsName(_)))
                }),
            ),
            ID_CE_SUBJECT_KEY_IDENTIFIER => (false, SubjectKeyIdentifier::from_der(value).is_ok()),
            ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                (false, AuthorityKeyIdentifier::from_der(value).is_ok())
            }
            ID_CE_CRL_DISTRIBUTION_POINTS => (
                false,
                CrlDistributionPoints::from_der(value).is_ok_and(|points| {
                    points.0.iter().all(|p| {
                        p.reasons.is_none()
                            && p.crl_issuer.is_none()
                            && matches!(
                                &p.distribution_point,
                                Some(DistributionPointName::FullName(names))
                                    if names.iter().all(|n| matches!(n, GeneralName::UniformResourceIdentifier(_)))
                            )
                    })
                }),
            ),
            ID_PE_AUTHORITY_INFO_ACCESS => {
                (false, AuthorityInfoAccessSyntax::from_der(value).is_ok())
            }
            ID_CE_CERTIFICATE_POLICIES => (
                false,
                CertificatePolicies::from_der(value).is_ok_and(|policies| {
                    let ids: Vec<_> = policies.0.iter().map(|p| p.policy_identifier).collect();
                    ids.iter()
                        .enumerate()
                        .all(|(i, id)| !ids.iter().skip(i + 1).any(|other| other == id))
                }),
            ),
            CT_SCTS | MS_TEMPLATE | MS_APP_POLICIES => (false, true),
            _ => return false,
        };
        if !parses || (ext.critical && !may_be_critical) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AttestedDocument;

    fn signer_of(path: &str) -> AttestedDocument {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real");
        let bytes = std::fs::read(dir.join(path));
        let Ok(bytes) = bytes else {
            panic!("{path}: {bytes:?}")
        };
        let doc = AttestedDocument::parse(&bytes);
        let Ok(doc) = doc else {
            panic!("{path}: {doc:?}")
        };
        doc
    }

    #[test]
    fn azure_signers_are_plain() {
        for path in [
            "coder_rsa_2024_rsatls08.json",
            "subscription_manager_2021_msrsatls01.json",
            "taskcluster_2021_msrsatls02.json",
            "taskcluster_2023_tls05.json",
            "taskcluster_2025_rsatls07.json",
        ] {
            let doc = signer_of(path);
            assert!(
                SignerProfile::of(Cloud::Public, &doc.signer).is_some(),
                "{path}"
            );
        }
    }

    #[test]
    fn the_profile_key_names_the_cloud() {
        let doc = signer_of("taskcluster_2025_rsatls07.json");
        let key = |cloud| SignerProfile::of(cloud, &doc.signer).map(|p| p.key);
        assert_ne!(key(Cloud::Public), key(Cloud::UsGov));
        assert_eq!(key(Cloud::Public), key(Cloud::Public));
    }
}
