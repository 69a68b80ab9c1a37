//! The stateless challenge nonce: its expiry, randomness and a MAC, in the 32 characters of
//! `[A-Za-z0-9]` IMDS accepts, so that issuing one writes nothing anywhere.
//!
//! ```text
//! EEEEEE RRRRRRRRRR MMMMMMMMMMMMMMMM
//! expiry randomness MAC
//! ```
//!
//! - `E`: the expiry in Unix seconds, 6 base62 digits (most significant first; until the year
//!   3770);
//! - `R`: 10 base62 digits from the operating system's CSPRNG (about 59 bits), so that two
//!   challenges of the same second differ;
//! - `M`: the first 88 bits of HMAC-SHA256 over `E || R` under the store's [`ChallengeKey`],
//!   16 base62 digits. 88 bits fit 16 digits exactly (62^16 > 2^88), so every MAC has one
//!   spelling, and 2^88 online guesses are out of anyone's reach.

use crate::error::StoreError;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The length of a challenge nonce: what IMDS accepts at most.
pub(crate) const NONCE_LEN: usize = 32;
const EXPIRY_LEN: usize = 6;
const RANDOM_LEN: usize = 10;
const SIGNED_LEN: usize = EXPIRY_LEN + RANDOM_LEN;
const MAC_LEN: usize = NONCE_LEN - SIGNED_LEN;
/// The MAC's bytes that [`MAC_LEN`] base62 digits hold.
const MAC_BYTES: usize = 11;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The key the challenge nonces are signed with: 32 random bytes, kept in the store so that
/// every instance sharing it accepts the others' challenges. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct ChallengeKey([u8; 32]);

impl ChallengeKey {
    /// A key of these bytes (for a [`Store`](crate::Store) that keeps its own).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ChallengeKey(bytes)
    }

    /// A fresh key from the operating system's CSPRNG.
    pub fn random() -> Result<Self, StoreError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Randomness {
            message: e.to_string(),
        })?;
        Ok(ChallengeKey(bytes))
    }

    /// The bytes, for a store to keep.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn mac(&self, signed: &[u8]) -> Hmac<Sha256> {
        // HMAC pads a key shorter than the hash's block with zeros: the 32-byte key padded to
        // SHA-256's 64-byte block is the same key, taken by the constructor that cannot fail.
        let mut block = [0u8; 64];
        for (to, from) in block.iter_mut().zip(self.0.iter()) {
            *to = *from;
        }
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
        mac.update(signed);
        mac
    }
}

impl std::fmt::Debug for ChallengeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChallengeKey(..)")
    }
}

/// A fresh nonce expiring at `expires_unix` (seconds), or `None` if 6 digits cannot hold it.
pub(crate) fn issue(key: &ChallengeKey, expires_unix: i64) -> Result<Option<String>, StoreError> {
    let Some(expiry) = u64::try_from(expires_unix)
        .ok()
        .and_then(|s| encode::<EXPIRY_LEN>(u128::from(s)))
    else {
        return Ok(None);
    };
    let mut nonce = String::with_capacity(NONCE_LEN);
    nonce.push_str(&expiry);
    nonce.push_str(&random_digits()?);
    let tag = key.mac(nonce.as_bytes()).finalize().into_bytes();
    let mut truncated = [0u8; 16];
    for (to, from) in truncated.iter_mut().skip(16 - MAC_BYTES).zip(tag.iter()) {
        *to = *from;
    }
    // 88 bits always fit 16 base62 digits (62^16 > 2^94); were they not to, nothing is issued.
    let Some(mac) = encode::<MAC_LEN>(u128::from_be_bytes(truncated)) else {
        return Ok(None);
    };
    nonce.push_str(&mac);
    Ok(Some(nonce))
}

/// The expiry (Unix seconds) of a nonce issued under `key`, or `None` for any other string:
/// the wrong length or alphabet, or a MAC that does not match.
pub(crate) fn verify(key: &ChallengeKey, nonce: &str) -> Option<i64> {
    let bytes = nonce.as_bytes();
    if bytes.len() != NONCE_LEN {
        return None;
    }
    let (signed, mac) = bytes.split_at(SIGNED_LEN);
    let claimed = decode(mac)?;
    // A MAC digit string decoding past 88 bits is no MAC of ours.
    if claimed >> (8 * MAC_BYTES) != 0 {
        return None;
    }
    let claimed = claimed.to_be_bytes();
    let claimed = claimed.get(16 - MAC_BYTES..)?;
    // Constant time: how much of a guessed MAC matched must not show in the answer's timing,
    // or an attacker could forge one a byte at a time.
    key.mac(signed).verify_truncated_left(claimed).ok()?;
    let expiry = decode(signed.get(..EXPIRY_LEN)?)?;
    decode(signed.get(EXPIRY_LEN..)?)?; // the randomness is base62 too
    i64::try_from(expiry).ok()
}

/// `value` in `N` base62 digits, most significant first, or `None` if it needs more.
fn encode<const N: usize>(mut value: u128) -> Option<String> {
    let mut digits = [b'0'; N];
    for d in digits.iter_mut().rev() {
        *d = *ALPHABET.get(usize::try_from(value % 62).ok()?)?;
        value /= 62;
    }
    (value == 0).then(|| digits.iter().map(|&b| char::from(b)).collect())
}

/// The value of base62 digits, or `None` for another character (or past `u128`).
fn decode(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            b'a'..=b'z' => c - b'a' + 36,
            _ => return None,
        };
        acc.checked_mul(62)?.checked_add(u128::from(d))
    })
}

/// [`RANDOM_LEN`] base62 digits, uniformly from the operating system's CSPRNG.
fn random_digits() -> Result<String, StoreError> {
    let mut out = String::with_capacity(RANDOM_LEN);
    while out.len() < RANDOM_LEN {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Randomness {
            message: e.to_string(),
        })?;
        // 248 = 4 * 62: bytes from it up would favour the first digits.
        for b in bytes.into_iter().filter(|&b| b < 248) {
            if out.len() < RANDOM_LEN {
                if let Some(&c) = ALPHABET.get(usize::from(b % 62)) {
                    out.push(char::from(c));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ChallengeKey {
        ChallengeKey::from_bytes([7; 32])
    }

    /// The padded key is the same HMAC key: nonces issued before keep verifying.
    #[test]
    fn the_padded_key_gives_the_mac_of_the_key_itself() {
        let bytes: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap_or(0) ^ 0xa5);
        let mut plain = <Hmac<Sha256> as Mac>::new_from_slice(&bytes).unwrap();
        plain.update(b"1xahpB8MpZF4bvKm");
        assert_eq!(
            ChallengeKey::from_bytes(bytes)
                .mac(b"1xahpB8MpZF4bvKm")
                .finalize()
                .into_bytes(),
            plain.finalize().into_bytes()
        );
    }

    #[test]
    fn issued_nonces_verify_to_their_expiry() {
        let nonce = issue(&key(), 1_796_000_000).ok().flatten();
        let nonce = nonce.as_deref().unwrap_or_default();
        assert_eq!(nonce.len(), NONCE_LEN);
        assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(verify(&key(), nonce), Some(1_796_000_000));
        assert_eq!(verify(&ChallengeKey::from_bytes([8; 32]), nonce), None);
    }

    #[test]
    fn base62_round_trips_at_the_edges() {
        let max = 62u128.pow(6) - 1;
        assert_eq!(encode::<6>(max).as_deref(), Some("zzzzzz"));
        assert_eq!(encode::<6>(max + 1), None);
        assert_eq!(decode(b"zzzzzz"), Some(max));
        assert_eq!(encode::<16>((1u128 << 88) - 1).map(|s| s.len()), Some(16));
        assert_eq!(decode(b"-"), None);
    }

    #[test]
    fn refuses_expiries_six_digits_cannot_hold() {
        assert!(matches!(issue(&key(), -1), Ok(None)));
        assert!(matches!(issue(&key(), 62i64.pow(6)), Ok(None)));
    }

    #[test]
    fn debug_shows_nothing_of_the_key() {
        assert_eq!(format!("{:?}", key()), "ChallengeKey(..)");
    }
}
