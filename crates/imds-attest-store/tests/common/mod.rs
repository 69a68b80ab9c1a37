//! What the store's tests share: the instant their stores live at, and SQLite URLs.
// Each test binary uses part of it.
#![allow(dead_code)]

use std::path::Path;

use time::macros::datetime;
use time::OffsetDateTime;

/// The instant the tests' nonces are issued and redeemed at (the stores take the time as an
/// argument; no test reads the clock for it).
pub const T0: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);

/// The URL of a SQLite store in the file `path`.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}
