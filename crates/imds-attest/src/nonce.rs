//! The nonces IMDS accepts, and the random ones a challenge issues.
//!
//! IMDS takes `nonce=` of 1 to 32 ASCII letters and digits (anything else is a 400), and puts
//! it in the document's content. The IMDS client checks a nonce before asking, the stores
//! before recording one, the emulator before answering: all with [`check_nonce_syntax`].
//!
//! The nonce a verifier *expects* is another thing: it is compared byte for byte with the
//! document's, which may also be the timestamp IMDS puts there when no nonce was asked for
//! (`20251119-185330`). Only its emptiness is a mistake ([`expected_nonce`]).

use std::fmt;

/// The longest nonce IMDS accepts, in bytes.
pub const MAX_NONCE_LEN: usize = 32;

/// Checks that `nonce` is one IMDS accepts: 1 to [`MAX_NONCE_LEN`] ASCII letters and digits.
///
/// ```
/// use imds_attest::{check_nonce_syntax, NonceSyntax};
/// assert_eq!(check_nonce_syntax("abc123"), Ok("abc123"));
/// assert_eq!(check_nonce_syntax("a-b"), Err(NonceSyntax::Character { at: 1 }));
/// ```
pub fn check_nonce_syntax(nonce: &str) -> Result<&str, NonceSyntax> {
    if nonce.is_empty() {
        return Err(NonceSyntax::Empty);
    }
    if nonce.len() > MAX_NONCE_LEN {
        return Err(NonceSyntax::TooLong {
            length: nonce.len(),
        });
    }
    match nonce.bytes().position(|b| !b.is_ascii_alphanumeric()) {
        Some(at) => Err(NonceSyntax::Character { at }),
        None => Ok(nonce),
    }
}

/// Checks a nonce a document is expected to carry: any text but the empty one, which is
/// always a caller's mistake (an unset variable), never a nonce to compare with.
///
/// ```
/// use imds_attest::{expected_nonce, NonceSyntax};
/// assert_eq!(expected_nonce("20251119-185330"), Ok("20251119-185330"));
/// assert_eq!(expected_nonce(""), Err(NonceSyntax::Empty));
/// ```
pub fn expected_nonce(nonce: &str) -> Result<&str, NonceSyntax> {
    if nonce.is_empty() {
        Err(NonceSyntax::Empty)
    } else {
        Ok(nonce)
    }
}

/// [`MAX_NONCE_LEN`] (32) characters from `[A-Za-z0-9]`, uniformly from the operating system's
/// CSPRNG: about 190 bits, what IMDS accepts as a nonce. Needs the `random` feature (which
/// `fetch` turns on).
///
/// ```
/// let nonce = imds_attest::random_nonce().unwrap();
/// assert_eq!(imds_attest::check_nonce_syntax(&nonce), Ok(nonce.as_str()));
/// assert_eq!(nonce.len(), 32);
/// ```
#[cfg(feature = "random")]
pub fn random_nonce() -> Result<String, NoRandomness> {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(MAX_NONCE_LEN);
    while out.len() < MAX_NONCE_LEN {
        let mut bytes = [0u8; 64];
        getrandom::fill(&mut bytes).map_err(|e| NoRandomness {
            message: e.to_string(),
        })?;
        for b in bytes {
            // 248 = 4 * 62: bytes from it up would favour the first letters.
            if b < 248 && out.len() < MAX_NONCE_LEN {
                if let Some(&c) = ALPHABET.get(usize::from(b % 62)) {
                    out.push(char::from(c));
                }
            }
        }
    }
    Ok(out)
}

/// Why a nonce is not one IMDS accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonceSyntax {
    /// It is empty.
    Empty,
    /// It is longer than [`MAX_NONCE_LEN`] bytes.
    TooLong {
        /// Its length in bytes.
        length: usize,
    },
    /// A byte that is not an ASCII letter or digit.
    Character {
        /// Its offset.
        at: usize,
    },
}

impl fmt::Display for NonceSyntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NonceSyntax::Empty => f.write_str("it is empty"),
            NonceSyntax::TooLong { length } => write!(
                f,
                "it is {length} bytes long; IMDS takes at most {MAX_NONCE_LEN}"
            ),
            NonceSyntax::Character { at } => write!(
                f,
                "byte {at} is not an ASCII letter or digit, which is all IMDS takes"
            ),
        }
    }
}

impl std::error::Error for NonceSyntax {}

/// The operating system's random number generator failed.
#[cfg(feature = "random")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRandomness {
    /// What it said.
    pub message: String,
}

#[cfg(feature = "random")]
impl fmt::Display for NoRandomness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no OS randomness: {}", self.message)
    }
}

#[cfg(feature = "random")]
impl std::error::Error for NoRandomness {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_nonces_imds_accepts() {
        let cases: &[(&str, Result<&str, NonceSyntax>)] = &[
            ("a", Ok("a")),
            ("Z9", Ok("Z9")),
            (&"x".repeat(32), Ok(&"x".repeat(32))),
            ("", Err(NonceSyntax::Empty)),
            (&"x".repeat(33), Err(NonceSyntax::TooLong { length: 33 })),
            ("20251119-185330", Err(NonceSyntax::Character { at: 8 })),
            ("ab c", Err(NonceSyntax::Character { at: 2 })),
            ("é", Err(NonceSyntax::Character { at: 0 })),
        ];
        for (nonce, expected) in cases {
            assert_eq!(&check_nonce_syntax(nonce), expected, "{nonce:?}");
        }
    }

    #[test]
    fn an_expected_nonce_may_be_any_text_but_empty() {
        assert_eq!(expected_nonce(" x-y "), Ok(" x-y "));
        assert_eq!(expected_nonce(""), Err(NonceSyntax::Empty));
    }

    #[cfg(feature = "random")]
    #[test]
    fn random_nonces_are_32_alphanumerics_and_differ() {
        let a = random_nonce();
        let b = random_nonce();
        assert!(matches!(&a, Ok(n) if check_nonce_syntax(n).is_ok() && n.len() == 32));
        assert_ne!(a, b);
    }
}
