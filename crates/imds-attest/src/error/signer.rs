//! Why the signer certificate may not sign: its DNS names and its profile.

use std::fmt;

/// Why a DNS name of the signer is not a plain host name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameReason {
    /// A wildcard label.
    Wildcard,
    /// An empty label (two dots, or a leading or trailing dot).
    EmptyLabel,
    /// A character other than a letter, a digit, a hyphen and the dots between labels.
    Character,
    /// A label that begins or ends with a hyphen, or is longer than 63 characters.
    Label,
}

/// How the signer certificate differs from a TLS server certificate that may sign.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfileReason {
    /// It is a CA (basicConstraints cA TRUE).
    Ca,
    /// Its keyUsage lacks digitalSignature.
    KeyUsage,
    /// Its extendedKeyUsage has neither serverAuth nor anyExtendedKeyUsage.
    ExtendedKeyUsage,
    /// No subjectAltName, and not exactly one subject common name.
    CommonNames {
        /// How many common names it has.
        count: usize,
    },
    /// An extension the profile reads does not decode.
    Extension {
        /// Which.
        name: &'static str,
    },
}

impl fmt::Display for NameReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameReason::Wildcard => "a wildcard is not accepted",
            NameReason::EmptyLabel => "it has an empty label",
            NameReason::Character => {
                "it holds a character other than letters, digits, hyphens and dots"
            }
            NameReason::Label => {
                "a label begins or ends with a hyphen or is longer than 63 characters"
            }
        })
    }
}

impl fmt::Display for ProfileReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileReason::Ca => f.write_str("it is a CA certificate"),
            ProfileReason::KeyUsage => f.write_str("its keyUsage lacks digitalSignature"),
            ProfileReason::ExtendedKeyUsage => {
                f.write_str("its extendedKeyUsage has neither serverAuth nor anyExtendedKeyUsage")
            }
            ProfileReason::CommonNames { count } => write!(
                f,
                "it has no subjectAltName and {count} common names, where one names the signer"
            ),
            ProfileReason::Extension { name } => write!(f, "its {name} extension does not decode"),
        }
    }
}
