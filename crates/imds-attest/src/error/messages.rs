//! What every [`Error`] says: what was wrong, with the values involved.

use std::fmt;

use time::OffsetDateTime;

use super::{echoed, AlgorithmReason, Error};
use crate::cloud::Cloud;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InputTooLarge { max, .. } => write!(
                f,
                "input is larger than the limit of {max} bytes; an attested document is about \
                 3 KB: is this the right file?"
            ),
            Error::UnrecognisedInput { reason } => write!(
                f,
                "input is not an attested document ({reason}); give the IMDS JSON response, \
                 its base64 signature, PEM or DER"
            ),
            Error::Envelope { reason } => write!(
                f,
                "malformed IMDS response JSON: {reason}; expected \
                 {{\"encoding\":\"pkcs7\",\"signature\":\"<base64>\"}}"
            ),
            Error::UnsupportedEncoding { encoding } => write!(
                f,
                "IMDS response has encoding {encoding:?}; only \"pkcs7\" is supported"
            ),
            Error::Base64 { reason } => write!(f, "invalid base64 in the signature: {reason}"),
            Error::Der { what, reason } => {
                write!(f, "malformed PKCS#7: {what} is not strict DER: {reason}")
            }
            Error::NotSignedData { content_type } => {
                write!(f, "PKCS#7 content type is {content_type}, not signedData")
            }
            Error::Structure { reason } => write!(f, "not an attested document: {reason}"),
            Error::DetachedContent => write!(
                f,
                "the signature is detached: an attested document carries its JSON content inside"
            ),
            Error::SignerCount { count } => write!(
                f,
                "the document has {count} SignerInfos; an attested document has exactly one"
            ),
            Error::SignerCertificateNotFound { sid } => write!(
                f,
                "no embedded certificate matches the signer identifier ({sid})"
            ),
            Error::UnsupportedDigestAlgorithm { algorithm, reason } => match reason {
                AlgorithmReason::NotAccepted => write!(
                    f,
                    "digest algorithm {algorithm} is not accepted (only SHA-256, SHA-384, \
                     SHA-512)"
                ),
                other => write!(f, "digest algorithm {algorithm} is not accepted: {other}"),
            },
            Error::UnsupportedSignatureAlgorithm { algorithm, reason } => match reason {
                AlgorithmReason::NotAccepted => write!(
                    f,
                    "signature algorithm not accepted: {algorithm} (only RSA PKCS#1 v1.5 and \
                     ECDSA are accepted)"
                ),
                other => write!(f, "signature algorithm not accepted: {algorithm}: {other}"),
            },
            Error::WeakKey { subject, reason } => {
                write!(f, "certificate \"{}\" has {reason}", echoed(subject))
            }
            Error::SignedAttributes { reason } => write!(f, "bad signed attributes: {reason}"),
            Error::BadSignature { signer } => write!(
                f,
                "the signature does not verify with the key of \"{}\": the content or the \
                 signature was altered, or another key signed it",
                echoed(signer)
            ),
            Error::SignerName { found, allowed } => {
                let clouds: Vec<String> = allowed
                    .iter()
                    .map(|c| format!("{} ({})", c.domain(), c))
                    .collect();
                let named = Cloud::ALL
                    .iter()
                    .filter(|c| found.iter().any(|n| c.matches(n)))
                    .count();
                if named > 1 {
                    write!(
                        f,
                        "signer names [{}] belong to more than one cloud ({}): a signer may \
                         name only one",
                        echoed(&found.join(", ")),
                        clouds.join(", ")
                    )
                } else {
                    write!(
                        f,
                        "signer names [{}] are not under any allowed cloud domain: {}",
                        echoed(&found.join(", ")),
                        clouds.join(", ")
                    )
                }
            }
            Error::InvalidSignerName { name, reason } => {
                let name = echoed(&format!("{name:?}")).to_string();
                write!(f, "signer name {name} is not a plain host name: {reason}")
            }
            Error::SignerProfile { subject, reason } => write!(
                f,
                "signer certificate \"{}\" may not sign attested documents: {reason}",
                echoed(subject)
            ),
            Error::NoTrustAnchors { cloud } => write!(
                f,
                "the trust store has no root for cloud {cloud} ({})",
                cloud.domain()
            ),
            Error::UntrustedIssuer {
                subject,
                issuer,
                cloud,
                self_signed: false,
            } => write!(
                f,
                "certificate \"{}\" is issued by \"{}\", which does not chain to a {cloud} root \
                 in the trust store",
                echoed(subject),
                echoed(issuer)
            ),
            Error::UntrustedIssuer { subject, cloud, .. } => write!(
                f,
                "certificate \"{}\" is self-signed and not a {cloud} root in the trust store",
                echoed(subject)
            ),
            Error::CertificateExpired {
                subject,
                not_after,
                at,
            } => write!(
                f,
                "certificate \"{}\" expired at {} ({} before the verification time {})",
                echoed(subject),
                rfc3339(*not_after),
                human_duration(*at - *not_after),
                rfc3339(*at)
            ),
            Error::CertificateNotYetValid {
                subject,
                not_before,
                at,
            } => write!(
                f,
                "certificate \"{}\" is valid only from {} ({} after the verification time {})",
                echoed(subject),
                rfc3339(*not_before),
                human_duration(*not_before - *at),
                rfc3339(*at)
            ),
            Error::Chain {
                subject,
                depth,
                reason,
            } => write!(
                f,
                "certificate chain rejected at depth {depth} (\"{}\"): {reason}",
                echoed(subject)
            ),
            Error::Claims { reason } => write!(f, "invalid claims in the signed content: {reason}"),
            Error::DuplicateKey { key } => write!(
                f,
                "the signed content gives the key {key:?} twice; an ambiguous document is rejected"
            ),
            Error::Timestamp {
                field,
                value,
                reason,
            } => write!(
                f,
                "timeStamp.{field} {value:?} is invalid: {reason} \
                 (expected MM/DD/YY HH:MM:SS +HHMM)"
            ),
            Error::NonceMismatch { expected, found } => write!(
                f,
                "nonce {found:?} in the document is not the expected {expected:?}; \
                 the document may be replayed or served from IMDS's cache: request a new one"
            ),
            Error::DocumentExpired { expires_on, at } => write!(
                f,
                "document expired at {}, {} before the verification time {}; request a new one",
                rfc3339(*expires_on),
                human_duration(*at - *expires_on),
                rfc3339(*at)
            ),
            Error::DocumentNotYetValid { created_on, at } => write!(
                f,
                "document is created at {}, {} after the verification time {}; check the clocks",
                rfc3339(*created_on),
                human_duration(*created_on - *at),
                rfc3339(*at)
            ),
            Error::DocumentTooOld {
                created_on,
                age_seconds,
                max_age_seconds,
            } => write!(
                f,
                "document created at {} is {age_seconds} s old, more than the maximum age of \
                 {max_age_seconds} s; request a new one",
                rfc3339(*created_on)
            ),
            Error::DeniedByRule { rule } => write!(
                f,
                "the document matches deny rule {rule:?} of the claim rules; it is refused \
                 whatever the allow rules say"
            ),
            Error::NoRuleMatched {
                nearest,
                field,
                expected,
                found,
            } => {
                let expected: Vec<String> = expected.iter().map(|v| format!("{v:?}")).collect();
                let found = match found {
                    Some(value) => format!("{value:?}"),
                    None => "none".to_owned(),
                };
                write!(
                    f,
                    "no allow rule matches the document; the nearest, {nearest:?}, wants \
                     {field} {}, the document has {found}",
                    expected.join(" or ")
                )
            }
            Error::NonceUnknown { nonce } => write!(
                f,
                "nonce {nonce:?} is not a challenge the store issued (forged, altered or \
                 issued elsewhere); request a new challenge"
            ),
            Error::NonceExpired { nonce } => {
                write!(f, "nonce {nonce:?} has expired; request a new challenge")
            }
            Error::NonceAlreadyUsed { nonce } => write!(
                f,
                "nonce {nonce:?} has been used already: the document may be replayed; request \
                 a new challenge"
            ),
            Error::DocumentAlreadyUsed { content_sha256 } => write!(
                f,
                "this document (content SHA-256 {content_sha256}) has been used already: it may \
                 be replayed; fetch a new one"
            ),
            Error::StoreUnavailable { store, message } => write!(
                f,
                "the store {store} could not redeem the document: {message}; the document is \
                 refused until the store answers: try again later"
            ),
            Error::TrustFile { source, reason } => {
                write!(f, "cannot use trust file {source}: {reason}")
            }
            Error::IntermediateFetch {
                url,
                issuer,
                reason,
            } => write!(
                f,
                "cannot fetch the missing intermediate \"{}\" from {}: {reason}",
                echoed(issuer),
                echoed(url)
            ),
            Error::FetchedIntermediateRefused {
                url,
                issuer,
                reason,
            } => write!(
                f,
                "the certificate fetched from {} for \"{}\" is not used: {reason}",
                echoed(url),
                echoed(issuer)
            ),
            Error::RulesFile {
                source,
                line,
                reason,
            } => write!(f, "cannot use rules file {source}, line {line}: {reason}"),
            Error::Crypto { context, message } => {
                write!(f, "OpenSSL failed {context}: {message}")
            }
        }
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// `1,427 days 3h 2m`, `3h 2m 1s`, `2m 1s`, `1s`.
fn human_duration(d: time::Duration) -> String {
    let secs = d.whole_seconds().unsigned_abs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (hours, rem) = (rem / 3600, rem % 3600);
    let (minutes, seconds) = (rem / 60, rem % 60);
    if days > 0 {
        let unit = if days == 1 { "day" } else { "days" };
        format!("{} {unit} {hours}h {minutes}m", thousands(days))
    } else if hours > 0 {
        format!("{hours}h {minutes}m {seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_days_with_thousands() {
        assert_eq!(
            human_duration(time::Duration::seconds(1_427 * 86_400 + 3 * 3600 + 120)),
            "1,427 days 3h 2m"
        );
        assert_eq!(
            human_duration(time::Duration::seconds(86_400)),
            "1 day 0h 0m"
        );
        assert_eq!(human_duration(time::Duration::seconds(61)), "1m 1s");
    }
}
