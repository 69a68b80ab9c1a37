//! A verified document: what the verifier checked, and the JSON every face reports for it.

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

#[cfg(doc)]
use super::Verifier;
use crate::claims::Claims;
use crate::cloud::Cloud;
#[cfg(doc)]
use crate::policy::NonceCheck;
use crate::signer::SignerFacts;
use crate::signer_proof::ProvenSigner;

/// A document whose signature, chain, signer name, nonce, time and claim rules were all
/// checked (and, when asked, redeemed). Only [`Verifier::verify`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedDocument {
    // Set by the verifier alone, so that only it makes one.
    pub(super) nonce_checked: bool,
    pub(super) claims: Claims,
    pub(super) signer: Arc<ProvenSigner>,
    pub(super) rule: Option<String>,
    pub(super) redeemed: bool,
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
        let cloud = self.signer.cloud;
        self.signer.facts.dns_names.iter().find_map(|name| {
            let label = cloud.labels_below_domain(name)?;
            (!label.is_empty() && !label.contains('.')).then_some(label)
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
