//! A trust directory: `roots/<cloud>/*.pem` (anchors of that cloud) and `intermediates/*.pem`
//! (chain-building help for every cloud), added to a store, each file checked to be what its
//! folder says. Reading the folders is behind the `trust-dir` feature; the checks are not.

use openssl::x509::{X509VerifyResult, X509};
use time::OffsetDateTime;

use super::TrustStore;
use crate::cloud::Cloud;
use crate::error::{Error, TrustFileReason};

/// What a trust directory's folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustDirRole {
    /// `roots/<cloud>/`: self-signed anchors of that cloud.
    Root(Cloud),
    /// `intermediates/`: CA certificates, untrusted by themselves, for every cloud.
    Intermediate,
}

/// One certificate of a store, for listing: what it is and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrustedCertificate {
    /// Its DER.
    pub der: Vec<u8>,
    /// Its subject, as text.
    pub subject: String,
    /// The SHA-256 of its DER, upper-case hex.
    pub sha256: String,
    /// Where it came from: `certs/<file>` for a built-in one, else the source its adder named.
    pub source: String,
    /// Whether it is a trust anchor.
    pub root: bool,
    /// The clouds it serves; empty: every cloud.
    pub clouds: Vec<Cloud>,
    /// Its notBefore and notAfter, when readable.
    pub validity: Option<(OffsetDateTime, OffsetDateTime)>,
}

impl TrustedCertificate {
    /// Whether it is one of the pinned certificates built into this crate.
    pub fn builtin(&self) -> bool {
        self.source.starts_with("certs/")
    }
}

impl TrustStore {
    /// Adds the certificates of one trust-directory file, `source` naming it in errors: a
    /// root must be self-signed, an intermediate a CA. Returns how many were added.
    pub fn add_trust_dir_pem(
        &mut self,
        role: TrustDirRole,
        pem: &[u8],
        source: &str,
    ) -> Result<usize, Error> {
        let fail = |reason| Error::TrustFile {
            source: source.to_owned(),
            reason,
        };
        let certs = X509::stack_from_pem(pem).map_err(|e| {
            fail(TrustFileReason::Unreadable {
                message: e.to_string(),
            })
        })?;
        for cert in &certs {
            let subject = || crate::x509::subject_of_der(cert.to_der().ok().as_deref());
            match role {
                TrustDirRole::Root(_) => {
                    let self_signed = cert.issued(cert) == X509VerifyResult::OK
                        && cert
                            .public_key()
                            .and_then(|k| cert.verify(&k))
                            .unwrap_or(false);
                    if !self_signed {
                        return Err(fail(TrustFileReason::NotSelfSigned { subject: subject() }));
                    }
                }
                TrustDirRole::Intermediate => {
                    if !is_ca(cert) {
                        return Err(fail(TrustFileReason::NotCa { subject: subject() }));
                    }
                }
            }
        }
        match role {
            TrustDirRole::Root(cloud) => self.add_cloud_roots_pem(pem, source, cloud),
            TrustDirRole::Intermediate => self.add_intermediates_pem(pem, source),
        }
    }

    /// Adds a trust directory: every `roots/<cloud>/*.pem` (cloud by its name: `public`,
    /// `usgov`, `china`, `germany`) and `intermediates/*.pem`. Missing folders are empty; a
    /// file that holds no certificate, or one that is not what its folder says, is an error
    /// naming the file. Returns the files read.
    #[cfg(feature = "trust-dir")]
    pub fn add_trust_dir(&mut self, dir: &std::path::Path) -> Result<Vec<String>, Error> {
        let mut folders = vec![(dir.join("intermediates"), TrustDirRole::Intermediate)];
        for cloud in Cloud::ALL {
            folders.push((
                dir.join("roots").join(cloud.name()),
                TrustDirRole::Root(cloud),
            ));
        }
        let mut read = Vec::new();
        for (folder, role) in folders {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            let mut files: Vec<_> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "pem"))
                .collect();
            files.sort();
            for file in files {
                let source = file.display().to_string();
                let pem = std::fs::read(&file).map_err(|e| Error::TrustFile {
                    source: source.clone(),
                    reason: TrustFileReason::Unreadable {
                        message: e.to_string(),
                    },
                })?;
                self.add_trust_dir_pem(role, &pem, &source)?;
                read.push(source);
            }
        }
        Ok(read)
    }

    /// Verifies that `der` (a certificate) chains to a root of this store serving `cloud`,
    /// valid at `at`, with every rule of the documents' chain check: the subjects, `der`'s
    /// first, the root's last.
    pub fn chain_of(
        &self,
        der: &[u8],
        cloud: Cloud,
        at: OffsetDateTime,
    ) -> Result<Vec<String>, Error> {
        super::chain::verify(self, cloud, der, &[], at).map(|proof| proof.subjects)
    }

    /// Every certificate of the store, in its order.
    pub fn certificates(&self) -> impl Iterator<Item = TrustedCertificate> + '_ {
        self.certs.iter().map(|c| TrustedCertificate {
            der: c.der().to_vec(),
            subject: crate::x509::subject_of_der(Some(c.der())),
            sha256: crate::x509::hex(&openssl::sha::sha256(c.der())),
            source: c.label.clone(),
            root: c.anchor,
            clouds: c.clouds.to_vec(),
            validity: c.validity,
        })
    }
}

fn is_ca(cert: &X509) -> bool {
    use der::Decode;
    cert.to_der()
        .ok()
        .and_then(|d| x509_cert::Certificate::from_der(&d).ok())
        .is_some_and(|parsed| crate::x509::is_ca(&parsed))
}
