//! The verifier: every check, in order, from an [`AttestedDocument`] to a [`VerifiedDocument`].
//!
//! This module orchestrates; each check lives with its concept: the signature (`signature`),
//! the signer's profile and names (`signer`), its cloud (`cloud`), the chain (`trust`), the
//! claims (`claims`), the nonce and the time (`policy`), the claim rules (`rules`), and last the
//! redemption of the nonce or the document (`redeem`, through the caller's redeemer). What a
//! verifier remembers between documents is the warm path (`warm`), consulted here and nowhere
//! in the cold modules. Beside the [`Verifier`]: [`VerifiedDocument`] and its JSON
//! (`verified.rs`), and the completion of a chain with fetched intermediates (`completion.rs`).

mod completion;
mod verified;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::aia::IntermediateFetcher;
use crate::claims::Claims;
use crate::cloud::Cloud;
use crate::cms::{AttestedDocument, SignedPart};
use crate::error::Error;
use crate::input;
use crate::policy::{NonceCheck, Policy};
use crate::signature::{self, SignerKey};
use crate::signer_proof::ProvenSigner;
use crate::tlv::DEFAULT_MAX_INPUT_BYTES;
use crate::trust::TrustStore;
use crate::warm::{Memory, Recall, DEFAULT_CACHE_CAPACITY};

pub use verified::VerifiedDocument;

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
/// // The same document a year later: the document has expired (and its signer certificate).
/// let late = verifier.verify(&doc, NonceCheck::Exact("20251119-185330"), datetime!(2026-11-21 0:00 UTC));
/// assert_eq!(late.unwrap_err().kind(), imds_attest::ErrorKind::DocumentExpired);
/// # Ok(()) }
/// ```
///
/// A verifier remembers what it proved about each signer (its key, cloud and chain, within the
/// chain's validity window) and which issuing CAs it has proven up to a root, so a licence
/// server that keeps one verifier pays one signature check per document from a signer it has
/// seen, and one more for a new signer of a known CA. It is `Send + Sync`: share it across
/// threads.
#[derive(Debug)]
pub struct Verifier {
    trust: TrustStore,
    policy: Policy,
    memory: Memory,
    fetcher: Option<Fetcher>,
    /// Signers found in memory, and signers proven from scratch (see [`SignerCacheStats`]).
    signer_hits: AtomicU64,
    signer_misses: AtomicU64,
}

/// How often a [`Verifier`] found a document's signer in memory (one signature check) and how
/// often it proved one from scratch (a chain build), since it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SignerCacheStats {
    /// Verifications whose signer was remembered, valid at the verification time.
    pub hits: u64,
    /// Verifications that had to prove their signer (none remembered, or its proof not valid
    /// at the verification time, or a verifier that remembers nothing).
    pub misses: u64,
}

/// The fetcher of missing intermediates, shown by presence only.
struct Fetcher(Arc<dyn IntermediateFetcher>);

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntermediateFetcher")
    }
}

impl Verifier {
    /// A verifier that trusts `trust` and applies `policy`, remembering up to
    /// [`DEFAULT_CACHE_CAPACITY`] signers.
    pub fn new(trust: TrustStore, policy: Policy) -> Verifier {
        Verifier::with_cache_capacity(trust, policy, DEFAULT_CACHE_CAPACITY)
    }

    /// A verifier remembering up to about `signers` signers. With 0 it remembers nothing and
    /// uses nothing remembered: every document's chain is built by OpenSSL from scratch.
    pub fn with_cache_capacity(trust: TrustStore, policy: Policy, signers: usize) -> Verifier {
        Verifier {
            trust,
            policy,
            memory: Memory::new(signers),
            fetcher: None,
            signer_hits: AtomicU64::new(0),
            signer_misses: AtomicU64::new(0),
        }
    }

    /// This verifier, asking `fetcher` for an intermediate that neither the trust store nor
    /// the document holds: only then, only for the issuer the certificate lacking it names (at
    /// its AIA caIssuers URL), at most [`MAX_FETCHES`](crate::aia::MAX_FETCHES) times per verification. A fetched
    /// certificate is used only if it is a CA, its subject is the issuer asked for, its
    /// subjectKeyIdentifier is the child's authorityKeyIdentifier, and the chain check (every
    /// rule, a root of the signer's cloud, at the verification time) passes with it added as
    /// one more untrusted intermediate. [`VerifiedDocument::fetched_intermediates`] says
    /// which URLs were used.
    pub fn with_fetcher(mut self, fetcher: Arc<dyn IntermediateFetcher>) -> Verifier {
        self.fetcher = Some(Fetcher(fetcher));
        self
    }

    /// Whether this verifier was given an [`IntermediateFetcher`] ([`Verifier::with_fetcher`]),
    /// so that a verification may wait on the fetcher (the network, for the HTTP one).
    pub fn fetches_intermediates(&self) -> bool {
        self.fetcher.is_some()
    }

    /// How many signers this verifier can remember.
    pub fn cache_capacity(&self) -> usize {
        self.memory.capacity()
    }

    /// How many issuing CAs this verifier has proven up to a root and remembers: a new signer
    /// certificate from one of them is then checked with one signature verification instead
    /// of a chain build.
    pub fn proven_issuers(&self) -> usize {
        self.memory.proven_issuers()
    }

    /// How often this verifier found the signer in memory, and how often it proved one.
    ///
    /// ```
    /// use imds_attest::{NonceCheck, Policy, SignerCacheStats, TrustStore, Verifier};
    /// use time::macros::datetime;
    ///
    /// let verifier = Verifier::new(TrustStore::builtin(), Policy::default());
    /// let bytes = std::fs::read("../../testdata/real/taskcluster_2025_rsatls07.json").unwrap();
    /// let at = datetime!(2025-11-19 12:53:30 UTC);
    /// for _ in 0..2 {
    ///     verifier.verify_bytes(&bytes, NonceCheck::Exact("20251119-185330"), at)?;
    /// }
    /// let stats = verifier.signer_cache_stats();
    /// assert_eq!((stats.hits, stats.misses), (1, 1));
    /// # Ok::<(), imds_attest::Error>(())
    /// ```
    pub fn signer_cache_stats(&self) -> SignerCacheStats {
        SignerCacheStats {
            hits: self.signer_hits.load(Ordering::Relaxed),
            misses: self.signer_misses.load(Ordering::Relaxed),
        }
    }

    fn count(counter: &AtomicU64) {
        // Wrapping: a counter of 2^64 verifications never wraps in practice, and never panics.
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The policy applied.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Checks, in order: the CMS signature over the content with the signer certificate's key
    /// (after the key's strength); the signer certificate's profile and DNS names; the cloud
    /// those names belong to, among the allowed ones; the chain to a root of that cloud at
    /// `at`; the claims; the nonce; createdOn and expiresOn against `at` with the policy's skew
    /// and maximum age; the policy's claim rules; and last, for [`NonceCheck::Redeem`] and
    /// [`NonceCheck::SingleUse`], the redemption, so that only a document that passed
    /// everything else can burn a challenge. The first failure is returned, except that a
    /// document whose chain has expired (or is not yet valid) and whose own time is out too
    /// reports its own time: that is what to fix first.
    pub fn verify(
        &self,
        doc: &AttestedDocument,
        nonce: NonceCheck<'_>,
        at: OffsetDateTime,
    ) -> Result<VerifiedDocument, Error> {
        let signer = match self.proven_signer(doc, at) {
            Err(e @ (Error::CertificateExpired { .. } | Error::CertificateNotYetValid { .. })) => {
                // The signature held, so the content is the signer's: its own time decides.
                if let Ok(claims) = Claims::parse(&doc.signed.content) {
                    self.policy.check_time(&claims, at)?;
                }
                return Err(e);
            }
            other => other?,
        };
        self.finish(&doc.signed, signer, nonce, at)
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
        let der = input::to_der(input, DEFAULT_MAX_INPUT_BYTES)?;
        let verified = match self.memory.recall(&der, at) {
            Recall::Outline(signed) => {
                Verifier::count(&self.signer_hits);
                let (signed, signer) = signed?;
                return self.finish(&signed, signer, nonce, at);
            }
            Recall::KnownSigner(signed) => {
                Verifier::count(&self.signer_hits);
                let (signed, signer) = signed?;
                self.finish(&signed, signer, nonce, at)?
            }
            Recall::Unknown => self.verify(&AttestedDocument::from_der(&der)?, nonce, at)?,
        };
        self.memory.remember_outline(&der, &verified.signer);
        Ok(verified)
    }

    /// The checks after the signer is proven, for the warm and the cold path alike: claims,
    /// nonce, time, claim rules, then the redemption, last.
    fn finish(
        &self,
        signed: &SignedPart,
        signer: Arc<ProvenSigner>,
        nonce: NonceCheck<'_>,
        at: OffsetDateTime,
    ) -> Result<VerifiedDocument, Error> {
        let claims = Claims::parse(&signed.content)?;
        let nonce_checked = nonce.check(&claims)?;
        self.policy.check_time(&claims, at)?;
        let mut verified = VerifiedDocument {
            nonce_checked,
            claims,
            signer,
            rule: None,
            redeemed: false,
        };
        if let Some(rules) = self.policy.rules() {
            let rule = rules.check(&verified.claims, verified.region(), verified.cloud())?;
            verified.rule = rule.map(str::to_owned);
        }
        verified.redeemed =
            nonce.redeem(&verified.claims, &signed.content, self.policy.skew(), at)?;
        Ok(verified)
    }

    /// The signature checked with the signer's key, and the signer proven: remembered when
    /// this signer was proven before with a chain valid at `at`, else from scratch.
    fn proven_signer(
        &self,
        doc: &AttestedDocument,
        at: OffsetDateTime,
    ) -> Result<Arc<ProvenSigner>, Error> {
        if let Some(known) = self.memory.signer(doc, at) {
            Verifier::count(&self.signer_hits);
            signature::verify(&doc.signed, &known.key, &known.facts.subject)?;
            return Ok(known);
        }
        Verifier::count(&self.signer_misses);
        let signer = &doc.signer;
        let (key, cloud) = check_signer(doc, self.policy.clouds())?;
        let (chain, fetched) = self.prove_chain(doc, cloud, at)?;
        let proven = Arc::new(ProvenSigner {
            key,
            identity: signer.identity(),
            cloud,
            facts: signer.facts()?,
            chain: chain.subjects,
            fetched,
            valid_from: chain.valid_from,
            valid_until: chain.valid_until,
        });
        self.memory.remember_signer(doc, Arc::clone(&proven));
        Ok(proven)
    }
}

/// The cold checks of a signer before its chain, in order: its key's strength, the CMS
/// signature with that key, the certificate's profile and names, and the one cloud they belong
/// to among `allowed`. The fuzz targets' entry points use this too, so they check what
/// production checks.
pub(crate) fn check_signer(
    doc: &AttestedDocument,
    allowed: &[Cloud],
) -> Result<(SignerKey, Cloud), Error> {
    let signer = &doc.signer;
    let key = SignerKey::for_signer(doc.signed.signature_algorithm, &signer.spki_der, || {
        signer.subject()
    })?;
    signature::verify(&doc.signed, &key, &signer.subject())?;
    signer.check_profile()?;
    let cloud = signer.cloud(allowed)?;
    Ok((key, cloud))
}
