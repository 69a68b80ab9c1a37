//! Why bytes are not an attested document before any CMS is read: none of the accepted forms,
//! a malformed IMDS JSON wrapper, base64 that does not decode, DER that is not strict.

use std::fmt;

/// Why the input is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputReason {
    /// Nothing at all.
    Empty,
    /// Only white space.
    WhiteSpace,
    /// Binary bytes that do not begin a DER SEQUENCE.
    BinaryNotDer,
    /// A PEM header line that is not `-----BEGIN <label>-----`.
    PemHeader {
        /// The line.
        line: String,
    },
    /// A PEM block of another kind than PKCS7 or CMS.
    PemLabel {
        /// Its label.
        label: String,
    },
    /// A PEM block without its END line.
    PemFooter {
        /// The line expected.
        footer: String,
    },
    /// Text of a recognisable other kind, such as a TOML file.
    LooksLike {
        /// What it looks like (`"TOML"`).
        what: &'static str,
    },
}

/// Why the IMDS JSON wrapper is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeReason {
    /// It is not JSON (the parser's complaint).
    Syntax {
        /// serde_json's message.
        message: String,
    },
    /// A key appears twice.
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// It is JSON but not an object.
    NotObject,
    /// A key other than `encoding` and `signature`.
    UnexpectedKey {
        /// The key.
        key: String,
    },
    /// `encoding` or `signature` is missing.
    Missing {
        /// The key.
        key: &'static str,
    },
    /// `encoding` or `signature` is not a string.
    NotString {
        /// The key.
        key: &'static str,
    },
    /// A JSON object with neither `encoding` nor `signature`: other JSON than an IMDS response.
    OtherJson {
        /// Its first key.
        key: String,
    },
}

/// Why base64 text does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Base64Reason {
    /// The decoder refused it.
    Invalid {
        /// The decoder's message.
        message: String,
    },
    /// It decodes to no bytes.
    Empty,
    /// The whole input is text that is not base64 and looks like something else (plain text,
    /// a JSON array).
    NotBase64 {
        /// The decoder's message.
        message: String,
        /// What the text looks like.
        looks_like: &'static str,
    },
}

/// Why bytes are not strict DER.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DerReason {
    /// The TLV walk that runs before any decoding refused the bytes at `offset`.
    Tlv {
        /// Where the offending tag or length begins.
        offset: usize,
        /// What is wrong there.
        problem: TlvProblem,
    },
    /// The ASN.1 decoder refused the bytes.
    Decoder {
        /// The decoder's message.
        message: String,
    },
}

/// A tag or length that strict DER forbids.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlvProblem {
    /// The input ends inside a tag or length.
    Truncated,
    /// A high tag number of more than 4 octets.
    TagTooLong,
    /// The indefinite length (BER).
    IndefiniteLength,
    /// The reserved length octet 0xFF.
    ReservedLength,
    /// A length of more than 4 octets.
    LengthTooLong,
    /// A length in more octets than needed.
    NonMinimalLength,
    /// A length that claims more bytes than remain.
    Overrun {
        /// The length claimed.
        length: usize,
        /// The bytes that remain.
        remaining: usize,
    },
    /// A value that runs past the end of its enclosing value.
    PastParent,
    /// Bytes after the one top-level value.
    Trailing {
        /// How many.
        count: usize,
    },
}

impl fmt::Display for InputReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputReason::Empty => f.write_str("it is empty"),
            InputReason::WhiteSpace => f.write_str("it holds only white space"),
            InputReason::BinaryNotDer => {
                f.write_str("it is binary but does not start with a DER SEQUENCE")
            }
            InputReason::PemHeader { line } => write!(f, "malformed PEM header {line:?}"),
            InputReason::PemLabel { label } if label == "CERTIFICATE" => f.write_str(
                "PEM block is \"CERTIFICATE\": a certificate, not a PKCS7 signed document",
            ),
            InputReason::PemLabel { label } => write!(f, "PEM block is {label:?}, not PKCS7"),
            InputReason::PemFooter { footer } => {
                write!(f, "PEM block has no {footer:?} line at its end")
            }
            InputReason::LooksLike { what } => write!(f, "it looks like {what}"),
        }
    }
}

impl fmt::Display for EnvelopeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeReason::Syntax { message } => f.write_str(message),
            EnvelopeReason::DuplicateKey { key } => write!(f, "key {key:?} appears twice"),
            EnvelopeReason::NotObject => f.write_str("it is not a JSON object"),
            EnvelopeReason::UnexpectedKey { key } => write!(f, "unexpected key {key:?}"),
            EnvelopeReason::Missing { key } => write!(f, "{key:?} is missing"),
            EnvelopeReason::NotString { key } => write!(f, "{key:?} is not a string"),
            EnvelopeReason::OtherJson { key } => write!(
                f,
                "it is other JSON than an IMDS response (its first key is {key:?}, and it has \
                 neither \"encoding\" nor \"signature\")"
            ),
        }
    }
}

impl fmt::Display for Base64Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Reason::Invalid { message } => f.write_str(message),
            Base64Reason::Empty => f.write_str("it decodes to nothing"),
            Base64Reason::NotBase64 {
                message,
                looks_like,
            } => write!(
                f,
                "{message}; the input looks like {looks_like}, not an attested document"
            ),
        }
    }
}

impl fmt::Display for DerReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DerReason::Tlv { offset, problem } => write!(f, "{problem} (offset {offset})"),
            DerReason::Decoder { message } => f.write_str(message),
        }
    }
}

impl fmt::Display for TlvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlvProblem::Truncated => f.write_str("the input ends inside a tag or length"),
            TlvProblem::TagTooLong => f.write_str("a tag number is absurdly long"),
            TlvProblem::IndefiniteLength => f.write_str("indefinite length (BER, not DER)"),
            TlvProblem::ReservedLength => f.write_str("reserved length octet 0xFF"),
            TlvProblem::LengthTooLong => f.write_str("a length of more than 4 octets"),
            TlvProblem::NonMinimalLength => {
                f.write_str("a length in more octets than needed (not DER)")
            }
            TlvProblem::Overrun { length, remaining } => write!(
                f,
                "a length of {length} bytes claims more than the {remaining} that remain"
            ),
            TlvProblem::PastParent => {
                f.write_str("a length runs past the end of its enclosing value")
            }
            TlvProblem::Trailing { count } => {
                write!(f, "{count} trailing bytes follow the DER value")
            }
        }
    }
}
