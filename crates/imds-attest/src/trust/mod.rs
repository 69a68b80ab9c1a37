//! The trust store: pinned roots and intermediates per cloud, and what callers add.

mod builtin;
mod cert;
pub(crate) mod chain;
mod issuers;

use std::sync::Arc;

use openssl::x509::X509;
use time::OffsetDateTime;
use x509_cert::der::Decode;

use crate::cloud::Cloud;
use crate::error::Error;
use crate::signature::SignerKey;
use crate::signer::{instant, SignerCertificate};
use cert::TrustCert;
use chain::{ChainProof, MAX_INTERMEDIATES};
use issuers::{IssuerProof, ProvenIssuers, SignerProfile};

/// Roots (trust anchors) and intermediates (chain-building help, never trusted by themselves),
/// each serving some clouds.
///
/// ```
/// use imds_attest::{Cloud, TrustStore};
/// let trust = TrustStore::builtin();
/// assert!(trust.roots_for(Cloud::Public).count() >= 5);
/// // Replacing the roots: keep the pinned intermediates, trust only your own anchor.
/// let mut mine = TrustStore::builtin().without_roots();
/// assert_eq!(mine.roots_for(Cloud::Public).count(), 0);
/// ```
///
/// A store remembers which of its issuing CAs it has proven up to a root (see
/// [`proven_issuers`](Self::proven_issuers)); clones share that memory, and changing the
/// store's certificates clears it.
#[derive(Clone)]
pub struct TrustStore {
    /// Shared by clones, with the decodings OpenSSL made of them.
    certs: Arc<Vec<TrustCert>>,
    proven: Arc<ProvenIssuers>,
}

/// One pinned certificate, as the generated table lists it.
pub(crate) struct BuiltinCert {
    pub(crate) file: &'static str,
    pub(crate) pem: &'static [u8],
    pub(crate) anchor: bool,
    pub(crate) clouds: &'static [Cloud],
    #[allow(dead_code)] // read by the test that checks the table against the files
    pub(crate) sha256: &'static str,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let roots = self.certs.iter().filter(|c| c.anchor).count();
        f.debug_struct("TrustStore")
            .field("roots", &roots)
            .field("intermediates", &(self.certs.len() - roots))
            .finish()
    }
}

impl TrustStore {
    /// The pinned certificates of `certs/`, embedded at compile time.
    pub fn builtin() -> TrustStore {
        // The table is generated from files checked by a test; a file that could not be read
        // would fail that test, so skipping it here cannot go unnoticed. OpenSSL decodes each
        // only when a chain may use it.
        let certs = builtin::BUILTIN
            .iter()
            .filter_map(|b| {
                let (label, der) = der::pem::decode_vec(b.pem).ok()?;
                if label != "CERTIFICATE" {
                    return None;
                }
                TrustCert::new(der, format!("certs/{}", b.file), b.anchor, b.clouds).ok()
            })
            .collect();
        TrustStore {
            certs: Arc::new(certs),
            proven: Arc::default(),
        }
    }

    /// A store with nothing in it. Verifying against it always fails with
    /// [`Error::NoTrustAnchors`]: an empty store never means "skip the chain check".
    pub fn empty() -> TrustStore {
        TrustStore {
            certs: Arc::default(),
            proven: Arc::default(),
        }
    }

    /// A store of exactly these roots and intermediates (PEM bundles), serving every cloud;
    /// `intermediates` may be empty.
    ///
    /// ```
    /// # let root_pem = std::fs::read("../../certs/public/roots/digicert_global_root_g2.pem").unwrap();
    /// let trust = imds_attest::TrustStore::from_pem(&root_pem, b"")?;
    /// assert_eq!(trust.roots_for(imds_attest::Cloud::China).count(), 1);
    /// # Ok::<(), imds_attest::Error>(())
    /// ```
    pub fn from_pem(roots: &[u8], intermediates: &[u8]) -> Result<TrustStore, Error> {
        let mut trust = TrustStore::empty();
        trust.add_roots_pem(roots, "roots")?;
        if !intermediates.is_empty() {
            trust.add_intermediates_pem(intermediates, "intermediates")?;
        }
        Ok(trust)
    }

    /// This store without its roots (keeping its intermediates), to be given other roots.
    pub fn without_roots(mut self) -> TrustStore {
        Arc::make_mut(&mut self.certs).retain(|c| !c.anchor);
        self.proven = Arc::default();
        self
    }

    /// Adds every certificate in `pem` as a trust anchor serving every cloud. `source` names
    /// the file in errors. Returns how many were added; a PEM with none is an error.
    pub fn add_roots_pem(&mut self, pem: &[u8], source: &str) -> Result<usize, Error> {
        self.add_pem(pem, source, true)
    }

    /// Adds every certificate in `pem` as an intermediate serving every cloud (untrusted: it
    /// only helps build a chain). Returns how many were added; a PEM with none is an error.
    pub fn add_intermediates_pem(&mut self, pem: &[u8], source: &str) -> Result<usize, Error> {
        self.add_pem(pem, source, false)
    }

    fn add_pem(&mut self, pem: &[u8], source: &str, anchor: bool) -> Result<usize, Error> {
        let fail = |detail: String| Error::TrustFile {
            source: source.to_owned(),
            detail,
        };
        let certs = X509::stack_from_pem(pem).map_err(|e| fail(e.to_string()))?;
        if certs.is_empty() {
            return Err(fail("it holds no PEM certificate".into()));
        }
        let mut read = Vec::with_capacity(certs.len());
        for x509 in certs {
            let der = x509.to_der().map_err(|e| fail(e.to_string()))?;
            read.push(TrustCert::decoded(x509, der, source.to_owned(), anchor).map_err(fail)?);
        }
        let added = read.len();
        self.proven = Arc::default();
        Arc::make_mut(&mut self.certs).extend(read);
        Ok(added)
    }

    /// The roots that anchor chains for `cloud`.
    pub fn roots_for(&self, cloud: Cloud) -> impl Iterator<Item = &X509> + '_ {
        self.serving(cloud, true)
    }

    /// The intermediates offered for chains of `cloud`.
    pub fn intermediates_for(&self, cloud: Cloud) -> impl Iterator<Item = &X509> + '_ {
        self.serving(cloud, false)
    }

    /// How many issuing CAs this store has proven up to one of its roots and remembers: a new
    /// signer certificate from one of them is then checked with one signature verification
    /// instead of a chain build. Clones of the store share what it remembers.
    pub fn proven_issuers(&self) -> usize {
        self.proven.len()
    }

    /// Verifies that `signer` chains to a root serving `cloud` at `at`: through an issuer
    /// proven before when the signer allows it (see `issuers.rs`), else with OpenSSL,
    /// remembering the issuer when that is sound. With `remember` false, always with OpenSSL
    /// and nothing remembered.
    pub(crate) fn verify_chain(
        &self,
        cloud: Cloud,
        signer: &SignerCertificate,
        carried: &[Vec<u8>],
        at: OffsetDateTime,
        remember: bool,
    ) -> Result<ChainProof, Error> {
        let profile = if remember && carried.is_empty() {
            SignerProfile::of(cloud, signer)
        } else {
            None
        };
        if let Some(profile) = &profile {
            if let Some(proof) = self.proven.get(&profile.key, at) {
                if profile.issued_by(&proof, at) {
                    let (valid_from, valid_until) = profile.window(&proof);
                    return Ok(ChainProof {
                        subjects: std::iter::once(signer.subject())
                            .chain(proof.subjects.iter().cloned())
                            .collect(),
                        valid_from,
                        valid_until,
                        issuer: None,
                    });
                }
            }
        }
        let mut chain = chain::verify(self, cloud, &signer.der, carried, at)?;
        // The verdict holds only while every certificate OpenSSL could choose keeps the
        // validity it has at `at`.
        let carried_validity: Vec<_> = carried
            .iter()
            .map(|der| {
                x509_cert::Certificate::from_der(der).ok().and_then(|c| {
                    let v = c.tbs_certificate.validity;
                    instant(v.not_before).zip(instant(v.not_after))
                })
            })
            .collect();
        let (from, until) = self.stable_window(cloud, &carried_validity, at);
        chain.valid_from = chain.valid_from.max(from);
        chain.valid_until = chain.valid_until.min(until);
        if let (Some(profile), Some(issuer)) = (profile, &chain.issuer) {
            let key = SignerKey::from_spki(&issuer.spki_der);
            if let (false, Some(key)) = (issuer.constrained, key) {
                self.proven.remember(
                    profile.key,
                    IssuerProof {
                        key,
                        subjects: chain.subjects.iter().skip(1).cloned().collect(),
                        valid_from: from,
                        valid_until: until,
                    },
                );
            }
        }
        Ok(chain)
    }

    /// The span around `at` in which no certificate serving `cloud`, nor any in `extra`,
    /// begins or ends its validity (`until` excluded); empty when a validity is unknown.
    fn stable_window(
        &self,
        cloud: Cloud,
        extra: &[Option<(OffsetDateTime, OffsetDateTime)>],
        at: OffsetDateTime,
    ) -> (OffsetDateTime, OffsetDateTime) {
        let mut from = OffsetDateTime::UNIX_EPOCH;
        let mut until = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT);
        let validities = self
            .certs
            .iter()
            .filter(|c| c.serves(cloud))
            .map(|c| c.validity)
            .chain(extra.iter().copied());
        for validity in validities {
            let Some((not_before, not_after)) = validity else {
                return (until, from);
            };
            for event in [not_before, not_after] {
                if event <= at {
                    from = from.max(event);
                } else {
                    until = until.min(event);
                }
            }
        }
        (from, until)
    }

    /// Chains of certificate labels from a certificate issued by `issuer` (DER of the name)
    /// up to a root, matching names only: what could complete a chain, not what verifies.
    pub(crate) fn paths_to_roots(&self, issuer: &[u8]) -> Vec<Vec<String>> {
        let names: Vec<(&[u8], &[u8])> = self
            .certs
            .iter()
            .map(|c| (c.subject_der(), c.issuer_der()))
            .collect();
        let mut done = Vec::new();
        let mut open: Vec<(Vec<usize>, Vec<u8>)> = vec![(Vec::new(), issuer.to_vec())];
        while let Some((path, wanted)) = open.pop() {
            for (i, (subject, issued_by)) in names.iter().enumerate() {
                if *subject != wanted.as_slice() || path.contains(&i) {
                    continue;
                }
                let mut next = path.clone();
                next.push(i);
                let Some(cert) = self.certs.get(i) else {
                    continue;
                };
                if cert.anchor {
                    done.push(next);
                } else if next.len() < MAX_INTERMEDIATES as usize {
                    open.push((next, issued_by.to_vec()));
                }
            }
        }
        let mut labels: Vec<Vec<String>> = done
            .into_iter()
            .map(|p| {
                p.iter()
                    .filter_map(|i| self.certs.get(*i))
                    .map(|c| c.label.clone())
                    .collect()
            })
            .collect();
        labels.sort();
        labels
    }

    fn serving(&self, cloud: Cloud, anchor: bool) -> impl Iterator<Item = &X509> + '_ {
        self.certs
            .iter()
            .filter(move |c| c.anchor == anchor && c.serves(cloud))
            .filter_map(TrustCert::x509)
    }

    /// The certificates serving `cloud`, in the store's order.
    fn certs_for(&self, cloud: Cloud) -> impl Iterator<Item = &TrustCert> + '_ {
        self.certs.iter().filter(move |c| c.serves(cloud))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::hash::MessageDigest;

    #[test]
    fn builtin_table_matches_the_pinned_files() {
        for b in builtin::BUILTIN {
            let x509 = X509::from_pem(b.pem);
            let Ok(x509) = x509 else {
                panic!("{}: {x509:?}", b.file)
            };
            let digest = x509.digest(MessageDigest::sha256());
            let Ok(digest) = digest else {
                panic!("{}: {digest:?}", b.file)
            };
            assert_eq!(crate::cms::hex(&digest), b.sha256, "{}", b.file);
        }
        // The store's own reading of the files: every one, the same bytes, and OpenSSL
        // decodes each when asked.
        let store = TrustStore::builtin();
        assert_eq!(store.certs.len(), builtin::BUILTIN.len());
        for (cert, b) in store.certs.iter().zip(builtin::BUILTIN) {
            let digest = openssl::sha::sha256(cert.der());
            assert_eq!(crate::cms::hex(&digest), b.sha256, "{}", b.file);
            assert!(cert.x509().is_some(), "{}", b.file);
            assert!(cert.names().is_some(), "{}", b.file);
        }
    }

    #[test]
    fn builtin_anchors_are_grouped_per_cloud() {
        let t = TrustStore::builtin();
        assert_eq!(t.roots_for(Cloud::Public).count(), 6);
        assert_eq!(t.roots_for(Cloud::UsGov).count(), 6);
        assert_eq!(t.roots_for(Cloud::China).count(), 1);
        assert_eq!(t.roots_for(Cloud::Germany).count(), 0);
        assert_eq!(t.intermediates_for(Cloud::China).count(), 0);
        assert!(t.intermediates_for(Cloud::Public).count() >= 30);
    }

    #[test]
    fn rejects_trust_file_without_certificate() {
        let mut t = TrustStore::empty();
        let r = t.add_roots_pem(b"not a pem\n", "x.pem");
        assert!(
            matches!(r, Err(Error::TrustFile { ref source, ref detail }) if source == "x.pem" && detail.contains("no PEM certificate")),
            "{r:?}"
        );
    }

    #[test]
    fn caller_roots_serve_every_cloud_and_replace_builtin_ones() {
        let pem = builtin::BUILTIN.first().map(|b| b.pem).unwrap_or_default();
        let mut t = TrustStore::builtin().without_roots();
        assert_eq!(t.add_roots_pem(pem, "root.pem"), Ok(1));
        for cloud in Cloud::ALL {
            assert_eq!(t.roots_for(cloud).count(), 1, "{cloud}");
        }
    }
}
