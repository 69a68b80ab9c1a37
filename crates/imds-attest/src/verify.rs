//! The verifier: every check, in order, from an [`AttestedDocument`] to a [`VerifiedDocument`].
//!
//! This module orchestrates; each check lives with its concept: the signature (`signature`),
//! the signer's profile and names (`signer`), its cloud (`cloud`), the chain (`trust`), the
//! claims (`claims`), the nonce and the time (`policy`), the claim rules (`rules`), and last the
//! redemption of the nonce or the document (`redeem`, through the caller's redeemer). What a verifier remembers between
//! documents is the warm path (`warm`), consulted here and nowhere in the cold modules.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use crate::aia::{self, IntermediateFetcher, IssuerRequest, MAX_FETCHES};
use crate::claims::Claims;
use crate::cloud::Cloud;
use crate::cms::{AttestedDocument, SignedPart};
use crate::error::{AiaFetchReason, Error, FetchedReason};
use crate::input;
use crate::policy::{NonceCheck, Policy};
use crate::signer_proof::ProvenSigner;
use crate::signature::{self, SignerKey};
use crate::signer::SignerFacts;
use crate::tlv::DEFAULT_MAX_INPUT_BYTES;
use crate::trust::chain::ChainProof;
use crate::trust::TrustStore;
use crate::warm::{Memory, Recall, DEFAULT_CACHE_CAPACITY};

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
    /// its AIA caIssuers URL), at most [`MAX_FETCHES`] times per verification. A fetched
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

impl Verifier {
    /// The chain of `doc`'s signer, completed with fetched intermediates when a fetcher is
    /// given and the chain lacks an issuer; the URLs of those used.
    fn prove_chain(
        &self,
        doc: &AttestedDocument,
        cloud: Cloud,
        at: OffsetDateTime,
    ) -> Result<(ChainProof, Vec<String>), Error> {
        let signer = &doc.signer;
        let mut outcome =
            self.memory
                .verify_chain(&self.trust, cloud, signer, &doc.other_certificates, at);
        let Some(Fetcher(fetcher)) = &self.fetcher else {
            return outcome.map(|proof| (proof, Vec::new()));
        };
        let mut carried = doc.other_certificates.clone();
        let mut fetched: Vec<(IssuerRequest, Vec<u8>)> = Vec::new();
        loop {
            let error = match outcome {
                Ok(proof) => {
                    for (request, der) in &fetched {
                        fetcher.accepted(request, der);
                    }
                    let urls = fetched.into_iter().map(|(r, _)| r.url).collect();
                    return Ok((proof, urls));
                }
                Err(error) => error,
            };
            let request = match &error {
                Error::UntrustedIssuer {
                    subject,
                    issuer,
                    self_signed: false,
                    ..
                } => aia::request_for(
                    subject,
                    issuer,
                    std::iter::once(signer.der.as_slice()).chain(carried.iter().map(Vec::as_slice)),
                ),
                _ => None,
            };
            let Some(request) = request else {
                return Err(refuse(fetcher.as_ref(), &fetched, error));
            };
            if fetched.len() >= MAX_FETCHES {
                let reason = AiaFetchReason::TooManyFetches { max: MAX_FETCHES };
                for (request, _) in &fetched {
                    fetcher.refused(request);
                }
                return Err(Error::IntermediateFetch {
                    url: request.url,
                    issuer: request.issuer,
                    reason,
                });
            }
            let answer = fetcher
                .fetch(&request)
                .map_err(|reason| Error::IntermediateFetch {
                    url: request.url.clone(),
                    issuer: request.issuer.clone(),
                    reason,
                })?;
            let der = aia::check_candidate(&request, &answer).map_err(|reason| {
                fetcher.refused(&request);
                Error::FetchedIntermediateRefused {
                    url: request.url.clone(),
                    issuer: request.issuer.clone(),
                    reason,
                }
            })?;
            carried.push(der.clone());
            fetched.push((request, der));
            outcome = self
                .memory
                .verify_chain(&self.trust, cloud, signer, &carried, at);
        }
    }
}

/// `error`, the chain check's verdict after `fetched` were added: theirs to answer for when
/// any was, and each reported refused to the fetcher; except that a chain failing only for the
/// verification time (expired, not yet valid) reports that, as it would with the same
/// intermediates pinned, and nothing is remembered as a failure (another time could use them).
fn refuse(
    fetcher: &dyn IntermediateFetcher,
    fetched: &[(IssuerRequest, Vec<u8>)],
    error: Error,
) -> Error {
    let timely = matches!(
        error,
        Error::CertificateExpired { .. } | Error::CertificateNotYetValid { .. }
    );
    if timely {
        return error;
    }
    for (request, _) in fetched {
        fetcher.refused(request);
    }
    match fetched.last() {
        Some((request, _)) => Error::FetchedIntermediateRefused {
            url: request.url.clone(),
            issuer: request.issuer.clone(),
            reason: FetchedReason::Chain {
                error: Box::new(error),
            },
        },
        None => error,
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

/// A document whose signature, chain, signer name, nonce, time and claim rules were all
/// checked (and, when asked, redeemed). Only [`Verifier::verify`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedDocument {
    nonce_checked: bool,
    claims: Claims,
    signer: Arc<ProvenSigner>,
    rule: Option<String>,
    redeemed: bool,
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

    /// The region label of the signer's name (`eastus` in `eastus.metadata.azure.com`), when
    /// the signer names one: the first DNS name one label below the cloud's domain.
    pub fn region(&self) -> Option<&str> {
        let domain = self.signer.cloud.domain();
        self.signer.facts.dns_names.iter().find_map(|name| {
            let split = name.len().checked_sub(domain.len() + 1)?;
            let (label, rest) = (name.get(..split)?, name.get(split..)?);
            let suffix = rest.strip_prefix('.')?;
            (suffix.eq_ignore_ascii_case(domain) && !label.is_empty() && !label.contains('.'))
                .then_some(label)
        })
    }

    /// Whether the nonce was the caller's own challenge: true under [`NonceCheck::Exact`] and
    /// [`NonceCheck::Redeem`], false under [`NonceCheck::DangerousAnyNonce`] and
    /// [`NonceCheck::SingleUse`].
    pub fn nonce_checked(&self) -> bool {
        self.nonce_checked
    }

    /// Whether a [`Redeemer`](crate::Redeemer) accepted the document: its nonce redeemed
    /// ([`NonceCheck::Redeem`]) or the document remembered ([`NonceCheck::SingleUse`]), so that
    /// a second use is refused.
    pub fn redeemed(&self) -> bool {
        self.redeemed
    }

    /// The name of the allow rule the document matched; `None` when the policy has no allow
    /// rules (or no rules).
    pub fn rule(&self) -> Option<&str> {
        self.rule.as_deref()
    }

    /// The certificate that signed.
    pub fn signer(&self) -> &SignerFacts {
        &self.signer.facts
    }

    /// The chain's subjects, signer first, trust anchor last.
    pub fn chain(&self) -> &[String] {
        &self.signer.chain
    }

    /// The instant the chain stops being valid: the earliest notAfter of its certificates.
    pub fn chain_valid_until(&self) -> OffsetDateTime {
        self.signer.valid_until
    }

    /// The URLs of the intermediates fetched to complete the chain (see
    /// [`Verifier::with_fetcher`]), child side first; empty when none was.
    pub fn fetched_intermediates(&self) -> &[String] {
        &self.signer.fetched
    }

    /// The JSON object every face reports for a verified document: the CLI's `--json` success
    /// object and the Python `VerifiedDocument.to_dict()`. It is this type's `Serialize` form
    /// with `redeemed` (beside `nonceChecked`) and `"verified": true` added. Fails only for a
    /// time RFC 3339 cannot write (a year outside 0 to 9999).
    ///
    /// ```
    /// use imds_attest::{NonceCheck, Policy, TrustStore, Verifier};
    /// use time::macros::datetime;
    ///
    /// let verifier = Verifier::new(TrustStore::builtin(), Policy::default());
    /// let bytes = std::fs::read("../../testdata/real/taskcluster_2025_rsatls07.json").unwrap();
    /// let at = datetime!(2025-11-19 12:53:30 UTC);
    /// let verified = verifier.verify_bytes(&bytes, NonceCheck::Exact("20251119-185330"), at)?;
    /// let json = verified.to_json().unwrap();
    /// assert_eq!(json["verified"], true);
    /// assert_eq!(json["claims"]["vmId"], "ddc87bd2-3ebb-43dc-92a9-90b104cd9527");
    /// # Ok::<(), imds_attest::Error>(())
    /// ```
    pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(SuccessJson(self))
    }

    /// [`to_json`](Self::to_json) written as compact JSON text, without building the value
    /// first (what a service answers with, several times faster). The same object: its keys
    /// come in this type's field order rather than sorted, which JSON does not distinguish.
    ///
    /// ```
    /// use imds_attest::{NonceCheck, Policy, TrustStore, Verifier};
    /// use time::macros::datetime;
    ///
    /// let verifier = Verifier::new(TrustStore::builtin(), Policy::default());
    /// let bytes = std::fs::read("../../testdata/real/taskcluster_2025_rsatls07.json").unwrap();
    /// let at = datetime!(2025-11-19 12:53:30 UTC);
    /// let verified = verifier.verify_bytes(&bytes, NonceCheck::Exact("20251119-185330"), at)?;
    /// let text = verified.to_json_string().unwrap();
    /// let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    /// assert_eq!(parsed, verified.to_json().unwrap());
    /// # Ok::<(), imds_attest::Error>(())
    /// ```
    pub fn to_json_string(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&SuccessJson(self))
    }

    /// This type's fields, as its `Serialize` form and the success object write them.
    fn serialize_fields<S: serde::ser::SerializeStruct>(&self, s: &mut S) -> Result<(), S::Error> {
        s.serialize_field("cloud", &self.cloud())?;
        s.serialize_field("region", &self.region())?;
        s.serialize_field("rule", &self.rule())?;
        s.serialize_field("nonceChecked", &self.nonce_checked)?;
        s.serialize_field("claims", &self.claims)?;
        s.serialize_field("signer", self.signer())?;
        s.serialize_field("chain", self.chain())?;
        if self.fetched_intermediates().is_empty() {
            s.skip_field("fetchedIntermediates")
        } else {
            s.serialize_field("fetchedIntermediates", self.fetched_intermediates())
        }
    }
}

/// The success object of [`VerifiedDocument::to_json`]: the document's fields, `redeemed` and
/// `"verified": true`.
struct SuccessJson<'a>(&'a VerifiedDocument);

impl Serialize for SuccessJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("VerifiedDocument", 10)?;
        self.0.serialize_fields(&mut s)?;
        s.serialize_field("redeemed", &self.0.redeemed)?;
        s.serialize_field("verified", &true)?;
        s.end()
    }
}

impl PartialEq for VerifiedDocument {
    fn eq(&self, other: &Self) -> bool {
        self.nonce_checked == other.nonce_checked
            && self.redeemed == other.redeemed
            && self.rule == other.rule
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
        let mut s = serializer.serialize_struct("VerifiedDocument", 8)?;
        self.serialize_fields(&mut s)?;
        s.end()
    }
}
