//! What a verification requires beyond a valid signature and chain: clouds, nonce and time,
//! claim rules, and the checks of the nonce (with its redemption) and the time.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::claims::Claims;
use crate::cloud::Cloud;
use crate::error::Error;
use crate::redeem::Redeemer;
use crate::rules::Rules;

/// The default clock skew tolerated between IMDS and the verifier: 300 s.
pub const DEFAULT_SKEW: Duration = Duration::seconds(300);

/// The rules a [`Verifier`](crate::Verifier) applies to every document, built once.
///
/// ```
/// use imds_attest::{Cloud, Policy};
/// use time::Duration;
/// let policy = Policy::default()
///     .with_clouds(&[Cloud::Public])
///     .with_skew(Duration::seconds(60))
///     .with_max_age(Duration::minutes(10));
/// assert_eq!(policy.clouds(), &[Cloud::Public]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    clouds: Vec<Cloud>,
    skew: Duration,
    max_age: Option<Duration>,
    rules: Option<Arc<Rules>>,
}

impl Default for Policy {
    /// Every cloud, 300 s of skew, no maximum age.
    fn default() -> Self {
        Policy {
            clouds: Cloud::ALL.to_vec(),
            skew: DEFAULT_SKEW,
            max_age: None,
            rules: None,
        }
    }
}

impl Policy {
    /// Accept only signers of these clouds. An empty list accepts none.
    pub fn with_clouds(mut self, clouds: &[Cloud]) -> Self {
        let mut clouds = clouds.to_vec();
        clouds.sort();
        clouds.dedup();
        self.clouds = clouds;
        self
    }

    /// Tolerate this much clock difference on createdOn and expiresOn (negative counts as 0).
    pub fn with_skew(mut self, skew: Duration) -> Self {
        self.skew = skew.max(Duration::ZERO);
        self
    }

    /// Reject documents created longer than this before the verification time.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age.max(Duration::ZERO));
        self
    }

    /// Apply these claim rules to every document that passes the other checks. Their
    /// `[verify]` section is not applied: see [`Rules::apply_verify_section`].
    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = Some(Arc::new(rules));
        self
    }

    /// The claim rules, if any.
    pub fn rules(&self) -> Option<&Rules> {
        self.rules.as_deref()
    }

    /// The clouds accepted.
    pub fn clouds(&self) -> &[Cloud] {
        &self.clouds
    }

    /// The skew tolerated.
    pub fn skew(&self) -> Duration {
        self.skew
    }

    /// The maximum age, if any.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// Checks createdOn and expiresOn against `at` with the skew, then the maximum age. Sums
    /// past what a time can hold saturate: a skew of `Duration::MAX` tolerates everything,
    /// whatever `at` is, and nothing panics.
    pub(crate) fn check_time(&self, claims: &Claims, at: OffsetDateTime) -> Result<(), Error> {
        // `None`: beyond the last (or before the first) representable instant.
        let latest_creation = at.checked_add(self.skew);
        if latest_creation.is_some_and(|latest| claims.created_on > latest) {
            return Err(Error::DocumentNotYetValid {
                created_on: claims.created_on,
                at,
            });
        }
        let earliest_expiry = at.checked_sub(self.skew);
        if earliest_expiry.is_some_and(|earliest| claims.expires_on < earliest) {
            return Err(Error::DocumentExpired {
                expires_on: claims.expires_on,
                at,
            });
        }
        if let Some(max_age) = self.max_age {
            let age = at - claims.created_on;
            if age > max_age {
                return Err(Error::DocumentTooOld {
                    created_on: claims.created_on,
                    age_seconds: age.whole_seconds(),
                    max_age_seconds: max_age.whole_seconds().unsigned_abs(),
                });
            }
        }
        Ok(())
    }
}

// Here rather than in `rules`, which imports nothing from this module: the import graph stays
// one-way (policy -> rules).
impl Rules {
    /// `policy` with what the rules file's `[verify]` section sets (clouds, skew, maximum age)
    /// and the rest as it was. Apply this first and the caller's own settings after, so that
    /// they override the file; the rules themselves are attached with [`Policy::with_rules`].
    ///
    /// ```
    /// use imds_attest::{Cloud, Policy, Rules};
    /// use time::Duration;
    /// let rules = Rules::parse("[verify]\nclouds = [\"usgov\"]\nskew_seconds = 60\n", "r.toml")?;
    /// let policy = rules.apply_verify_section(Policy::default()).with_skew(Duration::seconds(5));
    /// assert_eq!(policy.clouds(), &[Cloud::UsGov]);
    /// assert_eq!(policy.skew(), Duration::seconds(5));
    /// # Ok::<(), imds_attest::Error>(())
    /// ```
    pub fn apply_verify_section(&self, mut policy: Policy) -> Policy {
        let section = self.verify_section();
        if let Some(clouds) = section.clouds() {
            policy = policy.with_clouds(clouds);
        }
        if let Some(skew) = section.skew() {
            policy = policy.with_skew(skew);
        }
        if let Some(max_age) = section.max_age() {
            policy = policy.with_max_age(max_age);
        }
        policy
    }
}

/// How the document's nonce is checked, and whether the document is single-use.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum NonceCheck<'a> {
    /// The nonce must equal this, byte for byte.
    Exact(&'a str),
    /// Do not check the nonce. A document verified so can be replayed by anyone who saw it,
    /// until it expires.
    DangerousAnyNonce,
    /// The nonce must be a challenge the redeemer issued, and is redeemed: once, as the last
    /// step of the verification (see [`Redeemer`]).
    Redeem(&'a dyn Redeemer),
    /// The nonce is not checked (IMDS's default timestamp nonce), but the document is
    /// single-use: the SHA-256 of its signed content is remembered by the redeemer until its
    /// expiresOn plus the policy's skew, and a second use is refused.
    SingleUse(&'a dyn Redeemer),
}

impl fmt::Debug for NonceCheck<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NonceCheck::Exact(nonce) => f.debug_tuple("Exact").field(nonce).finish(),
            NonceCheck::DangerousAnyNonce => f.write_str("DangerousAnyNonce"),
            NonceCheck::Redeem(_) => f.write_str("Redeem(..)"),
            NonceCheck::SingleUse(_) => f.write_str("SingleUse(..)"),
        }
    }
}

impl PartialEq for NonceCheck<'_> {
    /// Redeemers compare by identity: the same store object.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (NonceCheck::Exact(a), NonceCheck::Exact(b)) => a == b,
            (NonceCheck::DangerousAnyNonce, NonceCheck::DangerousAnyNonce) => true,
            (NonceCheck::Redeem(a), NonceCheck::Redeem(b))
            | (NonceCheck::SingleUse(a), NonceCheck::SingleUse(b)) => std::ptr::addr_eq(*a, *b),
            _ => false,
        }
    }
}

impl Eq for NonceCheck<'_> {}

impl NonceCheck<'_> {
    /// Whether the nonce is (or, for [`NonceCheck::Redeem`], will be) the caller's own
    /// challenge, or why it does not match. The redemption itself is [`Self::redeem`], last.
    pub(crate) fn check(self, claims: &Claims) -> Result<bool, Error> {
        match self {
            NonceCheck::Exact(expected) if claims.nonce.as_bytes() == expected.as_bytes() => {
                Ok(true)
            }
            NonceCheck::Exact(expected) => Err(Error::NonceMismatch {
                expected: expected.to_owned(),
                found: claims.nonce.clone(),
            }),
            NonceCheck::Redeem(_) => Ok(true),
            NonceCheck::DangerousAnyNonce | NonceCheck::SingleUse(_) => Ok(false),
        }
    }

    /// The last step: redeems the nonce or remembers the document, when asked to. Whether a
    /// redeemer accepted the document (`false` when there is none).
    pub(crate) fn redeem(
        self,
        claims: &Claims,
        content: &[u8],
        skew: Duration,
        at: OffsetDateTime,
    ) -> Result<bool, Error> {
        match self {
            NonceCheck::Exact(_) | NonceCheck::DangerousAnyNonce => Ok(false),
            NonceCheck::Redeem(redeemer) => redeemer.redeem_nonce(&claims.nonce, at).map(|()| true),
            NonceCheck::SingleUse(redeemer) => {
                let digest: [u8; 32] = Sha256::digest(content).into();
                // Remembered past the last instant the time check accepts (expiresOn + skew,
                // and strictly after `at`, since stores forget at `until`); past the last
                // representable instant, as long as time goes.
                let last_accepted = claims.expires_on.checked_add(skew).map(|t| t.max(at));
                let until = last_accepted
                    .and_then(|t| t.checked_add(Duration::SECOND))
                    .unwrap_or(PrimitiveDateTime::MAX.assume_utc());
                redeemer
                    .remember_document(&digest, until, at)
                    .map(|()| true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn claims(created_on: OffsetDateTime) -> Claims {
        let content = format!(
            r#"{{"nonce":"n","vmId":"v","timeStamp":{{"createdOn":"{}","expiresOn":"{}"}}}}"#,
            stamp(created_on),
            stamp(created_on + Duration::hours(6))
        );
        match Claims::parse(content.as_bytes()) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    fn stamp(t: OffsetDateTime) -> String {
        let f = time::macros::format_description!(
            "[month]/[day]/[year repr:last_two] [hour]:[minute]:[second] -0000"
        );
        t.format(&f).unwrap_or_default()
    }

    /// Instants over the whole range `time` can hold (years -9999 to 9999).
    fn any_instant() -> impl Strategy<Value = OffsetDateTime> {
        let min = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT);
        let max = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT);
        (min.unix_timestamp()..=max.unix_timestamp()).prop_map(|s| {
            OffsetDateTime::from_unix_timestamp(s).unwrap_or(OffsetDateTime::UNIX_EPOCH)
        })
    }

    fn any_duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            Just(Duration::MAX),
            Just(Duration::MIN),
            Just(Duration::ZERO),
            any::<i64>().prop_map(Duration::seconds),
            (0i64..=1_000_000).prop_map(Duration::seconds),
        ]
    }

    proptest! {
        /// No verification time, skew or maximum age makes the time check panic, and it never
        /// accepts a document outside its window by more than the skew.
        #[test]
        fn time_checks_never_panic_and_honour_the_window(
            at in any_instant(),
            skew in any_duration(),
            max_age in proptest::option::of(any_duration()),
        ) {
            let created = datetime!(2025-11-19 12:53:30 UTC);
            let c = claims(created);
            let mut policy = Policy::default().with_skew(skew);
            if let Some(max_age) = max_age {
                policy = policy.with_max_age(max_age);
            }
            let skew = policy.skew();
            match policy.check_time(&c, at) {
                Ok(()) => {
                    // Accepted: within the window widened by the skew (saturating).
                    prop_assert!(at.checked_add(skew).is_none_or(|t| c.created_on <= t));
                    prop_assert!(at.checked_sub(skew).is_none_or(|t| c.expires_on >= t));
                }
                Err(Error::DocumentNotYetValid { .. } | Error::DocumentExpired { .. }
                    | Error::DocumentTooOld { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn saturates_at_the_ends_of_time() {
        let c = claims(datetime!(2025-11-19 12:53:30 UTC));
        let end = datetime!(9999-12-31 23:58:00 UTC);
        let start = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT);
        let forever = Policy::default().with_skew(Duration::MAX);
        assert_eq!(forever.check_time(&c, end), Ok(()));
        assert_eq!(forever.check_time(&c, start), Ok(()));
        assert_eq!(
            Policy::default().check_time(&c, end),
            Err(Error::DocumentExpired {
                expires_on: c.expires_on,
                at: end
            })
        );
        assert_eq!(
            Policy::default().check_time(&c, start),
            Err(Error::DocumentNotYetValid {
                created_on: c.created_on,
                at: start
            })
        );
        let old = forever.clone().with_max_age(Duration::MAX);
        assert_eq!(old.check_time(&c, end), Ok(()));
    }
}
