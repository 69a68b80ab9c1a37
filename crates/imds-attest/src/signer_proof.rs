//! The proof about a signer: what the cold path proved (its key, cloud, facts and chain) and
//! the span of time in which that proof holds, which the warm path remembers.

use time::OffsetDateTime;

use crate::cloud::Cloud;
use crate::signature::SignerKey;
use crate::signer::{SignerFacts, SignerIdentity};

/// Everything a verification proved about one signer.
#[derive(Debug)]
pub(crate) struct ProvenSigner {
    pub(crate) key: SignerKey,
    /// What a SignerInfo may name the certificate by.
    pub(crate) identity: SignerIdentity,
    pub(crate) cloud: Cloud,
    pub(crate) facts: SignerFacts,
    /// The chain's subjects, signer first, trust anchor last.
    pub(crate) chain: Vec<String>,
    /// The URLs of the intermediates fetched to complete the chain, child side first.
    pub(crate) fetched: Vec<String>,
    /// The instants at which the proof holds: from `valid_from` (included) to `valid_until`
    /// (excluded), as OpenSSL counts them: a certificate is valid at its notBefore and expired
    /// at its notAfter.
    pub(crate) valid_from: OffsetDateTime,
    pub(crate) valid_until: OffsetDateTime,
}

impl ProvenSigner {
    /// Whether the proof holds at `at`.
    pub(crate) fn valid_at(&self, at: OffsetDateTime) -> bool {
        self.valid_from <= at && at < self.valid_until
    }
}
