//! The trust store: pinned roots and intermediates per cloud, and what callers add.

mod builtin;
mod cert;
pub(crate) mod chain;
mod dir;

pub use dir::{TrustDirRole, TrustedCertificate};

use std::sync::Arc;

use time::OffsetDateTime;

use crate::cloud::Cloud;
use crate::error::Error;
use crate::limits::MAX_INTERMEDIATES;
use cert::TrustCert;

/// Roots (trust anchors) and intermediates (chain-building help, never trusted by themselves),
/// each serving some clouds: plain configuration, built once and given to a
/// [`Verifier`](crate::Verifier).
///
/// ```
/// use imds_attest::{Cloud, TrustStore};
/// let trust = TrustStore::builtin();
/// assert!(trust.roots_for(Cloud::Public).count() >= 5);
/// // Replacing the roots: keep the pinned intermediates, trust only your own anchor.
/// let mine = TrustStore::builtin().without_roots();
/// assert_eq!(mine.roots_for(Cloud::Public).count(), 0);
/// ```
#[derive(Clone)]
pub struct TrustStore {
    /// Shared by clones, with the decodings OpenSSL made of them.
    certs: Arc<Vec<TrustCert>>,
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
        }
    }

    /// A store with nothing in it. Verifying against it always fails with
    /// [`Error::NoTrustAnchors`]: an empty store never means "skip the chain check".
    pub fn empty() -> TrustStore {
        TrustStore {
            certs: Arc::default(),
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
        self
    }

    /// Adds every certificate in `pem` as a trust anchor serving every cloud. `source` names
    /// the file in errors. Returns how many were added; a PEM with none is an error.
    pub fn add_roots_pem(&mut self, pem: &[u8], source: &str) -> Result<usize, Error> {
        self.add_pem(pem, source, true)
    }

    /// Adds every certificate in `pem` as a trust anchor serving `cloud` only (a trust
    /// directory's `roots/<cloud>/`). Returns how many were added; a PEM with none is an error.
    pub fn add_cloud_roots_pem(
        &mut self,
        pem: &[u8],
        source: &str,
        cloud: Cloud,
    ) -> Result<usize, Error> {
        let before = self.certs.len();
        let added = self.add_pem(pem, source, true)?;
        for cert in Arc::make_mut(&mut self.certs).iter_mut().skip(before) {
            cert.clouds = cloud.only();
        }
        Ok(added)
    }

    /// Adds every certificate in `pem` as an intermediate serving every cloud (untrusted: it
    /// only helps build a chain). Returns how many were added; a PEM with none is an error.
    pub fn add_intermediates_pem(&mut self, pem: &[u8], source: &str) -> Result<usize, Error> {
        self.add_pem(pem, source, false)
    }

    fn add_pem(&mut self, pem: &[u8], source: &str, anchor: bool) -> Result<usize, Error> {
        let fail = |reason| Error::TrustFile {
            source: source.to_owned(),
            reason,
        };
        let certs = crate::x509::pem_certificates(pem, source)?;
        let mut read = Vec::with_capacity(certs.len());
        for (x509, der) in certs {
            read.push(TrustCert::decoded(x509, der, source.to_owned(), anchor).map_err(fail)?);
        }
        let added = read.len();
        Arc::make_mut(&mut self.certs).extend(read);
        Ok(added)
    }

    /// The DER of the roots that anchor chains for `cloud`.
    pub fn roots_for(&self, cloud: Cloud) -> impl Iterator<Item = &[u8]> + '_ {
        self.serving(cloud, true)
    }

    /// The DER of the intermediates offered for chains of `cloud`.
    pub fn intermediates_for(&self, cloud: Cloud) -> impl Iterator<Item = &[u8]> + '_ {
        self.serving(cloud, false)
    }

    /// The validity (notBefore, notAfter) of each certificate serving `cloud`; `None` where
    /// it could not be read.
    pub(crate) fn validities(
        &self,
        cloud: Cloud,
    ) -> impl Iterator<Item = Option<(OffsetDateTime, OffsetDateTime)>> + '_ {
        self.certs_for(cloud).map(|c| c.validity)
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

    fn serving(&self, cloud: Cloud, anchor: bool) -> impl Iterator<Item = &[u8]> + '_ {
        self.certs
            .iter()
            .filter(move |c| c.anchor == anchor && c.serves(cloud))
            .map(TrustCert::der)
    }

    /// The certificates serving `cloud`, in the store's order.
    fn certs_for(&self, cloud: Cloud) -> impl Iterator<Item = &TrustCert> + '_ {
        self.certs.iter().filter(move |c| c.serves(cloud))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TrustFileReason;
    use openssl::hash::MessageDigest;
    use openssl::x509::X509;

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
            assert_eq!(crate::x509::hex(&digest), b.sha256, "{}", b.file);
        }
        // The store's own reading of the files: every one, the same bytes, and OpenSSL
        // decodes each when asked.
        let store = TrustStore::builtin();
        assert_eq!(store.certs.len(), builtin::BUILTIN.len());
        for (cert, b) in store.certs.iter().zip(builtin::BUILTIN) {
            let digest = openssl::sha::sha256(cert.der());
            assert_eq!(crate::x509::hex(&digest), b.sha256, "{}", b.file);
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
        assert_eq!(
            t.add_roots_pem(b"not a pem\n", "x.pem"),
            Err(Error::TrustFile {
                source: "x.pem".into(),
                reason: TrustFileReason::NoCertificate,
            })
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
