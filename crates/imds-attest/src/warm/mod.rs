//! The warm path: what a [`Verifier`](crate::Verifier) remembers so that the next document
//! costs about one signature check, kept apart from the cold path (input, CMS, signature,
//! signer, cloud, chain, claims, policy), which imports nothing from here.
//!
//! **The invariant: a warm answer equals the cold one, error for error.** For every input,
//! verification time and nonce, a verifier that remembers gives exactly the result a verifier
//! that remembers nothing gives (`Verifier::with_cache_capacity(.., 0)`). Each shortcut keeps it
//! because it skips only work whose outcome it already knows, and only while that outcome
//! cannot have changed:
//!
//! - [`signers`], the signer cache: a signer proven before (its key, cloud, facts and chain) is
//!   keyed by the SHA-256 of its certificate, the other certificates the document carries and
//!   the signature algorithm, so it applies only to documents whose signer would be checked
//!   exactly the same way; it lives in one verifier, whose trust store and policy never change;
//!   and it is used only inside the window in which every certificate of the chain keeps the
//!   validity it had. The document's own signature, claims, nonce and time are always checked.
//! - [`outline`]: a document whose bytes outside the content and the signature values hash to
//!   those of a document fully parsed and verified before is byte for byte the same SignedData
//!   but for those two primitive OCTET STRING values, which no DER rule looks into: it parses
//!   the same, so the parse is skipped; the signature over the new content is checked.
//! - [`known`], the known-signer reader: a document whose one certificate is byte for byte a
//!   proven signer's is read without decoding that certificate again, through the same checks
//!   of everything else as the full parse.
//! - [`issuers`], the proven-issuer memory: a new signer from an issuing CA whose chain OpenSSL
//!   built and verified is checked with one signature verification instead of a chain build,
//!   only where OpenSSL's verdict could not differ (that module says when).
//!
//! Anything a shortcut does not recognise, and every failure, goes to the cold path, which gives
//! the verdict and the error. `tests/cache_equivalence.rs` runs every accept and reject case
//! both ways, and the `verify` fuzz target compares a warm verifier with a cold one on every
//! input.

mod issuers;
mod known;
mod outline;
mod signers;

use std::sync::Arc;

use time::OffsetDateTime;

use crate::cloud::Cloud;
use crate::cms::{AttestedDocument, SignedPart};
use crate::error::Error;
use crate::signature;
use crate::signer::SignerCertificate;
use crate::signer_proof::ProvenSigner;
use crate::trust::chain::{self, ChainProof};
use crate::trust::TrustStore;
use issuers::ProvenIssuers;
use known::KnownSignerDocument;
use outline::Outline;
use signers::{signer_id, KnownOutline, SignerCache};

pub use signers::DEFAULT_CACHE_CAPACITY;

/// Everything a verifier remembers.
#[derive(Debug)]
pub(crate) struct Memory {
    signers: SignerCache,
    /// Outlines of documents verified through `verify_bytes`, with what they parse to.
    outlines: SignerCache<KnownOutline>,
    issuers: ProvenIssuers,
    remember: bool,
}

/// What the warm path made of a document's DER.
pub(crate) enum Recall {
    /// Its outline is known: the signed part, its signature checked with the proven signer's
    /// key (or the signature's error).
    Outline(Result<(SignedPart, Arc<ProvenSigner>), Error>),
    /// Its one certificate is a proven signer's: the same, read without decoding it. The
    /// outline is worth remembering once the document verifies.
    KnownSigner(Result<(SignedPart, Arc<ProvenSigner>), Error>),
    /// Nothing known: the cold path decides.
    Unknown,
}

impl Memory {
    /// A memory of about `capacity` signers and as many outlines; 0 remembers nothing and
    /// uses nothing remembered (the proven-issuer memory included).
    pub(crate) fn new(capacity: usize) -> Memory {
        Memory {
            signers: SignerCache::new(capacity),
            outlines: SignerCache::new(capacity),
            issuers: ProvenIssuers::default(),
            remember: capacity > 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.signers.capacity()
    }

    pub(crate) fn proven_issuers(&self) -> usize {
        self.issuers.len()
    }

    /// The fast paths of `verify_bytes`, by outline, then by known signer.
    pub(crate) fn recall(&self, der: &[u8], at: OffsetDateTime) -> Recall {
        if !self.remember {
            return Recall::Unknown;
        }
        if let Some(outline) = Outline::of(der) {
            if let Some(known) = self.outlines.get(&outline.key, at) {
                let signed = SignedPart {
                    content: outline.content.to_vec(),
                    signature: outline.signature.to_vec(),
                    ..known.template.clone()
                };
                let signer = Arc::clone(&known.signer);
                return Recall::Outline(
                    signature::verify(&signed, &signer.key, &signer.facts.subject)
                        .map(|()| (signed, signer)),
                );
            }
        }
        let Some(doc) = KnownSignerDocument::read(der) else {
            return Recall::Unknown;
        };
        let id = signer_id(doc.signed.signature_algorithm, doc.certificate, &[]);
        let Some(known) = self.signers.get(&id, at) else {
            return Recall::Unknown;
        };
        // The full parse would refuse a SignerInfo that does not name this certificate.
        if !doc.sid().is_some_and(|sid| known.identity.is_named_by(sid)) {
            return Recall::Unknown;
        }
        Recall::KnownSigner(
            signature::verify(&doc.signed, &known.key, &known.facts.subject)
                .map(|()| (doc.signed, known)),
        )
    }

    /// Remembers how documents of this outline parse, once one verified: the one
    /// certificate's kind only.
    pub(crate) fn remember_outline(&self, der: &[u8], signer: &Arc<ProvenSigner>) {
        if !self.remember {
            return;
        }
        if let (Some(outline), Some(doc)) = (Outline::of(der), KnownSignerDocument::read(der)) {
            let template = SignedPart {
                content: Vec::new(),
                signature: Vec::new(),
                ..doc.signed
            };
            self.outlines.insert(
                outline.key,
                Arc::new(KnownOutline {
                    signer: Arc::clone(signer),
                    template,
                }),
            );
        }
    }

    /// The proven signer of `doc`, if this memory holds one valid at `at`.
    pub(crate) fn signer(
        &self,
        doc: &AttestedDocument,
        at: OffsetDateTime,
    ) -> Option<Arc<ProvenSigner>> {
        if !self.remember {
            return None;
        }
        let id = signer_id(
            doc.signed.signature_algorithm,
            &doc.signer.der,
            &doc.other_certificates,
        );
        self.signers.get(&id, at)
    }

    /// Remembers what the cold path proved about `doc`'s signer.
    pub(crate) fn remember_signer(&self, doc: &AttestedDocument, proven: Arc<ProvenSigner>) {
        if !self.remember {
            return;
        }
        let id = signer_id(
            doc.signed.signature_algorithm,
            &doc.signer.der,
            &doc.other_certificates,
        );
        self.signers.insert(id, proven);
    }

    /// The chain check: through the proven-issuer memory when it applies, else the cold
    /// path's [`chain::verify`] alone when this memory remembers nothing.
    pub(crate) fn verify_chain(
        &self,
        trust: &TrustStore,
        cloud: Cloud,
        signer: &SignerCertificate,
        carried: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> Result<ChainProof, Error> {
        if self.remember {
            self.issuers.verify_chain(trust, cloud, signer, carried, at)
        } else {
            chain::verify(trust, cloud, &signer.der, carried, at)
        }
    }
}
