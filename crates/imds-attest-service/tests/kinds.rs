//! The kinds the service answers are documented and mean one thing each: every one is in the
//! README's kinds table, and none of the service's own is a library kind's name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use imds_attest::ErrorKind;
use imds_attest_service::HttpErrorKind;

/// Every kind the service can answer: its own, and the library's (the verifier's verdicts,
/// the store's failures, a body over `max_body_bytes`).
fn answered() -> impl Iterator<Item = &'static str> {
    let own = HttpErrorKind::ALL.into_iter().map(HttpErrorKind::as_str);
    own.chain(ErrorKind::ALL.into_iter().map(ErrorKind::as_str))
}

/// The first column of the README's "Errors and their kinds" table, in its order.
fn readme_kinds() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let text = std::fs::read_to_string(path).expect("the repository's README.md");
    let (_, section) = text
        .split_once("### Errors and their kinds")
        .expect("the README's kinds section");
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.strip_prefix("| `")?.split_once('`'))
        .map(|(kind, _)| kind.to_owned())
        .collect()
}

#[test]
fn every_kind_the_service_answers_is_in_the_readme_kinds_table() {
    let table = readme_kinds();
    let missing: Vec<&str> = answered()
        .filter(|kind| !table.iter().any(|row| row == kind))
        .collect();
    assert!(
        missing.is_empty(),
        "add these kinds to the README's kinds table: {missing:?}"
    );
}

#[test]
fn each_kind_has_one_row_in_the_readme_kinds_table() {
    let table = readme_kinds();
    let mut seen = std::collections::BTreeSet::new();
    let twice: Vec<&String> = table.iter().filter(|kind| !seen.insert(*kind)).collect();
    assert!(
        twice.is_empty(),
        "kinds with two rows (two meanings): {twice:?}"
    );
}

#[test]
fn no_service_kind_is_a_library_kind_with_another_meaning() {
    // A service kind with a library kind's name would be that name with a second meaning;
    // a failure that means the same (a body over the limit) takes the library's kind instead.
    let clashing: Vec<HttpErrorKind> = HttpErrorKind::ALL
        .into_iter()
        .filter(|kind| kind.as_str().parse::<ErrorKind>().is_ok())
        .collect();
    assert!(
        clashing.is_empty(),
        "service kinds named as library kinds: {clashing:?}"
    );
}
