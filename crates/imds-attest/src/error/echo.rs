//! What a message echoes of text a document or a server chose (certificate names, URLs,
//! hosts): a bounded part of it, so that a forged document cannot make a log line or an HTTP
//! answer as large as itself.

use std::fmt;

/// At most this many characters of a certificate name, URL or host from a document or a server
/// are echoed in an error message.
pub const MAX_ECHOED_CHARS: usize = 256;

/// `text` as a message echoes it: whole when it has at most [`MAX_ECHOED_CHARS`] characters,
/// otherwise its first ones, then `…` and how many more there were.
///
/// ```
/// let name = format!("CN={}", "x".repeat(10_000));
/// let echoed = imds_attest::echoed(&name).to_string();
/// assert!(echoed.ends_with("… (9747 more characters)"));
/// assert_eq!(imds_attest::echoed("CN=short").to_string(), "CN=short");
/// ```
pub fn echoed(text: &str) -> impl fmt::Display + '_ {
    Echoed(text)
}

struct Echoed<'a>(&'a str);

impl fmt::Display for Echoed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        let Some((at, _)) = text.char_indices().nth(MAX_ECHOED_CHARS) else {
            return f.write_str(text);
        };
        match (text.get(..at), text.get(at..)) {
            (Some(head), Some(rest)) => {
                write!(f, "{head}… ({} more characters)", rest.chars().count())
            }
            _ => f.write_str("(unprintable)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_short_text_whole_and_cuts_long_text_on_a_character() {
        let at_limit = "é".repeat(MAX_ECHOED_CHARS);
        assert_eq!(echoed(&at_limit).to_string(), at_limit);
        let over = format!("{at_limit}ab");
        assert_eq!(
            echoed(&over).to_string(),
            format!("{at_limit}… (2 more characters)")
        );
    }
}
