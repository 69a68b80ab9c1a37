//! Input decoding: the IMDS JSON response, bare base64, PEM or DER, detected automatically.

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::Value;

use crate::error::Error;
use crate::strict_json::{self, JsonError};

const PEM_LABELS: [&str; 2] = ["PKCS7", "CMS"];

/// Turns any accepted form of a document into its DER bytes (borrowed when it is DER).
pub(crate) fn decode(input: &[u8]) -> Result<Cow<'_, [u8]>, Error> {
    if input.is_empty() {
        return Err(Error::UnrecognisedInput {
            detail: "it is empty".into(),
        });
    }
    // DER of a SignedData always holds bytes outside printable ASCII (its long-form lengths),
    // and every text form is printable ASCII: this tells them apart without guessing.
    if !input.iter().all(|&b| is_text_byte(b)) {
        return match input.first() {
            Some(0x30) => Ok(Cow::Borrowed(input)),
            _ => Err(Error::UnrecognisedInput {
                detail: "it is binary but does not start with a DER SEQUENCE".into(),
            }),
        };
    }
    // All bytes are ASCII, so this cannot fail; the error arm keeps the code panic-free.
    let text = std::str::from_utf8(input).map_err(|e| Error::UnrecognisedInput {
        detail: e.to_string(),
    })?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let der = if text.starts_with('{') {
        decode_envelope(text.as_bytes())
    } else if text.starts_with("-----BEGIN ") {
        decode_pem(text)
    } else if text.is_empty() {
        Err(Error::UnrecognisedInput {
            detail: "it holds only white space".into(),
        })
    } else {
        decode_base64(text)
    };
    der.map(Cow::Owned)
}

fn is_text_byte(b: u8) -> bool {
    b.is_ascii_graphic() || b.is_ascii_whitespace()
}

fn decode_envelope(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let value = strict_json::parse(bytes).map_err(|e| Error::Envelope {
        detail: match e {
            JsonError::DuplicateKey(key) => format!("key {key:?} appears twice"),
            JsonError::Syntax(s) => s,
        },
    })?;
    let Value::Object(map) = value else {
        return Err(Error::Envelope {
            detail: "it is not a JSON object".into(),
        });
    };
    if let Some(unknown) = map
        .keys()
        .find(|k| k.as_str() != "encoding" && k.as_str() != "signature")
    {
        return Err(Error::Envelope {
            detail: format!("unexpected key {unknown:?}"),
        });
    }
    match map.get("encoding") {
        Some(Value::String(enc)) if enc == "pkcs7" => {}
        Some(Value::String(enc)) => {
            return Err(Error::UnsupportedEncoding {
                encoding: enc.clone(),
            })
        }
        Some(_) => {
            return Err(Error::Envelope {
                detail: "\"encoding\" is not a string".into(),
            })
        }
        None => {
            return Err(Error::Envelope {
                detail: "\"encoding\" is missing".into(),
            })
        }
    }
    match map.get("signature") {
        Some(Value::String(sig)) => decode_base64(sig),
        Some(_) => Err(Error::Envelope {
            detail: "\"signature\" is not a string".into(),
        }),
        None => Err(Error::Envelope {
            detail: "\"signature\" is missing".into(),
        }),
    }
}

fn decode_pem(text: &str) -> Result<Vec<u8>, Error> {
    let first_line = text.lines().next().unwrap_or_default().trim_end();
    let label = first_line
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.strip_suffix("-----"))
        .ok_or_else(|| Error::UnrecognisedInput {
            detail: format!("malformed PEM header {first_line:?}"),
        })?;
    if !PEM_LABELS.contains(&label) {
        return Err(Error::UnrecognisedInput {
            detail: format!("PEM block is {label:?}, not PKCS7"),
        });
    }
    let footer = format!("-----END {label}-----");
    let body = text
        .get(first_line.len()..)
        .and_then(|rest| rest.trim_end().strip_suffix(footer.as_str()))
        .ok_or_else(|| Error::UnrecognisedInput {
            detail: format!("PEM block has no {footer:?} line at its end"),
        })?;
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
            detail: e.to_string(),
        })?;
    if der.is_empty() {
        return Err(Error::Base64 {
            detail: "it decodes to nothing".into(),
        });
    }
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn rejects_each_malformed_form_with_its_reason() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("empty", b"", "unrecognised_input"),
            ("blank", b" \n ", "unrecognised_input"),
            ("binary not der", &[0x04, 0x81, 0x80], "unrecognised_input"),
            ("junk base64", b"MIIA*AQU=", "base64"),
            (
                "wrong encoding",
                br#"{"encoding":"jws","signature":"MIIAAQU="}"#,
                "unsupported_encoding",
            ),
            ("no encoding", br#"{"signature":"MIIAAQU="}"#, "envelope"),
            ("no signature", br#"{"encoding":"pkcs7"}"#, "envelope"),
            (
                "number signature",
                br#"{"encoding":"pkcs7","signature":5}"#,
                "envelope",
            ),
            (
                "extra key",
                br#"{"encoding":"pkcs7","signature":"MIIAAQU=","x":1}"#,
                "envelope",
            ),
            (
                "duplicate key",
                br#"{"encoding":"pkcs7","encoding":"pkcs7","signature":"MIIAAQU="}"#,
                "envelope",
            ),
            ("array", b"[1]", "base64"),
            (
                "pem label",
                b"-----BEGIN CERTIFICATE-----\nMIIAAQU=\n-----END CERTIFICATE-----",
                "unrecognised_input",
            ),
            (
                "pem no footer",
                b"-----BEGIN PKCS7-----\nMIIAAQU=\n",
                "unrecognised_input",
            ),
            (
                "empty signature",
                br#"{"encoding":"pkcs7","signature":""}"#,
                "base64",
            ),
        ];
        for (name, input, kind) in cases {
            match decode(input) {
                Err(e) => assert_eq!(e.kind(), *kind, "{name}: {e}"),
                Ok(der) => panic!("{name}: accepted as {der:?}"),
            }
        }
    }
}
