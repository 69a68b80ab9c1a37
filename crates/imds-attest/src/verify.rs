//! The verifier: every check, in order, from an [`AttestedDocument`] to a [`VerifiedDocument`].

use serde::Serialize;
use time::OffsetDateTime;

use crate::claims::Claims;
use crate::cloud::Cloud;
use crate::cms::AttestedDocument;
use crate::error::Error;
use crate::policy::{NonceCheck, Policy};
use crate::signature;
use crate::signer::SignerFacts;
use crate::trust::{chain, TrustStore};

/// Verifies attested documents against a trust store and a policy, both fixed at construction.
/// It never reads the clock or the network: the verification time is an argument.
///
/// ```
/// use imds_attest::{AttestedDocument, NonceCheck, Policy, TrustStore, Verifier};
/// use time::macros::datetime;
///
/// # fn main() -> Result<(), imds_attest::Error> {
/// let verifier = Verifier::new(TrustStore::builtin(), Policy::default());
/// let bytes = std::fs::read("../../testdata/real/taskcluster_2025_rsatls07.json").unwrap();
/// let doc = AttestedDocument::parse(&bytes)?;
/// let verified = verifier.verify(
///     &doc,
///     NonceCheck::Exact("20251119-185330"),
///     datetime!(2025-11-19 12:53:30 UTC),
/// )?;
/// assert_eq!(verified.claims().vm_id, "ddc87bd2-3ebb-43dc-92a9-90b104cd9527");
/// assert_eq!(verified.cloud(), imds_attest::Cloud::Public);
///
/// // The same document today: its signer certificate and the document have expired.
/// let late = verifier.verify(&doc, NonceCheck::Exact("20251119-185330"), datetime!(2026-11-21 0:00 UTC));
/// assert_eq!(late.unwrap_err().kind(), "certificate_expired");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    trust: TrustStore,
    policy: Policy,
}

/// A document whose signature, chain, signer name, nonce and time were all checked. Only
/// [`Verifier::verify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedDocument {
    cloud: Cloud,
    nonce_checked: bool,
    claims: Claims,
    signer: SignerFacts,
    chain: Vec<String>,
}

impl Verifier {
    /// A verifier that trusts `trust` and applies `policy`.
    pub fn new(trust: TrustStore, policy: Policy) -> Verifier {
        Verifier { trust, policy }
    }

    /// The policy applied.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Checks, in order: the CMS signature over the content with the signer certificate's key;
    /// the signer's DNS names against the allowed clouds; the chain to a root of that cloud at
    /// `at`; the claims; the nonce; createdOn and expiresOn against `at` with the policy's skew
    /// and maximum age. The first failure is returned.
    pub fn verify(
        &self,
        doc: &AttestedDocument,
        nonce: NonceCheck<'_>,
        at: OffsetDateTime,
    ) -> Result<VerifiedDocument, Error> {
        let key = signature::signer_key(doc)?;
        signature::verify(doc, &key)?;
        let cloud = self.cloud_of(doc)?;
        let chain = chain::verify(
            &self.trust,
            cloud,
            &doc.signer.der,
            &doc.other_certificates,
            at,
        )?;
        let claims = Claims::parse(&doc.content)?;
        let nonce_checked = check_nonce(&claims, nonce)?;
        self.check_time(&claims, at)?;
        Ok(VerifiedDocument {
            cloud,
            nonce_checked,
            claims,
            signer: doc.signer.facts.clone(),
            chain,
        })
    }

    fn cloud_of(&self, doc: &AttestedDocument) -> Result<Cloud, Error> {
        let allowed = self.policy.clouds();
        let mut clouds: Vec<Cloud> = doc
            .signer
            .dns_names
            .iter()
            .filter_map(|name| Cloud::of_name(name, allowed))
            .collect();
        clouds.sort();
        clouds.dedup();
        match clouds.as_slice() {
            [one] => Ok(*one),
            // A certificate naming two clouds would pick its own anchors: refuse it.
            _ => Err(Error::SignerName {
                found: doc.signer.dns_names.clone(),
                allowed: if clouds.is_empty() {
                    allowed.to_vec()
                } else {
                    clouds
                },
            }),
        }
    }

    fn check_time(&self, claims: &Claims, at: OffsetDateTime) -> Result<(), Error> {
        let skew = self.policy.skew();
        if claims.created_on > at + skew {
            return Err(Error::DocumentNotYetValid {
                created_on: claims.created_on,
                at,
            });
        }
        if claims.expires_on < at - skew {
            return Err(Error::DocumentExpired {
                expires_on: claims.expires_on,
                at,
            });
        }
        if let Some(max_age) = self.policy.max_age() {
            let age = at - claims.created_on;
            if age > max_age {
                return Err(Error::DocumentTooOld {
                    created_on: claims.created_on,
                    age_seconds: age.whole_seconds(),
                    max_age_seconds: max_age.whole_seconds().unsigned_abs(),
                });
            }
        }
        Ok(())
    }
}

fn check_nonce(claims: &Claims, nonce: NonceCheck<'_>) -> Result<bool, Error> {
    match nonce {
        NonceCheck::Exact(expected) if claims.nonce.as_bytes() == expected.as_bytes() => Ok(true),
        NonceCheck::Exact(expected) => Err(Error::NonceMismatch {
            expected: expected.to_owned(),
            found: claims.nonce.clone(),
        }),
        NonceCheck::DangerousAnyNonce => Ok(false),
    }
}

impl VerifiedDocument {
    /// The signed claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The cloud whose name the signer bears and whose root the chain reached.
    pub fn cloud(&self) -> Cloud {
        self.cloud
    }

    /// Whether the nonce was checked (false only under [`NonceCheck::DangerousAnyNonce`]).
    pub fn nonce_checked(&self) -> bool {
        self.nonce_checked
    }

    /// The certificate that signed.
    pub fn signer(&self) -> &SignerFacts {
        &self.signer
    }

    /// The chain's subjects, signer first, trust anchor last.
    pub fn chain(&self) -> &[String] {
        &self.chain
    }
}
