//! The trust store from the files a user names.

use std::path::{Path, PathBuf};

use imds_attest::TrustStore;

use crate::error::{FileRole, SetupError};
use crate::files::read_capped;

/// The trust a user asked for: the built-in pinned certificates, with `roots` (when any)
/// replacing the built-in roots, `intermediates` added, and a trust directory's files added.
///
/// Given roots mean those roots only: a [default](TrustDir::Default) trust directory is not
/// read when any root is given, and a directory named explicitly beside roots may add
/// intermediates, but a root in it is an error ([`SetupError::WidensRoots`]).
/// [`sources`](TrustSources::sources) names every source that takes part, for output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustSources {
    /// Root PEM files; when any is given, the built-in roots are not trusted.
    pub roots: Vec<PathBuf>,
    /// Intermediate PEM files, added to the pinned ones.
    pub intermediates: Vec<PathBuf>,
    /// The trust directory, if any.
    pub dir: TrustDir,
}

/// One source of trusted certificates that takes part in a store, as output names it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustSource {
    /// The roots built into the library (`certs/`).
    BuiltinRoots,
    /// The intermediates built into the library (`certs/`).
    BuiltinIntermediates,
    /// A root file the user named; it replaces the built-in roots.
    RootFile(PathBuf),
    /// An intermediate file the user named.
    IntermediateFile(PathBuf),
    /// A trust directory (`roots/<cloud>/*.pem`, `intermediates/*.pem`).
    Dir(PathBuf),
}

impl TrustSource {
    /// A stable name for JSON: `builtin_roots`, `builtin_intermediates`, `root_file`,
    /// `intermediate_file` or `trust_dir`.
    pub fn kind(&self) -> &'static str {
        match self {
            TrustSource::BuiltinRoots => "builtin_roots",
            TrustSource::BuiltinIntermediates => "builtin_intermediates",
            TrustSource::RootFile(_) => "root_file",
            TrustSource::IntermediateFile(_) => "intermediate_file",
            TrustSource::Dir(_) => "trust_dir",
        }
    }

    /// The file or directory, for the sources that are one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            TrustSource::BuiltinRoots | TrustSource::BuiltinIntermediates => None,
            TrustSource::RootFile(p) | TrustSource::IntermediateFile(p) | TrustSource::Dir(p) => {
                Some(p)
            }
        }
    }
}

impl std::fmt::Display for TrustSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrustSource::BuiltinRoots => f.write_str("built-in roots"),
            TrustSource::BuiltinIntermediates => f.write_str("built-in intermediates"),
            TrustSource::RootFile(p) => write!(f, "root file {}", p.display()),
            TrustSource::IntermediateFile(p) => write!(f, "intermediate file {}", p.display()),
            TrustSource::Dir(p) => write!(f, "trust directory {}", p.display()),
        }
    }
}

/// Which trust directory to read (`roots/<cloud>/*.pem`, `intermediates/*.pem`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustDir {
    /// None.
    #[default]
    None,
    /// The default directory (`$XDG_CONFIG_HOME/imds-attest/trust`, or the command line's
    /// `IMDS_ATTEST_TRUST_DIR`): read when it exists and no root was given, since given roots
    /// mean those roots only.
    Default(PathBuf),
    /// This one when it exists: the command line's `--trust-dir`, which `trust add` creates on
    /// first use.
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
        if let Some(dir) = self.dir_to_read()? {
            let read = trust.add_trust_dir(dir).map_err(SetupError::Refused)?;
            // Given roots are the only roots: a directory may add intermediates beside them,
            // never a root of its own.
            let roots = dir.join("roots");
            let widening = read.iter().find(|file| Path::new(file).starts_with(&roots));
            if let (false, Some(file)) = (self.roots.is_empty(), widening) {
                return Err(SetupError::WidensRoots {
                    path: PathBuf::from(file),
                });
            }
        }
        Ok(trust)
    }

    /// Every source that takes part in the store [`build`](Self::build) makes, in the order
    /// it reads them: the built-in roots (unless roots were given) or each root file, the
    /// built-in intermediates, each intermediate file, the trust directory when it is read.
    ///
    /// ```
    /// use imds_attest_setup::{TrustDir, TrustSource, TrustSources};
    /// let narrowed = TrustSources {
    ///     roots: vec!["test-root.pem".into()],
    ///     dir: TrustDir::Default(std::env::temp_dir()),
    ///     ..TrustSources::default()
    /// };
    /// assert_eq!(
    ///     narrowed.sources(),
    ///     [
    ///         TrustSource::RootFile("test-root.pem".into()),
    ///         TrustSource::BuiltinIntermediates
    ///     ]
    /// );
    /// ```
    pub fn sources(&self) -> Vec<TrustSource> {
        let mut sources = Vec::new();
        if self.roots.is_empty() {
            sources.push(TrustSource::BuiltinRoots);
        }
        sources.extend(self.roots.iter().cloned().map(TrustSource::RootFile));
        sources.push(TrustSource::BuiltinIntermediates);
        sources.extend(
            self.intermediates
                .iter()
                .cloned()
                .map(TrustSource::IntermediateFile),
        );
        if let Ok(Some(dir)) = self.dir_to_read() {
            sources.push(TrustSource::Dir(dir.to_path_buf()));
        }
        sources
    }

    /// The source a certificate of the built store came from, by the label `build` gave it:
    /// its file's path, or `certs/<file>` for a built-in one.
    pub fn source_of(&self, cert: &imds_attest::TrustedCertificate) -> TrustSource {
        let named = |paths: &[PathBuf]| {
            paths
                .iter()
                .find(|p| p.display().to_string() == cert.source)
                .cloned()
        };
        if cert.builtin() {
            if cert.root {
                TrustSource::BuiltinRoots
            } else {
                TrustSource::BuiltinIntermediates
            }
        } else if let Some(path) = named(&self.roots) {
            TrustSource::RootFile(path)
        } else if let Some(path) = named(&self.intermediates) {
            TrustSource::IntermediateFile(path)
        } else {
            match self.dir_to_read() {
                Ok(Some(dir)) => TrustSource::Dir(dir.to_path_buf()),
                _ => TrustSource::Dir(PathBuf::from(&cert.source)),
            }
        }
    }

    /// The directory to read, if any: an absent optional one is none, and so is the default
    /// one when roots were given.
    fn dir_to_read(&self) -> Result<Option<&Path>, SetupError> {
        match &self.dir {
            TrustDir::None => Ok(None),
            TrustDir::Default(_) if !self.roots.is_empty() => Ok(None),
            TrustDir::Default(dir) | TrustDir::IfPresent(dir) => {
                Ok(dir.is_dir().then_some(dir.as_path()))
            }
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

    /// A default trust directory holding a root of its own: trusted without `roots`, not
    /// read at all with them (given roots mean those roots only).
    #[test]
    fn given_roots_narrow_away_the_default_trust_directory() {
        let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../certs/public/roots/");
        let dir = tempfile::tempdir().unwrap();
        let roots = dir.path().join("roots/public");
        std::fs::create_dir_all(&roots).unwrap();
        std::fs::copy(
            format!("{certs}baltimore_cybertrust_root.pem"),
            roots.join("extra.pem"),
        )
        .unwrap();
        let given = PathBuf::from(format!("{certs}digicert_global_root_g2.pem"));
        let count = |t: &TrustStore| t.roots_for(imds_attest::Cloud::Public).count();
        let default_only = TrustSources {
            dir: TrustDir::Default(dir.path().to_path_buf()),
            ..TrustSources::default()
        };
        let builtin = TrustSources::default().build().unwrap();
        assert_eq!(
            count(&default_only.build().unwrap()),
            count(&builtin) + 1,
            "the default directory's root is read without --root"
        );
        assert_eq!(
            default_only.sources().last(),
            Some(&TrustSource::Dir(dir.path().to_path_buf()))
        );
        let narrowed = TrustSources {
            roots: vec![given.clone()],
            dir: TrustDir::Default(dir.path().to_path_buf()),
            ..TrustSources::default()
        };
        let store = narrowed.build().unwrap();
        assert_eq!(count(&store), 1, "only the given root");
        assert_eq!(
            narrowed.sources(),
            [
                TrustSource::RootFile(given.clone()),
                TrustSource::BuiltinIntermediates
            ]
        );
        let labels: Vec<TrustSource> = store
            .certificates()
            .filter(|c| c.root)
            .map(|c| narrowed.source_of(&c))
            .collect();
        assert_eq!(labels, [TrustSource::RootFile(given)]);
    }
}
