//! Input decoding: the IMDS JSON response, bare base64, PEM or DER, detected automatically.

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::Value;

use crate::error::{Base64Reason, EnvelopeReason, Error, InputReason};
use crate::strict_json::{self, JsonError};
use crate::tlv::check_size;

const PEM_LABELS: [&str; 2] = ["PKCS7", "CMS"];

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

fn unrecognised(reason: InputReason) -> Error {
    Error::UnrecognisedInput { reason }
}

fn envelope(reason: EnvelopeReason) -> Error {
    Error::Envelope { reason }
}

/// Turns any accepted form of a document of at most `max` bytes into its DER bytes (borrowed
/// when it is DER): the size first, before any decoding.
pub(crate) fn to_der(input: &[u8], max: usize) -> Result<Cow<'_, [u8]>, Error> {
    check_size(input, max)?;
    decode(input)
}

/// Turns any accepted form of a document into its DER bytes (borrowed when it is DER).
pub(crate) fn decode(input: &[u8]) -> Result<Cow<'_, [u8]>, Error> {
    if input.is_empty() {
        return Err(unrecognised(InputReason::Empty));
    }
    // A UTF-8 byte order mark before text, as Windows PowerShell writes files.
    let input = match input.strip_prefix(UTF8_BOM) {
        Some(text) if !text.is_empty() && text.iter().all(|&b| is_text_byte(b)) => text,
        _ => input,
    };
    // DER of a SignedData always holds bytes outside printable ASCII (its long-form lengths),
    // and every text form is printable ASCII: this tells them apart without guessing.
    if !input.iter().all(|&b| is_text_byte(b)) {
        return match input.first() {
            Some(0x30) => Ok(Cow::Borrowed(input)),
            _ => Err(unrecognised(InputReason::BinaryNotDer)),
        };
    }
    // All bytes are ASCII, so this cannot fail; the error arm keeps the code panic-free.
    let text = std::str::from_utf8(input).map_err(|_| unrecognised(InputReason::BinaryNotDer))?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let der = if text.starts_with('{') {
        decode_envelope(text.as_bytes())
    } else if text.starts_with("-----BEGIN ") {
        decode_pem(text)
    } else if text.is_empty() {
        Err(unrecognised(InputReason::WhiteSpace))
    } else if looks_like_toml(text) {
        Err(unrecognised(InputReason::LooksLike { what: "TOML" }))
    } else {
        decode_base64(text).map_err(|e| named_text(e, text))
    };
    der.map(Cow::Owned)
}

/// A `[table]` line, or a `key = value` line whose value is not base64 padding: neither can
/// be base64, whose lines hold no `[`, no space, and `=` only at their end.
fn looks_like_toml(text: &str) -> bool {
    text.lines().map(str::trim).any(|line| {
        let table = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .is_some_and(|name| {
                name.trim_start_matches('[')
                    .starts_with(|c: char| c.is_ascii_alphabetic())
            });
        let assignment = line.split_once('=').is_some_and(|(key, value)| {
            let (key, value) = (key.trim(), value.trim_start());
            !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.\"".contains(&b))
                && !value.is_empty()
                && !value.starts_with('=')
        });
        table || assignment
    })
}

/// A base64 failure of the whole input, saying what the text looks like when that is clear:
/// words separated by spaces, or a JSON array. The kind stays `base64`.
fn named_text(error: Error, text: &str) -> Error {
    let looks_like = if text.starts_with('[') {
        "a JSON array"
    } else if text.lines().any(|l| l.trim().contains(' ')) {
        "plain text"
    } else {
        return error;
    };
    match error {
        Error::Base64 {
            reason: Base64Reason::Invalid { message },
        } => Error::Base64 {
            reason: Base64Reason::NotBase64 {
                message,
                looks_like,
            },
        },
        other => other,
    }
}

fn is_text_byte(b: u8) -> bool {
    b.is_ascii_graphic() || b.is_ascii_whitespace()
}

fn decode_envelope(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let value = strict_json::parse(bytes).map_err(|e| {
        envelope(match e {
            JsonError::DuplicateKey(key) => EnvelopeReason::DuplicateKey { key },
            JsonError::Syntax(message) => EnvelopeReason::Syntax { message },
        })
    })?;
    let Value::Object(map) = value else {
        return Err(envelope(EnvelopeReason::NotObject));
    };
    if !map.contains_key("encoding") && !map.contains_key("signature") {
        if let Some(key) = map.keys().next() {
            return Err(envelope(EnvelopeReason::OtherJson { key: key.clone() }));
        }
    }
    if let Some(unknown) = map
        .keys()
        .find(|k| k.as_str() != "encoding" && k.as_str() != "signature")
    {
        return Err(envelope(EnvelopeReason::UnexpectedKey {
            key: unknown.clone(),
        }));
    }
    match map.get("encoding") {
        Some(Value::String(enc)) if enc == "pkcs7" => {}
        Some(Value::String(enc)) => {
            return Err(Error::UnsupportedEncoding {
                encoding: enc.clone(),
            })
        }
        Some(_) => return Err(envelope(EnvelopeReason::NotString { key: "encoding" })),
        None => return Err(envelope(EnvelopeReason::Missing { key: "encoding" })),
    }
    match map.get("signature") {
        Some(Value::String(sig)) => decode_base64(sig),
        Some(_) => Err(envelope(EnvelopeReason::NotString { key: "signature" })),
        None => Err(envelope(EnvelopeReason::Missing { key: "signature" })),
    }
}

fn decode_pem(text: &str) -> Result<Vec<u8>, Error> {
    let first_line = text.lines().next().unwrap_or_default().trim_end();
    let label = first_line
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.strip_suffix("-----"))
        .ok_or_else(|| {
            unrecognised(InputReason::PemHeader {
                line: first_line.to_owned(),
            })
        })?;
    if !PEM_LABELS.contains(&label) {
        return Err(unrecognised(InputReason::PemLabel {
            label: label.to_owned(),
        }));
    }
    let footer = format!("-----END {label}-----");
    let body = text
        .get(first_line.len()..)
        .and_then(|rest| rest.trim_end().strip_suffix(footer.as_str()))
        .ok_or_else(|| unrecognised(InputReason::PemFooter { footer }))?;
    decode_base64(body)
}

fn decode_base64(text: &str) -> Result<Vec<u8>, Error> {
    let compact: Cow<'_, [u8]> = if text.bytes().any(|b| b.is_ascii_whitespace()) {
        Cow::Owned(text.bytes().filter(|b| !b.is_ascii_whitespace()).collect())
    } else {
        Cow::Borrowed(text.as_bytes())
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|e| Error::Base64 {
            reason: Base64Reason::Invalid {
                message: e.to_string(),
            },
        })?;
    if der.is_empty() {
        return Err(Error::Base64 {
            reason: Base64Reason::Empty,
        });
    }
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const DER: &[u8] = &[0x30, 0x82, 0x00, 0x01, 0x05];
    const B64: &str = "MIIAAQU=";

    #[test]
    fn decodes_every_accepted_form_to_the_same_der() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("der", DER.to_vec()),
            ("base64", B64.as_bytes().to_vec()),
            ("base64 with breaks", b"  MIIA\nAQU=\r\n".to_vec()),
            (
                "json",
                format!(r#"{{"encoding":"pkcs7","signature":"{B64}"}}"#).into_bytes(),
            ),
            (
                "json with newline escapes",
                br#" {"signature":"MIIA\nAQU=","encoding":"pkcs7"} "#.to_vec(),
            ),
            (
                "pem",
                format!("-----BEGIN PKCS7-----\n{B64}\n-----END PKCS7-----\n").into_bytes(),
            ),
        ];
        for (name, input) in cases {
            assert_eq!(decode(&input).ok().as_deref(), Some(DER), "{name}");
        }
    }

    #[test]
    fn accepts_a_utf8_bom_before_text_forms_only() {
        let json = format!(r#"{{"encoding":"pkcs7","signature":"{B64}"}}"#);
        let pem = format!("-----BEGIN PKCS7-----\n{B64}\n-----END PKCS7-----\n");
        for text in [json.as_str(), B64, pem.as_str()] {
            let with_bom = [UTF8_BOM, text.as_bytes()].concat();
            assert_eq!(decode(&with_bom).ok().as_deref(), Some(DER), "{text}");
        }
        let bom_der = [UTF8_BOM, DER].concat();
        assert_eq!(
            decode(&bom_der),
            Err(Error::UnrecognisedInput {
                reason: InputReason::BinaryNotDer
            })
        );
        assert_eq!(
            decode(UTF8_BOM),
            Err(Error::UnrecognisedInput {
                reason: InputReason::BinaryNotDer
            })
        );
    }

    #[test]
    fn rejects_each_malformed_form_with_its_reason() {
        let cases: &[(&str, &[u8], ErrorKind)] = &[
            ("empty", b"", ErrorKind::UnrecognisedInput),
            ("blank", b" \n ", ErrorKind::UnrecognisedInput),
            (
                "binary not der",
                &[0x04, 0x81, 0x80],
                ErrorKind::UnrecognisedInput,
            ),
            ("junk base64", b"MIIA*AQU=", ErrorKind::Base64),
            (
                "wrong encoding",
                br#"{"encoding":"jws","signature":"MIIAAQU="}"#,
                ErrorKind::UnsupportedEncoding,
            ),
            (
                "no encoding",
                br#"{"signature":"MIIAAQU="}"#,
                ErrorKind::Envelope,
            ),
            (
                "no signature",
                br#"{"encoding":"pkcs7"}"#,
                ErrorKind::Envelope,
            ),
            (
                "number signature",
                br#"{"encoding":"pkcs7","signature":5}"#,
                ErrorKind::Envelope,
            ),
            (
                "extra key",
                br#"{"encoding":"pkcs7","signature":"MIIAAQU=","x":1}"#,
                ErrorKind::Envelope,
            ),
            (
                "duplicate key",
                br#"{"encoding":"pkcs7","encoding":"pkcs7","signature":"MIIAAQU="}"#,
                ErrorKind::Envelope,
            ),
            ("array", b"[1]", ErrorKind::Base64),
            (
                "pem label",
                b"-----BEGIN CERTIFICATE-----\nMIIAAQU=\n-----END CERTIFICATE-----",
                ErrorKind::UnrecognisedInput,
            ),
            (
                "pem no footer",
                b"-----BEGIN PKCS7-----\nMIIAAQU=\n",
                ErrorKind::UnrecognisedInput,
            ),
            (
                "empty signature",
                br#"{"encoding":"pkcs7","signature":""}"#,
                ErrorKind::Base64,
            ),
            (
                "toml",
                b"[package]\nname = \"imds-attest\"\n",
                ErrorKind::UnrecognisedInput,
            ),
            ("toml key", b"version = 1", ErrorKind::UnrecognisedInput),
            ("plain text", b"hello world", ErrorKind::Base64),
            ("other json", br#"{"name":"x"}"#, ErrorKind::Envelope),
        ];
        for (name, input, kind) in cases {
            match decode(input) {
                Err(e) => assert_eq!(e.kind(), *kind, "{name}: {e}"),
                Ok(der) => panic!("{name}: accepted as {der:?}"),
            }
        }
    }
}
