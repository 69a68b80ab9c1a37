//! The stores as the verifier's [`Redeemer`]: the last step of a verification, after every
//! other check passed. Each store answer maps to one verdict; a store failure is a rejection
//! (`store_unavailable`), never an acceptance.

use imds_attest::{Error, Redeemer};
use time::OffsetDateTime;

use crate::{Challenges, FirstUse, Redemption, Store, StoreError};

/// These challenges redeem the documents' nonces
/// ([`NonceCheck::Redeem`](imds_attest::NonceCheck::Redeem)) and remembers single-use
/// documents ([`NonceCheck::SingleUse`](imds_attest::NonceCheck::SingleUse)).
///
/// ```
/// use imds_attest::{NonceCheck, Policy, TrustStore, Verifier, ErrorKind};
/// use imds_attest_store::{open, Challenges};
/// use time::macros::datetime;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let challenges = Challenges::new(open("memory:")?);
/// let verifier = Verifier::new(TrustStore::builtin(), Policy::default());
/// let body = std::fs::read("../../testdata/real/taskcluster_2025_rsatls07.json")?;
/// let at = datetime!(2025-11-19 12:53:30 UTC);
/// // This genuine document carries a nonce of someone else's, not a challenge of ours:
/// // unknown here, without the store being asked.
/// let refused = verifier.verify_bytes(&body, NonceCheck::Redeem(&challenges), at);
/// assert_eq!(refused.map(|_| ()).unwrap_err().kind(), ErrorKind::NonceUnknown);
/// // Single use instead: accepted once, then refused.
/// assert!(verifier.verify_bytes(&body, NonceCheck::SingleUse(&challenges), at).is_ok());
/// let again = verifier.verify_bytes(&body, NonceCheck::SingleUse(&challenges), at);
/// assert_eq!(again.map(|_| ()).unwrap_err().kind(), ErrorKind::DocumentAlreadyUsed);
/// # Ok(()) }
/// ```
impl Redeemer for Challenges {
    fn redeem_nonce(&self, nonce: &str, at: OffsetDateTime) -> Result<(), Error> {
        let nonce_owned = || nonce.to_owned();
        match self
            .redeem(nonce, at)
            .map_err(|e| unavailable(self.store(), &e))?
        {
            Redemption::Redeemed => Ok(()),
            Redemption::Unknown => Err(Error::NonceUnknown {
                nonce: nonce_owned(),
            }),
            Redemption::Expired => Err(Error::NonceExpired {
                nonce: nonce_owned(),
            }),
            Redemption::AlreadyUsed => Err(Error::NonceAlreadyUsed {
                nonce: nonce_owned(),
            }),
        }
    }

    fn remember_document(
        &self,
        content_sha256: &[u8; 32],
        until: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<(), Error> {
        let store = self.store();
        match store
            .remember(content_sha256, until, at)
            .map_err(|e| unavailable(store, &e))?
        {
            FirstUse::First => Ok(()),
            FirstUse::AlreadyUsed => Err(Error::document_already_used(content_sha256)),
        }
    }
}

/// The verifier's rejection for a store that could not answer: which store, and why.
fn unavailable(store: &dyn Store, error: &StoreError) -> Error {
    Error::StoreUnavailable {
        store: store.describe(),
        message: error.to_string(),
    }
}
