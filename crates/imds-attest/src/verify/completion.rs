//! Completing a signer's chain with intermediates fetched at the AIA caIssuers URLs their
//! children name, when the verifier was given an
//! [`IntermediateFetcher`](crate::aia::IntermediateFetcher) and the trust store and the
//! document lack an issuer.

use time::OffsetDateTime;

use super::{Fetcher, Verifier};
use crate::aia::{self, IssuerRequest, MAX_FETCHES};
use crate::cloud::Cloud;
use crate::cms::AttestedDocument;
use crate::error::{AiaFetchReason, Error, FetchedReason};
use crate::trust::chain::ChainProof;

impl Verifier {
    /// The chain of `doc`'s signer, completed with fetched intermediates when a fetcher is
    /// given and the chain lacks an issuer; the URLs of those used.
    pub(super) fn prove_chain(
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
                return Err(refuse(&fetched, error));
            };
            if fetched.len() >= MAX_FETCHES {
                let reason = AiaFetchReason::TooManyFetches { max: MAX_FETCHES };
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
/// any was; except that a chain failing only for the verification time (expired, not yet
/// valid) reports that, as it would with the same intermediates pinned. The fetcher is not
/// told: a chain that does not verify may be a forged document's, naming a genuine issuer,
/// and must not cost genuine documents that certificate.
fn refuse(fetched: &[(IssuerRequest, Vec<u8>)], error: Error) -> Error {
    let timely = matches!(
        error,
        Error::CertificateExpired { .. } | Error::CertificateNotYetValid { .. }
    );
    if timely {
        return error;
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
