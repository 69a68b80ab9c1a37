//! Why a setup failed: a file that could not be read, or whose contents the library refused.

use std::fmt;
use std::path::PathBuf;

use imds_attest::{Error, ErrorKind};

/// Why trust or a policy could not be built. Its [`kind`](SetupError::kind) is the library's
/// `trust_file` or `rules_file`, whichever face reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetupError {
    /// A file could not be read (missing, a directory, no permission).
    Unreadable {
        /// What it was for.
        role: FileRole,
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
    /// A file is larger than [`MAX_FILE_BYTES`](crate::MAX_FILE_BYTES); it was not read whole.
    TooLarge {
        /// What it was for.
        role: FileRole,
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        max: u64,
    },
    /// A trust directory that must exist is not a directory.
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// A trust directory holds a root while roots were given, which are the only roots
    /// trusted: reading it would widen them.
    WidensRoots {
        /// The directory's root file.
        path: PathBuf,
    },
    /// The library refused what the file holds ([`Error::TrustFile`] or [`Error::RulesFile`],
    /// with the file and, for rules, the line).
    Refused(Error),
}

/// What a file was read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileRole {
    /// A trusted certificate: a root, an intermediate, a trust directory's file.
    TrustFile,
    /// A claim rules file.
    RulesFile,
}

impl SetupError {
    /// The stable kind: [`ErrorKind::TrustFile`] or [`ErrorKind::RulesFile`], by what the
    /// file was for.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SetupError::Unreadable { role, .. } | SetupError::TooLarge { role, .. } => role.kind(),
            SetupError::NotADirectory { .. } | SetupError::WidensRoots { .. } => {
                ErrorKind::TrustFile
            }
            SetupError::Refused(e) => e.kind(),
        }
    }
}

impl SetupError {
    /// The file (or directory) at fault, as messages name it.
    pub fn file(&self) -> Option<String> {
        match self {
            SetupError::Unreadable { path, .. }
            | SetupError::TooLarge { path, .. }
            | SetupError::NotADirectory { path }
            | SetupError::WidensRoots { path } => Some(path.display().to_string()),
            SetupError::Refused(
                Error::TrustFile { source, .. } | Error::RulesFile { source, .. },
            ) => Some(source.clone()),
            SetupError::Refused(_) => None,
        }
    }
}

impl FileRole {
    fn kind(self) -> ErrorKind {
        match self {
            FileRole::TrustFile => ErrorKind::TrustFile,
            FileRole::RulesFile => ErrorKind::RulesFile,
        }
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Unreadable { path, message, .. } => {
                write!(f, "cannot read {}: {message}", path.display())
            }
            SetupError::TooLarge { path, max, .. } => write!(
                f,
                "{} is larger than {max} bytes, more than any certificate or rules file; name \
                 the right file",
                path.display()
            ),
            SetupError::NotADirectory { path } => write!(
                f,
                "{} is not a directory; create it (roots/<cloud>/*.pem, intermediates/*.pem) or \
                 correct the path",
                path.display()
            ),
            SetupError::WidensRoots { path } => write!(
                f,
                "{} is a root of the trust directory, but roots were given, and they are the \
                 only roots trusted; give it as a root too, or move it out of the directory's \
                 roots/",
                path.display()
            ),
            SetupError::Refused(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SetupError {}
