//! Single use: the hook through which a challenge store redeems nonces and remembers
//! documents. The core defines the contract and calls it last; it does no I/O itself.

use time::OffsetDateTime;

use crate::error::Error;

/// A challenge store that makes documents single-use: it redeems the nonces it issued
/// ([`NonceCheck::Redeem`](crate::NonceCheck::Redeem)) and remembers the documents it has seen
/// ([`NonceCheck::SingleUse`](crate::NonceCheck::SingleUse)).
///
/// The [`Verifier`](crate::Verifier) calls it as the last step, only after the signature, the
/// chain, the signer's names, the claims, the time and the claim rules have all passed, so that
/// a forged or malformed document never burns a challenge; the document is accepted only when
/// the call returns `Ok`.
///
/// The contract, for every implementation:
/// - **Atomic, exactly once.** Of any number of concurrent calls with the same nonce (or the
///   same content hash), across threads and processes sharing the store, exactly one succeeds;
///   a check followed by a separate write is not enough.
/// - **Fail closed.** When the store cannot answer (unreachable, timed out, corrupt), return
///   [`Error::StoreUnavailable`], never `Ok`.
/// - **Typed refusals.** [`Error::NonceUnknown`] for a nonce never issued or forgotten after
///   it expired, [`Error::NonceExpired`], [`Error::NonceAlreadyUsed`],
///   [`Error::DocumentAlreadyUsed`].
/// - **No clock of its own for the verdict.** `at` is the verification time the caller gave
///   the verifier; expiry is judged against it.
pub trait Redeemer: Send + Sync {
    /// Redeems `nonce`, a challenge this store issued: succeeds once, if it was issued and has
    /// not expired at `at`.
    fn redeem_nonce(&self, nonce: &str, at: OffsetDateTime) -> Result<(), Error>;

    /// Records the SHA-256 of a document's signed content until `until` (its expiresOn plus
    /// the policy's skew, after which the document is refused anyway): succeeds once per
    /// content while remembered.
    fn remember_document(
        &self,
        content_sha256: &[u8; 32],
        until: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<(), Error>;
}
