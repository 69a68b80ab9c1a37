//! The ranges of the numbers the admin endpoints and the config take. A number outside its
//! range is refused with its field and range named, so that no request or config file can make
//! the emulator's time arithmetic overflow (a panic, or a schedule that never answers again).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// The integers a field takes, inclusive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    field: &'static str,
    min: u64,
    max: u64,
}

/// A year, in seconds: the longest offset or duration of a scheduled event.
pub(crate) const YEAR_SECONDS: u64 = 365 * 86_400;

impl Range {
    /// `field` takes `min..=max`.
    pub(crate) const fn new(field: &'static str, min: u64, max: u64) -> Range {
        Range { field, min, max }
    }

    /// `value` if it is in range; the error naming the field and its range otherwise.
    pub(crate) fn check<T: Copy + Into<u64>>(&self, value: T) -> Result<T, String> {
        let wide: u64 = value.into();
        if (self.min..=self.max).contains(&wide) {
            Ok(value)
        } else {
            Err(self.refusal(&wide.to_string()))
        }
    }

    /// Deserialises the field: any number (or the wrong type) is read, and refused unless it is
    /// an integer in range, so that the error names the field (serde's would not).
    pub(crate) fn deserialize<'de, D, T>(&self, d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<u64>,
    {
        let value = d.deserialize_any(Ranged(*self))?;
        T::try_from(value).map_err(|_| de::Error::custom(self.refusal(&value.to_string())))
    }

    /// As [`Range::deserialize`], for a field that may be absent or null.
    pub(crate) fn deserialize_option<'de, D, T>(&self, d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<u64>,
    {
        match d.deserialize_option(Optional(*self))? {
            None => Ok(None),
            Some(value) => T::try_from(value)
                .map(Some)
                .map_err(|_| de::Error::custom(self.refusal(&value.to_string()))),
        }
    }

    fn refusal(&self, value: &str) -> String {
        format!(
            "{} must be an integer from {} to {}, not {value}",
            self.field, self.min, self.max
        )
    }

    fn take<E: de::Error>(&self, value: i128) -> Result<u64, E> {
        u64::try_from(value)
            .ok()
            .filter(|v| (self.min..=self.max).contains(v))
            .ok_or_else(|| E::custom(self.refusal(&value.to_string())))
    }
}

/// Reads any integer (or a float with no fraction) and checks it against the range.
struct Ranged(Range);

impl<'de> Visitor<'de> for Ranged {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{}: an integer from {} to {}",
            self.0.field, self.0.min, self.0.max
        )
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        self.0.take(i128::from(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        self.0.take(i128::from(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<u64, E> {
        self.0.take(i128::try_from(v).unwrap_or(i128::MAX))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<u64, E> {
        self.0.take(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        // 30.0 is 30; 1.5, NaN and 1e300 are refused by name.
        if v.fract() == 0.0 && v >= 0.0 && v <= self.0.max as f64 {
            self.0.take(v as i128)
        } else {
            Err(E::custom(self.0.refusal(&v.to_string())))
        }
    }
}

/// [`Ranged`] for an optional field: null is None.
struct Optional(Range);

impl<'de> Visitor<'de> for Optional {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        Ranged(self.0).expecting(f)?;
        f.write_str(" or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(Ranged(self.0)).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Range = Range::new("n", 1, 10);

    fn parse(text: &str) -> Result<Option<u32>, String> {
        let mut d = serde_json::Deserializer::from_str(text);
        R.deserialize_option(&mut d).map_err(|e| e.to_string())
    }

    #[test]
    fn refuses_out_of_range_and_non_integers_naming_the_field_and_range() {
        for text in [
            "0",
            "11",
            "-1",
            "1.5",
            "18446744073709551615",
            "1e300",
            "\"3\"",
        ] {
            let e = parse(text).err().unwrap_or_default();
            assert!(e.contains("n") && e.contains("from 1 to 10"), "{text}: {e}");
        }
    }

    #[test]
    fn reads_integers_in_range_and_null() {
        assert_eq!(parse("10"), Ok(Some(10)));
        assert_eq!(parse("3.0"), Ok(Some(3)));
        assert_eq!(parse("null"), Ok(None));
    }
}
