//! Why the signed claims or their timestamps were refused.

use std::fmt;

/// What is wrong with the signed claims JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimsReason {
    /// Not JSON (the parser's complaint).
    Syntax {
        /// serde_json's message.
        message: String,
    },
    /// JSON but not an object.
    NotObject,
    /// A required field is missing.
    Missing {
        /// The field.
        field: &'static str,
    },
    /// A known field is not a string.
    NotString {
        /// The field.
        field: &'static str,
    },
    /// `plan` is not an object.
    PlanNotObject,
    /// `timeStamp` is missing or not an object.
    NoTimeStamp,
    /// `expiresOn` is earlier than `createdOn`.
    ExpiresBeforeCreated,
}

/// Why a timestamp is malformed or impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampReason {
    /// Not 23 characters.
    Length,
    /// Not `MM/DD/YY HH:MM:SS +HHMM`.
    Format,
    /// No such month.
    Month,
    /// No such day in that month.
    Day,
    /// No such time of day.
    TimeOfDay,
    /// An offset out of range.
    Offset,
}

impl fmt::Display for ClaimsReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimsReason::Syntax { message } => f.write_str(message),
            ClaimsReason::NotObject => f.write_str("the content is not a JSON object"),
            ClaimsReason::Missing { field } => write!(f, "{field:?} is missing"),
            ClaimsReason::NotString { field } => write!(f, "{field:?} is not a string"),
            ClaimsReason::PlanNotObject => f.write_str("\"plan\" is not an object"),
            ClaimsReason::NoTimeStamp => f.write_str("\"timeStamp\" is missing or not an object"),
            ClaimsReason::ExpiresBeforeCreated => {
                f.write_str("timeStamp.expiresOn is earlier than createdOn")
            }
        }
    }
}

impl fmt::Display for TimestampReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimestampReason::Length => "wrong length",
            TimestampReason::Format => "wrong format",
            TimestampReason::Month => "month out of range",
            TimestampReason::Day => "no such day in that month",
            TimestampReason::TimeOfDay => "no such time of day",
            TimestampReason::Offset => "offset out of range",
        })
    }
}
