//! The trust store from the files a user names.

use std::path::{Path, PathBuf};

use imds_attest::TrustStore;

use crate::error::{FileRole, SetupError};
use crate::files::read_capped;

/// The trust a user asked for: the built-in pinned certificates, with `roots` (when any)
/// replacing the built-in roots, `intermediates` added, and a trust directory's files added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustSources {
    /// Root PEM files; when any is given, the built-in roots are not trusted.
    pub roots: Vec<PathBuf>,
    /// Intermediate PEM files, added to the pinned ones.
    pub intermediates: Vec<PathBuf>,
    /// The trust directory, if any.
    pub dir: TrustDir,
}

/// Which trust directory to read (`roots/<cloud>/*.pem`, `intermediates/*.pem`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustDir {
    /// None.
    #[default]
    None,
    /// This one when it exists: the command line's `--trust-dir` or default directory, which
    /// `trust add` creates on first use.
    IfPresent(PathBuf),
    /// This one, which must be a directory: a service's configured `[trust] dir`.
    Required(PathBuf),
}

impl TrustSources {
    /// Reads every file and builds the store. A file that cannot be read, is too large or
    /// holds no acceptable certificate is an error naming it (kind `trust_file`).
    ///
    /// ```
    /// use imds_attest_setup::{TrustDir, TrustSources};
    /// let missing = TrustSources {
    ///     roots: vec!["/nonexistent/root.pem".into()],
    ///     ..TrustSources::default()
    /// };
    /// let e = missing.build().unwrap_err();
    /// assert_eq!(e.kind().as_str(), "trust_file");
    /// ```
    pub fn build(&self) -> Result<TrustStore, SetupError> {
        let mut trust = TrustStore::builtin();
        if !self.roots.is_empty() {
            trust = trust.without_roots();
        }
        let files = self
            .roots
            .iter()
            .map(|p| (p, true))
            .chain(self.intermediates.iter().map(|p| (p, false)));
        for (path, root) in files {
            let pem = read_capped(path, FileRole::TrustFile)?;
            let source = path.display().to_string();
            let added = if root {
                trust.add_roots_pem(&pem, &source)
            } else {
                trust.add_intermediates_pem(&pem, &source)
            };
            added.map_err(SetupError::Refused)?;
        }
        if let Some(dir) = self.dir.to_read()? {
            trust.add_trust_dir(dir).map_err(SetupError::Refused)?;
        }
        Ok(trust)
    }
}

impl TrustDir {
    /// The directory to read, if any: an absent optional one is none.
    fn to_read(&self) -> Result<Option<&Path>, SetupError> {
        match self {
            TrustDir::None => Ok(None),
            TrustDir::IfPresent(dir) => Ok(dir.is_dir().then_some(dir.as_path())),
            TrustDir::Required(dir) if dir.is_dir() => Ok(Some(dir)),
            TrustDir::Required(dir) => Err(SetupError::NotADirectory { path: dir.clone() }),
        }
    }
}

/// The default trust directory, `$XDG_CONFIG_HOME/imds-attest/trust` (or
/// `~/.config/imds-attest/trust`), whether or not it exists; `None` without either variable.
pub fn default_trust_dir() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("imds-attest").join("trust"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use imds_attest::ErrorKind;

    #[test]
    fn a_required_trust_dir_must_exist_an_optional_one_need_not() {
        let absent = PathBuf::from("/nonexistent/imds-attest-trust");
        let required = TrustSources {
            dir: TrustDir::Required(absent.clone()),
            ..TrustSources::default()
        };
        let e = required.build().unwrap_err();
        assert_eq!(
            e,
            SetupError::NotADirectory {
                path: absent.clone()
            }
        );
        assert_eq!(e.kind(), ErrorKind::TrustFile);
        let optional = TrustSources {
            dir: TrustDir::IfPresent(absent),
            ..TrustSources::default()
        };
        assert!(optional.build().is_ok());
    }

    #[test]
    fn a_file_without_a_certificate_is_a_trust_file_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let e = TrustSources {
            intermediates: vec![path.clone()],
            ..TrustSources::default()
        }
        .build()
        .unwrap_err();
        assert!(matches!(&e, SetupError::Refused(_)), "{e}");
        assert_eq!(e.kind(), ErrorKind::TrustFile);
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }

    #[test]
    fn given_roots_replace_the_builtin_roots() {
        let root = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../certs/public/roots/digicert_global_root_g2.pem"
        ));
        let builtin = TrustSources::default().build().unwrap();
        let given = TrustSources {
            roots: vec![root],
            ..TrustSources::default()
        }
        .build()
        .unwrap();
        let roots = |t: &TrustStore| t.roots_for(imds_attest::Cloud::Public).count();
        assert!(roots(&builtin) > 1);
        assert_eq!(roots(&given), 1);
    }
}
