//! The stable kind names of [`Error`], generated from one table.

#[cfg(doc)]
use super::Error;

crate::error_kinds! {
    /// The stable, machine-readable name of a failure: the same snake_case names in the CLI's
    /// `--json` output (`"kind"`), the HTTP service and the Python exceptions. A name is never
    /// reused for another meaning; new kinds may be added.
    ///
    /// | kind | meaning |
    /// |---|---|
    #[doc = include_str!("kinds.md")]
    ///
    /// ```
    /// use imds_attest::ErrorKind;
    /// assert_eq!(ErrorKind::NonceMismatch.as_str(), "nonce_mismatch");
    /// assert_eq!("bad_signature".parse::<ErrorKind>(), Ok(ErrorKind::BadSignature));
    /// ```
    pub enum ErrorKind {
        /// [`Error::InputTooLarge`].
        InputTooLarge = "input_too_large",
        /// [`Error::UnrecognisedInput`].
        UnrecognisedInput = "unrecognised_input",
        /// [`Error::Envelope`].
        Envelope = "envelope",
        /// [`Error::UnsupportedEncoding`].
        UnsupportedEncoding = "unsupported_encoding",
        /// [`Error::Base64`].
        Base64 = "base64",
        /// [`Error::Der`].
        Der = "der",
        /// [`Error::NotSignedData`].
        NotSignedData = "not_signed_data",
        /// [`Error::Structure`].
        Structure = "structure",
        /// [`Error::DetachedContent`].
        DetachedContent = "detached_content",
        /// [`Error::SignerCount`].
        SignerCount = "signer_count",
        /// [`Error::SignerCertificateNotFound`].
        SignerCertificateNotFound = "signer_certificate_not_found",
        /// [`Error::UnsupportedDigestAlgorithm`].
        UnsupportedDigestAlgorithm = "unsupported_digest_algorithm",
        /// [`Error::UnsupportedSignatureAlgorithm`].
        UnsupportedSignatureAlgorithm = "unsupported_signature_algorithm",
        /// [`Error::WeakKey`].
        WeakKey = "weak_key",
        /// [`Error::SignedAttributes`].
        SignedAttributes = "signed_attributes",
        /// [`Error::BadSignature`].
        BadSignature = "bad_signature",
        /// [`Error::SignerName`].
        SignerName = "signer_name",
        /// [`Error::InvalidSignerName`].
        InvalidSignerName = "invalid_signer_name",
        /// [`Error::SignerProfile`].
        SignerProfile = "signer_profile",
        /// [`Error::NoTrustAnchors`].
        NoTrustAnchors = "no_trust_anchors",
        /// [`Error::UntrustedIssuer`].
        UntrustedIssuer = "untrusted_issuer",
        /// [`Error::CertificateExpired`].
        CertificateExpired = "certificate_expired",
        /// [`Error::CertificateNotYetValid`].
        CertificateNotYetValid = "certificate_not_yet_valid",
        /// [`Error::Chain`].
        Chain = "chain",
        /// [`Error::Claims`].
        Claims = "claims",
        /// [`Error::DuplicateKey`].
        DuplicateKey = "duplicate_key",
        /// [`Error::Timestamp`].
        Timestamp = "timestamp",
        /// [`Error::NonceMismatch`].
        NonceMismatch = "nonce_mismatch",
        /// [`Error::DocumentExpired`].
        DocumentExpired = "document_expired",
        /// [`Error::DocumentNotYetValid`].
        DocumentNotYetValid = "document_not_yet_valid",
        /// [`Error::DocumentTooOld`].
        DocumentTooOld = "document_too_old",
        /// [`Error::DeniedByRule`].
        DeniedByRule = "denied_by_rule",
        /// [`Error::NoRuleMatched`].
        NoRuleMatched = "no_rule_matched",
        /// [`Error::NonceUnknown`].
        NonceUnknown = "nonce_unknown",
        /// [`Error::NonceExpired`].
        NonceExpired = "nonce_expired",
        /// [`Error::NonceAlreadyUsed`].
        NonceAlreadyUsed = "nonce_already_used",
        /// [`Error::DocumentAlreadyUsed`].
        DocumentAlreadyUsed = "document_already_used",
        /// [`Error::StoreUnavailable`].
        StoreUnavailable = "store_unavailable",
        /// [`Error::TrustFile`].
        TrustFile = "trust_file",
        /// [`Error::RulesFile`].
        RulesFile = "rules_file",
        /// [`Error::Crypto`].
        Crypto = "crypto",
        /// [`Error::IntermediateFetch`].
        IntermediateFetch = "intermediate_fetch",
        /// [`Error::FetchedIntermediateRefused`].
        FetchedIntermediateRefused = "fetched_intermediate_refused",
    }
}
