//! Property tests for the signer-name matcher and the timestamp parser.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use imds_attest::{parse_timestamp, Cloud};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

fn cloud() -> impl Strategy<Value = Cloud> {
    prop::sample::select(Cloud::ALL.to_vec())
}

/// Flips the case of the letters where `mask` has a bit set.
fn recase(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

proptest! {
    #[test]
    fn subdomains_match_in_any_case(c in cloud(), labels in "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,20}){0,3}", mask: u64) {
        let name = format!("{labels}.{}", c.domain());
        prop_assert!(c.matches(&recase(&name, mask)), "{}", name);
        prop_assert_eq!(Cloud::of_name(&name, &Cloud::ALL), Some(c));
    }

    #[test]
    fn names_without_a_label_boundary_never_match(c in cloud(), prefix in "[a-z0-9-]{1,20}", suffix in "[a-z0-9.-]{1,20}") {
        let glued = format!("{prefix}{}", c.domain()); // "evilmetadata.azure.com"
        let extended = format!("{}{suffix}", c.domain()); // "metadata.azure.com.evil"
        prop_assert!(!c.matches(&glued), "{}", glued);
        prop_assert!(!c.matches(&extended), "{}", extended);
    }

    #[test]
    fn matcher_agrees_with_its_definition(c in cloud(), name in ".{0,60}") {
        let lower = name.to_ascii_lowercase();
        let domain = c.domain();
        let expected = lower == domain
            || (lower.len() > domain.len() + 1 && lower.ends_with(&format!(".{domain}")));
        prop_assert_eq!(c.matches(&name), expected);
    }

    #[test]
    fn timestamps_round_trip_for_every_instant_and_offset(
        secs in 946_684_800i64..4_102_444_799, // 2000-01-01 .. 2099-12-31
        offset_minutes in -(23 * 60 + 59)..=(23 * 60 + 59i32),
    ) {
        let utc = OffsetDateTime::from_unix_timestamp(secs).unwrap();
        let local = utc + Duration::minutes(offset_minutes.into());
        prop_assume!((2000..=2099).contains(&local.year()));
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let text = format!(
            "{:02}/{:02}/{:02} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            u8::from(local.month()), local.day(), local.year() % 100,
            local.hour(), local.minute(), local.second(),
            offset_minutes.abs() / 60, offset_minutes.abs() % 60,
        );
        prop_assert_eq!(parse_timestamp("createdOn", &text).unwrap(), utc, "{}", text);
    }

    #[test]
    fn timestamp_parser_never_panics_and_rejects_every_other_shape(text in ".{0,40}") {
        let shaped = text.len() == 23 && text.bytes().enumerate().all(|(i, c)| match i {
            2 | 5 => c == b'/',
            8 | 17 => c == b' ',
            11 | 14 => c == b':',
            18 => c == b'+' || c == b'-',
            _ => c.is_ascii_digit(),
        });
        if !shaped {
            prop_assert!(parse_timestamp("expiresOn", &text).is_err());
        }
    }
}
