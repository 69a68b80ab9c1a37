//! The clock, read in one place.

use time::{Duration, OffsetDateTime};

/// The current time, to the second: documents carry whole seconds, and an instant with a
/// fraction would make `createdOn` look a fraction of a second in the future.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - Duration::nanoseconds(now.nanosecond().into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_has_no_fraction_of_a_second() {
        assert_eq!(super::now().nanosecond(), 0);
    }
}
