//! The verifier: every check, in order, from an [`AttestedDocument`] to a [`VerifiedDocument`].

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use crate::cache::{signer_id, KnownOutline, ProvenSigner, SignerCache, DEFAULT_CACHE_CAPACITY};
use crate::claims::Claims;
use crate::cloud::Cloud;
use crate::cms::{AttestedDocument, KnownSignerDocument, SignedPart};
use crate::error::Error;
use crate::input;
use crate::limits::{check_size, DEFAULT_MAX_INPUT_BYTES};
use crate::outline::Outline;
use crate::policy::{NonceCheck, Policy};
use crate::signature::{self, SignerKey};
use crate::signer::SignerFacts;
use crate::trust::TrustStore;

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
///
/// A verifier remembers what it proved about each signer (its key, cloud and chain, within the
/// chain's validity window), so a licence server that keeps one verifier pays one signature
/// check per document from a signer it has seen. It is `Send + Sync`: share it across threads.
#[derive(Debug)]
pub struct Verifier {
    trust: TrustStore,
    policy: Policy,
    cache: SignerCache,
    /// Outlines of documents verified through `verify_bytes`, with what they parse to.
    outlines: SignerCache<KnownOutline>,
}

/// A document whose signature, chain, signer name, nonce and time were all checked. Only
/// [`Verifier::verify`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedDocument {
    nonce_checked: bool,
    claims: Claims,
    signer: Arc<ProvenSigner>,
}

impl Verifier {
    /// A verifier that trusts `trust` and applies `policy`, remembering up to
    /// [`DEFAULT_CACHE_CAPACITY`] signers.
    pub fn new(trust: TrustStore, policy: Policy) -> Verifier {
        Verifier::with_cache_capacity(trust, policy, DEFAULT_CACHE_CAPACITY)
    }

    /// A verifier remembering up to about `signers` signers. With 0 it remembers nothing and
    /// uses nothing remembered: every document's chain is built by OpenSSL from scratch, and
    /// the issuers the trust store has proven (see [`TrustStore::proven_issuers`]) are neither
    /// used nor added to.
    pub fn with_cache_capacity(trust: TrustStore, policy: Policy, signers: usize) -> Verifier {
        Verifier {
            trust,
            policy,
            cache: SignerCache::new(signers),
            outlines: SignerCache::new(signers),
        }
    }

    /// How many signers this verifier can remember.
    pub fn cache_capacity(&self) -> usize {
        self.cache.capacity()
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
        let signer = self.proven_signer(doc, at)?;
        self.check_claims(&doc.signed, signer, nonce, at)
    }

    /// Parses `input` (any form [`AttestedDocument::parse`] accepts, up to
    /// [`DEFAULT_MAX_INPUT_BYTES`]) and verifies it: the same result, error for error, as
    /// `parse` then [`verify`](Self::verify), for less work when this verifier has proven the
    /// document's signer before. The entry point for a server verifying many documents.
    ///
    /// ```
    /// use imds_attest::{NonceCheck, Policy, TrustStore, Verifier};
    /// use time::macros::datetime;
    ///
    /// let verifier = Verifier::new(TrustStore::builtin(), Policy::default());
    /// let bytes = std::fs::read("../../testdata/real/taskcluster_2025_rsatls07.json").unwrap();
    /// let at = datetime!(2025-11-19 12:53:30 UTC);
    /// for _ in 0..3 {
    ///     // The first call proves the signer's chain; the others reuse that proof.
    ///     let verified = verifier.verify_bytes(&bytes, NonceCheck::Exact("20251119-185330"), at)?;
    ///     assert_eq!(verified.claims().vm_id, "ddc87bd2-3ebb-43dc-92a9-90b104cd9527");
    /// }
    /// # Ok::<(), imds_attest::Error>(())
    /// ```
    pub fn verify_bytes(
        &self,
        input: &[u8],
        nonce: NonceCheck<'_>,
        at: OffsetDateTime,
    ) -> Result<VerifiedDocument, Error> {
        check_size(input, DEFAULT_MAX_INPUT_BYTES)?;
        let der = input::decode(input)?;
        let outline = Outline::of(&der);
        if let Some(outline) = &outline {
            if let Some(known) = self.outlines.get(&outline.key, at) {
                let signed = SignedPart {
                    content: outline.content.to_vec(),
                    signature: outline.signature.to_vec(),
                    ..known.template.clone()
                };
                let signer = Arc::clone(&known.signer);
                return signature::verify(&signed, &signer.key, &signer.facts.subject)
                    .and_then(|()| self.check_claims(&signed, signer, nonce, at));
            }
        }
        let verified = match self.verify_known_signer(&der, nonce, at) {
            Some(result) => result,
            None => self.verify(&AttestedDocument::from_der(&der)?, nonce, at),
        }?;
        // Remember how documents of this outline parse (the one certificate's kind only).
        if let (Some(outline), Some(doc)) = (outline, KnownSignerDocument::read(&der)) {
            let template = SignedPart {
                content: Vec::new(),
                signature: Vec::new(),
                ..doc.signed
            };
            self.outlines.insert(
                outline.key,
                Arc::new(KnownOutline {
                    signer: Arc::clone(&verified.signer),
                    template,
                }),
            );
        }
        Ok(verified)
    }

    /// The verification of a document whose one certificate this verifier proved before (and
    /// whose chain is still valid at `at`), without decoding that certificate again; `None`
    /// for any other document, left to the full parse.
    fn verify_known_signer(
        &self,
        der: &[u8],
        nonce: NonceCheck<'_>,
        at: OffsetDateTime,
    ) -> Option<Result<VerifiedDocument, Error>> {
        let doc = KnownSignerDocument::read(der)?;
        let id = signer_id(doc.signed.signature_algorithm, doc.certificate, &[]);
        let known = self.cache.get(&id, at)?;
        // The full parse would refuse a SignerInfo that does not name this certificate.
        if !doc.sid().is_some_and(|sid| known.identity.is_named_by(sid)) {
            return None;
        }
        Some(
            signature::verify(&doc.signed, &known.key, &known.facts.subject)
                .and_then(|()| self.check_claims(&doc.signed, known, nonce, at)),
        )
    }

    /// The checks after the signer is proven: claims, nonce, time.
    fn check_claims(
        &self,
        signed: &SignedPart,
        signer: Arc<ProvenSigner>,
        nonce: NonceCheck<'_>,
        at: OffsetDateTime,
    ) -> Result<VerifiedDocument, Error> {
        let claims = Claims::parse(&signed.content)?;
        let nonce_checked = check_nonce(&claims, nonce)?;
        self.check_time(&claims, at)?;
        Ok(VerifiedDocument {
            nonce_checked,
            claims,
            signer,
        })
    }

    /// The signature checked with the signer's key, and the signer proven: from the cache
    /// when this signer was proven before with a chain valid at `at`, else from scratch.
    fn proven_signer(
        &self,
        doc: &AttestedDocument,
        at: OffsetDateTime,
    ) -> Result<Arc<ProvenSigner>, Error> {
        let id = signer_id(
            doc.signed.signature_algorithm,
            &doc.signer.der,
            &doc.other_certificates,
        );
        if let Some(known) = self.cache.get(&id, at) {
            signature::verify(&doc.signed, &known.key, &known.facts.subject)?;
            return Ok(known);
        }
        let key = SignerKey::new(doc)?;
        signature::verify(&doc.signed, &key, &doc.signer.subject())?;
        let cloud = self.cloud_of(doc)?;
        let remember = self.cache.capacity() > 0;
        let chain =
            self.trust
                .verify_chain(cloud, &doc.signer, &doc.other_certificates, at, remember)?;
        let proven = Arc::new(ProvenSigner {
            key,
            identity: doc.signer.identity(),
            cloud,
            facts: doc.signer.facts()?,
            chain: chain.subjects,
            valid_from: chain.valid_from,
            valid_until: chain.valid_until,
        });
        self.cache.insert(id, Arc::clone(&proven));
        Ok(proven)
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
        self.signer.cloud
    }

    /// Whether the nonce was checked (false only under [`NonceCheck::DangerousAnyNonce`]).
    pub fn nonce_checked(&self) -> bool {
        self.nonce_checked
    }

    /// The certificate that signed.
    pub fn signer(&self) -> &SignerFacts {
        &self.signer.facts
    }

    /// The chain's subjects, signer first, trust anchor last.
    pub fn chain(&self) -> &[String] {
        &self.signer.chain
    }
}

impl PartialEq for VerifiedDocument {
    fn eq(&self, other: &Self) -> bool {
        self.nonce_checked == other.nonce_checked
            && self.claims == other.claims
            && self.cloud() == other.cloud()
            && self.signer() == other.signer()
            && self.chain() == other.chain()
    }
}

impl Eq for VerifiedDocument {}

impl Serialize for VerifiedDocument {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("VerifiedDocument", 5)?;
        s.serialize_field("cloud", &self.cloud())?;
        s.serialize_field("nonceChecked", &self.nonce_checked)?;
        s.serialize_field("claims", &self.claims)?;
        s.serialize_field("signer", self.signer())?;
        s.serialize_field("chain", self.chain())?;
        s.end()
    }
}
