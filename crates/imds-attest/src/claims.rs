//! The claims in a document's signed JSON content, and its timestamps.
//!
//! ```text
//! {"licenseType":"","nonce":"20251119-185330","plan":{"name":"","product":"","publisher":""},
//!  "sku":"","subscriptionId":"...","timeStamp":{"createdOn":"11/19/25 12:53:30 -0000",
//!  "expiresOn":"11/19/25 18:53:30 -0000"},"vmId":"..."}
//! ```
//! Older api-versions omit `licenseType`, `sku` and `subscriptionId`.

use serde::Serialize;
use serde_json::{Map, Value};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::error::{ClaimsReason, Error, TimestampReason};
use crate::strict_json::{self, JsonError, Object};

/// The claims IMDS signed: which VM, subscription and plan, the nonce, and the validity window.
///
/// Serialises under the document's own names, with `timeStamp` times in RFC 3339 (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claims {
    /// The VM's unique id (`vmId`).
    pub vm_id: String,
    /// The Azure subscription (`subscriptionId`; newer api-versions only).
    pub subscription_id: Option<String>,
    /// The image SKU (`sku`; newer api-versions only).
    pub sku: Option<String>,
    /// The licence type, e.g. `Windows_Server` (`licenseType`; newer api-versions only).
    pub license_type: Option<String>,
    /// The Marketplace plan (`plan`); `None` when the document has none, or only the empty
    /// plan IMDS gives a non-Marketplace image.
    pub plan: Option<Plan>,
    /// The nonce the VM asked for, or IMDS's timestamp default (`nonce`).
    pub nonce: String,
    /// When IMDS created the document (`timeStamp.createdOn`).
    pub created_on: OffsetDateTime,
    /// When the document expires (`timeStamp.expiresOn`).
    pub expires_on: OffsetDateTime,
    /// Fields this version does not know, kept as they were.
    pub other: Map<String, Value>,
    /// The document holds the all-empty plan (serialised back as it was).
    empty_plan: bool,
}

impl Serialize for Claims {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeMap};
        let time = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .map_err(S::Error::custom)
        };
        let mut map = serializer.serialize_map(None)?;
        // Unknown fields first, so that a known name can never be shadowed by one.
        for (k, v) in &self.other {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("vmId", &self.vm_id)?;
        let optional = [
            ("subscriptionId", &self.subscription_id),
            ("sku", &self.sku),
            ("licenseType", &self.license_type),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                map.serialize_entry(key, value)?;
            }
        }
        match (&self.plan, self.empty_plan) {
            (Some(plan), _) => map.serialize_entry("plan", plan)?,
            (None, true) => map.serialize_entry("plan", &Plan::default())?,
            (None, false) => {}
        }
        map.serialize_entry("nonce", &self.nonce)?;
        let stamp = serde_json::json!({
            "createdOn": time(self.created_on)?,
            "expiresOn": time(self.expires_on)?,
        });
        map.serialize_entry("timeStamp", &stamp)?;
        map.end()
    }
}

/// The Marketplace plan of the VM's image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// Plan name.
    pub name: String,
    /// Offer (product) name.
    pub product: String,
    /// Publisher id.
    pub publisher: String,
}

impl Claims {
    /// Parses the signed content. Refuses duplicate keys, a missing `vmId`, `nonce` or
    /// `timeStamp`, wrongly typed known fields and impossible timestamps.
    pub(crate) fn parse(content: &[u8]) -> Result<Claims, Error> {
        // The whole content is read before any field is judged: a syntax error or a key given
        // twice anywhere is the error, whatever the fields before it hold.
        let object = strict_json::parse_object(content, &FIELDS).map_err(|e| match e {
            JsonError::DuplicateKey(key) => Error::DuplicateKey { key },
            JsonError::Syntax(message) => claims_error(ClaimsReason::Syntax { message }),
        })?;
        let Object::Fields { known, other } = object else {
            return Err(claims_error(ClaimsReason::NotObject));
        };
        let [vm_id, nonce, subscription_id, sku, license_type, plan, stamp] = known;
        let vm_id = required_string("vmId", vm_id)?;
        let nonce = required_string("nonce", nonce)?;
        let subscription_id = optional_string("subscriptionId", subscription_id)?;
        let sku = optional_string("sku", sku)?;
        let license_type = optional_string("licenseType", license_type)?;
        let plan = match plan {
            None => None,
            Some(Value::Object(mut plan)) => Some(Plan {
                name: required_string("name", plan.remove("name"))?,
                product: required_string("product", plan.remove("product"))?,
                publisher: required_string("publisher", plan.remove("publisher"))?,
            }),
            Some(_) => return Err(claims_error(ClaimsReason::PlanNotObject)),
        };
        let empty_plan = plan.as_ref().is_some_and(|p| *p == Plan::default());
        let plan = plan.filter(|_| !empty_plan);
        let Some(Value::Object(mut stamp)) = stamp else {
            return Err(claims_error(ClaimsReason::NoTimeStamp));
        };
        let created_on = parse_timestamp(
            "createdOn",
            &required_string("createdOn", stamp.remove("createdOn"))?,
        )?;
        let expires_on = parse_timestamp(
            "expiresOn",
            &required_string("expiresOn", stamp.remove("expiresOn"))?,
        )?;
        if expires_on < created_on {
            return Err(claims_error(ClaimsReason::ExpiresBeforeCreated));
        }
        Ok(Claims {
            vm_id,
            subscription_id,
            sku,
            license_type,
            plan,
            nonce,
            created_on,
            expires_on,
            other,
            empty_plan,
        })
    }
}

/// The top-level fields read into [`Claims`], in the order [`Claims::parse`] destructures them.
const FIELDS: [&str; 7] = [
    "vmId",
    "nonce",
    "subscriptionId",
    "sku",
    "licenseType",
    "plan",
    "timeStamp",
];

fn claims_error(reason: ClaimsReason) -> Error {
    Error::Claims { reason }
}

fn required_string(field: &'static str, value: Option<Value>) -> Result<String, Error> {
    optional_string(field, value)?.ok_or(claims_error(ClaimsReason::Missing { field }))
}

fn optional_string(field: &'static str, value: Option<Value>) -> Result<Option<String>, Error> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(claims_error(ClaimsReason::NotString { field })),
    }
}

/// Parses IMDS's `MM/DD/YY HH:MM:SS +HHMM` (two-digit years are 20YY) into a UTC instant.
///
/// ```
/// let t = imds_attest::parse_timestamp("createdOn", "11/19/25 12:53:30 -0000").unwrap();
/// assert_eq!(t.unix_timestamp(), 1_763_556_810);
/// ```
pub fn parse_timestamp(field: &'static str, text: &str) -> Result<OffsetDateTime, Error> {
    let fail = |reason| Error::Timestamp {
        field,
        value: text.to_owned(),
        reason,
    };
    let b = text.as_bytes();
    if b.len() != 23 {
        return Err(fail(TimestampReason::Length));
    }
    let shape_ok = b.iter().enumerate().all(|(i, &c)| match i {
        2 | 5 => c == b'/',
        8 | 17 => c == b' ',
        11 | 14 => c == b':',
        18 => c == b'+' || c == b'-',
        _ => c.is_ascii_digit(),
    });
    if !shape_ok {
        return Err(fail(TimestampReason::Format));
    }
    let num = |at: usize| -> u8 {
        let digit = |i: usize| b.get(i).map_or(0, |c| c.wrapping_sub(b'0'));
        digit(at) * 10 + digit(at + 1)
    };
    let month = Month::try_from(num(0)).map_err(|_| fail(TimestampReason::Month))?;
    let year = 2000 + i32::from(num(6));
    let date =
        Date::from_calendar_date(year, month, num(3)).map_err(|_| fail(TimestampReason::Day))?;
    let clock =
        Time::from_hms(num(9), num(12), num(15)).map_err(|_| fail(TimestampReason::TimeOfDay))?;
    let sign: i8 = if b.get(18) == Some(&b'-') { -1 } else { 1 };
    let (off_h, off_m) = (num(19), num(21));
    if off_h > 23 || off_m > 59 {
        return Err(fail(TimestampReason::Offset));
    }
    // Both fit in i8 after the range check.
    let offset = UtcOffset::from_hms(sign * off_h as i8, sign * off_m as i8, 0)
        .map_err(|_| fail(TimestampReason::Offset))?;
    Ok(PrimitiveDateTime::new(date, clock)
        .assume_offset(offset)
        .to_offset(UtcOffset::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use time::macros::datetime;

    #[test]
    fn parses_timestamps_with_any_numeric_offset() {
        let cases = [
            (
                "11/19/25 12:53:30 -0000",
                datetime!(2025-11-19 12:53:30 UTC),
            ),
            (
                "01/04/21 19:55:34 +0000",
                datetime!(2021-01-04 19:55:34 UTC),
            ),
            (
                "02/29/24 23:59:59 +0130",
                datetime!(2024-02-29 22:29:59 UTC),
            ),
            (
                "12/31/99 23:00:00 -0100",
                datetime!(2100-01-01 00:00:00 UTC),
            ),
            (
                "01/01/00 00:00:00 +0000",
                datetime!(2000-01-01 00:00:00 UTC),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_timestamp("createdOn", text).ok(),
                Some(want),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_impossible_or_malformed_timestamps() {
        let cases = [
            ("02/30/25 00:00:00 -0000", TimestampReason::Day),
            ("02/29/25 00:00:00 -0000", TimestampReason::Day),
            ("13/01/25 00:00:00 -0000", TimestampReason::Month),
            ("00/01/25 00:00:00 -0000", TimestampReason::Month),
            ("01/01/25 24:00:00 -0000", TimestampReason::TimeOfDay),
            ("01/01/25 23:60:00 -0000", TimestampReason::TimeOfDay),
            ("01/01/25 23:00:60 -0000", TimestampReason::TimeOfDay),
            ("01/01/25 23:00:00 -2400", TimestampReason::Offset),
            ("01/01/25 23:00:00 -0060", TimestampReason::Offset),
            ("1/1/25 23:00:00 -0000", TimestampReason::Length),
            ("2025-01-01T00:00:00Z", TimestampReason::Length),
            ("01-01-25 23:00:00 -0000", TimestampReason::Format),
            ("01/01/25 23:00:00 Z0000", TimestampReason::Format),
            ("01/01/2５ 3:00:00 -0000", TimestampReason::Length),
            ("", TimestampReason::Length),
        ];
        for (text, reason) in cases {
            assert_eq!(
                parse_timestamp("expiresOn", text),
                Err(Error::Timestamp {
                    field: "expiresOn",
                    value: text.to_owned(),
                    reason,
                }),
                "{text}"
            );
        }
    }

    const GOOD: &str = r#"{"licenseType":"","nonce":"n1","plan":{"name":"p","product":"o","publisher":"x"},"sku":"s","subscriptionId":"sub","timeStamp":{"createdOn":"11/19/25 12:53:30 -0000","expiresOn":"11/19/25 18:53:30 -0000"},"vmId":"vm","future":{"a":1}}"#;

    #[test]
    fn parses_all_fields_and_keeps_unknown_ones() {
        let c = Claims::parse(GOOD.as_bytes());
        let Ok(c) = c else { panic!("{c:?}") };
        assert_eq!(c.vm_id, "vm");
        assert_eq!(c.subscription_id.as_deref(), Some("sub"));
        assert_eq!(c.license_type.as_deref(), Some(""));
        assert_eq!(c.plan.as_ref().map(|p| p.product.as_str()), Some("o"));
        assert_eq!(c.expires_on - c.created_on, time::Duration::hours(6));
        assert_eq!(c.other.get("future"), Some(&serde_json::json!({"a":1})));
        let json = serde_json::to_value(&c).ok();
        let want = serde_json::json!({
            "future": {"a": 1}, "vmId": "vm", "subscriptionId": "sub", "sku": "s",
            "licenseType": "", "plan": {"name": "p", "product": "o", "publisher": "x"},
            "nonce": "n1",
            "timeStamp": {"createdOn": "2025-11-19T12:53:30Z", "expiresOn": "2025-11-19T18:53:30Z"},
        });
        assert_eq!(json, Some(want));
    }

    #[test]
    fn an_all_empty_plan_is_none_but_serialises_as_the_document_has_it() {
        let content = GOOD.replace(
            r#"{"name":"p","product":"o","publisher":"x"}"#,
            r#"{"name":"","product":"","publisher":""}"#,
        );
        let c = Claims::parse(content.as_bytes());
        let Ok(c) = c else { panic!("{c:?}") };
        assert_eq!(c.plan, None);
        let json = serde_json::to_value(&c).ok();
        assert_eq!(
            json.as_ref().and_then(|j| j.get("plan")),
            Some(&serde_json::json!({"name": "", "product": "", "publisher": ""}))
        );
        // A plan with any field set is kept, and a document without one has none.
        let partial = GOOD.replace(r#""name":"p""#, r#""name":"""#);
        let c = Claims::parse(partial.as_bytes());
        assert!(c.is_ok_and(|c| c.plan.is_some_and(|p| p.product == "o")));
        let none = GOOD.replace(r#""plan":{"name":"p","product":"o","publisher":"x"},"#, "");
        let c = Claims::parse(none.as_bytes());
        let Ok(c) = c else { panic!("{c:?}") };
        assert_eq!(c.plan, None);
        assert_eq!(
            serde_json::to_value(&c)
                .ok()
                .and_then(|j| j.get("plan").cloned()),
            None
        );
    }

    #[test]
    fn rejects_malformed_claims_with_their_reason() {
        let cases: &[(&str, ErrorKind)] = &[
            (
                r#"{"nonce":"a","nonce":"b","vmId":"v"}"#,
                ErrorKind::DuplicateKey,
            ),
            (
                r#"{"vmId":"v","timeStamp":{"createdOn":"11/19/25 12:53:30 -0000","expiresOn":"11/19/25 18:53:30 -0000"}}"#,
                ErrorKind::Claims,
            ),
            (r#"{"vmId":"v","nonce":"n"}"#, ErrorKind::Claims),
            (
                r#"{"nonce":"n","timeStamp":{"createdOn":"11/19/25 12:53:30 -0000","expiresOn":"11/19/25 18:53:30 -0000"}}"#,
                ErrorKind::Claims,
            ),
            (r#"{"vmId":1,"nonce":"n"}"#, ErrorKind::Claims),
            (
                r#"{"vmId":"v","nonce":"n","plan":"x","timeStamp":{}}"#,
                ErrorKind::Claims,
            ),
            (
                r#"{"vmId":"v","nonce":"n","timeStamp":{"createdOn":"11/19/25 12:53:30 -0000","expiresOn":"11/19/25 11:53:30 -0000"}}"#,
                ErrorKind::Claims,
            ),
            (
                r#"{"vmId":"v","nonce":"n","timeStamp":{"createdOn":"02/30/25 12:53:30 -0000","expiresOn":"11/19/25 11:53:30 -0000"}}"#,
                ErrorKind::Timestamp,
            ),
            (r#"[]"#, ErrorKind::Claims),
            // The whole content is read first: a key given twice after a wrongly typed field,
            // or inside a field the verifier does not know, is still the error.
            (
                r#"{"vmId":1,"nonce":"a","nonce":"b"}"#,
                ErrorKind::DuplicateKey,
            ),
            (
                r#"{"vmId":"v","future":{"k":1,"k":2},"nonce":"n"}"#,
                ErrorKind::DuplicateKey,
            ),
            (
                r#"{"vmId":"v","future":1,"future":1,"nonce":"n"}"#,
                ErrorKind::DuplicateKey,
            ),
            (
                r#"{"plan":{"name":"a","name":"b"},"vmId":"v","nonce":"n"}"#,
                ErrorKind::DuplicateKey,
            ),
            (r#"[{"k":1,"k":2}]"#, ErrorKind::DuplicateKey),
        ];
        for (json, kind) in cases {
            match Claims::parse(json.as_bytes()) {
                Err(e) => assert_eq!(e.kind(), *kind, "{json}: {e}"),
                Ok(c) => panic!("{json}: accepted {c:?}"),
            }
        }
    }

    #[test]
    fn rejects_invalid_utf8_content() {
        let r = Claims::parse(b"{\"vmId\":\"v\xff\"}");
        assert!(
            matches!(r, Err(Error::Claims { reason: ClaimsReason::Syntax { ref message } }) if message.contains("invalid unicode")),
            "{r:?}"
        );
    }
}
