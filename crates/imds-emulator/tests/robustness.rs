//! The emulator never falls over: every admin and config number has a range, refused by name
//! (400 over HTTP, an error naming the field from a config file); no body, however odd, panics
//! a request or leaves an endpoint broken; and the PKI's keys are its user's alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use imds_attest_testpki::temp;
use imds_emulator::{Background, Chain, Config, Faults, VmIdentity};
use proptest::prelude::*;
use proptest::test_runner::{Config as Cases, TestRunner};
use serde_json::Value;

mod common;
use common::{start, Running, MD};

const EVENTS: &str = "/metadata/scheduledevents?api-version=2020-07-01";
const DOCUMENT: &str = "/metadata/attested/document?api-version=2021-02-01";

fn post(r: &Running, path: &str, body: &str) -> (u16, String) {
    r.raw(reqwest::Method::POST, path, &[], Some(body))
}

/// The endpoints that broke still answer 200.
fn assert_still_answers(r: &Running) {
    let (status, body) = r.get(EVENTS, &[MD]);
    assert_eq!(status, 200, "{body}");
    let events: Value = serde_json::from_str(&body).unwrap();
    assert!(events["Events"].is_array(), "{body}");
    let (status, body) = r.get(DOCUMENT, &[MD]);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn refuses_the_event_numbers_that_once_panicked_every_request_naming_the_field_and_range() {
    let r = start(|_| {});
    for (field, body) in [
        (
            "durationSeconds",
            r#"{"eventType":"Reboot","durationSeconds":18446744073709551615}"#,
        ),
        (
            "notBeforeSeconds",
            r#"{"eventType":"Reboot","notBeforeSeconds":18446744073709551615}"#,
        ),
        (
            "notBeforeSeconds",
            r#"{"eventType":"Reboot","notBeforeSeconds":31536001}"#,
        ),
        (
            "durationSeconds",
            r#"{"eventType":"Reboot","durationSeconds":-1}"#,
        ),
        (
            "durationSeconds",
            r#"{"eventType":"Reboot","durationSeconds":1e30}"#,
        ),
    ] {
        let (status, answer) = post(&r, "/admin/scheduled-events", body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer.contains(field) && answer.contains("from 0 to 31536000"),
            "{body}: {answer}"
        );
    }
    assert_still_answers(&r);
}

/// A loop of injections cannot grow the emulator without bound: past the most a schedule
/// holds, an injection is a 400 naming the limit, and the emulator still answers.
#[test]
fn injected_events_past_the_most_a_schedule_holds_are_refused() {
    let r = start(|_| {});
    let body = r#"{"eventType":"Freeze","notBeforeSeconds":3600}"#;
    for i in 0..imds_emulator::MAX_SCHEDULED_EVENTS {
        let (status, answer) = post(&r, "/admin/scheduled-events", body);
        assert_eq!(status, 200, "event {i}: {answer}");
    }
    let (status, answer) = post(&r, "/admin/scheduled-events", body);
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains(&format!(
            "holds {} events, the most it keeps",
            imds_emulator::MAX_SCHEDULED_EVENTS
        )),
        "{answer}"
    );
    assert_still_answers(&r);
}

#[test]
fn events_at_the_ends_of_their_ranges_and_of_the_time_scale_still_answer() {
    for scale in [0.001, 1_000_000.0] {
        let r = start(|c| c.time_scale = scale);
        let body =
            r#"{"eventType":"Freeze","notBeforeSeconds":31536000,"durationSeconds":31536000}"#;
        let (status, answer) = post(&r, "/admin/scheduled-events", body);
        assert_eq!(status, 200, "{answer}");
        let id = serde_json::from_str::<Value>(&answer).unwrap()["EventId"].clone();
        let approve = format!(r#"{{"StartRequests":[{{"EventId":{id}}}]}}"#);
        std::thread::sleep(Duration::from_millis(210));
        let (status, answer) = r.raw(reqwest::Method::POST, EVENTS, &[MD], Some(&approve));
        assert_eq!(status, 200, "{answer}");
        assert_still_answers(&r);
    }
}

#[test]
fn refuses_fault_numbers_out_of_range_naming_the_field_and_range() {
    let r = start(|_| {});
    for (body, says) in [
        (r#"{"failStatus":200,"failCount":1}"#, "failStatus must be"),
        (
            r#"{"failStatus":429,"failCount":1000001}"#,
            "failCount must be an integer from 0 to 1000000",
        ),
        (
            r#"{"retryAfter":86401}"#,
            "retryAfter must be an integer from 0 to 86400",
        ),
        (
            r#"{"latencyMs":18446744073709551615}"#,
            "latencyMs must be an integer from 0 to 60000",
        ),
        (
            r#"{"staleCount":-1}"#,
            "staleCount must be an integer from 0 to 1000000",
        ),
        (
            r#"{"failStatus":418}"#,
            "failStatus must be one of 410, 429, 500 or 503",
        ),
    ] {
        let (status, answer) = post(&r, "/admin/faults", body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer.contains(says), "{body}: {answer}");
    }
    assert_still_answers(&r);
}

#[test]
fn config_file_numbers_out_of_range_are_refused_naming_the_field_and_range() {
    for (json, says) in [
        (
            r#"{"scheduledEvents":[{"eventType":"Reboot","notBeforeSeconds":99999999999}]}"#,
            "notBeforeSeconds must be an integer from 0 to 31536000",
        ),
        (
            r#"{"scheduledEvents":[{"eventType":"Reboot","durationSeconds":1.5}]}"#,
            "durationSeconds must be an integer from 0 to 31536000",
        ),
        (
            r#"{"loadBalancer":{"inboundRules":[{"frontendPort":70000}]}}"#,
            "frontendPort must be an integer from 0 to 65535",
        ),
    ] {
        let e = VmIdentity::from_json(json).unwrap_err();
        assert!(e.contains(says), "{json}: {e}");
    }
    let toml = "[[scheduledEvents]]\neventType = \"Freeze\"\ndurationSeconds = -5\n";
    let e = VmIdentity::from_toml(toml).unwrap_err();
    assert!(
        e.contains("durationSeconds must be an integer from 0 to 31536000"),
        "{e}"
    );
}

#[test]
fn a_configuration_built_in_code_is_checked_too() {
    let dir = temp::dir();
    let refused = |edit: &dyn Fn(&mut Config), says: &str| {
        let mut config = Config::new(dir.path().join("pki"));
        edit(&mut config);
        let e = Background::start(config).err().unwrap();
        assert!(e.contains(says), "{e}");
    };
    refused(
        &|c| c.time_scale = 0.0,
        "time scale must be a number from 0.001 to 1000000",
    );
    refused(&|c| c.time_scale = 1e300, "time scale");
    refused(&|c| c.time_scale = f64::NAN, "time scale");
    refused(
        &|c| {
            c.faults = Faults {
                latency_ms: u64::MAX,
                ..Faults::default()
            }
        },
        "latencyMs",
    );
    refused(
        &|c| {
            c.vm.scheduled_events = serde_json::from_str(r#"[{"eventType":"Freeze"}]"#).unwrap();
            c.vm.scheduled_events[0].duration_seconds = u64::MAX;
        },
        "durationSeconds",
    );
}

/// One JSON number, as its text: any integer, float, or one past what the parsers hold.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        (0u64..100_000).prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        prop::sample::select(vec![
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "1e400",
            "-0",
            "0.5",
            "31536000",
            "31536001",
            "60000",
            "429",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Any JSON value a field might be given.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => number(),
        1 => prop::sample::select(vec![
            "null", "true", "\"30\"", "[]", "{}", "[1,2]", "\"Reboot\"", "\"Freeze\"",
        ])
        .prop_map(str::to_owned),
    ]
}

/// An admin body: an object of known (and one unknown) fields, or not an object at all.
fn body() -> impl Strategy<Value = String> {
    let keys = prop::sample::subsequence(
        vec![
            "notBeforeSeconds",
            "durationSeconds",
            "description",
            "eventSource",
            "failStatus",
            "failCount",
            "retryAfter",
            "latencyMs",
            "staleCount",
            "unknown",
        ],
        0..5,
    );
    let event_type = prop::sample::select(vec![
        "\"Freeze\"",
        "\"Reboot\"",
        "\"Redeploy\"",
        "\"Preempt\"",
        "\"Terminate\"",
        "\"Nope\"",
        "7",
    ]);
    let object = (
        proptest::option::of(event_type),
        keys.prop_flat_map(|keys| {
            let n = keys.len();
            (Just(keys), prop::collection::vec(value(), n))
        }),
    )
        .prop_map(|(event_type, (keys, values))| {
            let mut fields: Vec<String> = event_type
                .map(|t| format!("\"eventType\":{t}"))
                .into_iter()
                .collect();
            fields.extend(
                keys.iter()
                    .zip(&values)
                    .map(|(k, v)| format!("\"{k}\":{v}")),
            );
            format!("{{{}}}", fields.join(","))
        });
    prop_oneof![8 => object, 1 => value(), 1 => Just("{\"eventType\":".to_owned())]
}

#[test]
fn no_admin_body_panics_the_emulator_or_breaks_its_endpoints() {
    let r = start(|_| {});
    let mut runner = TestRunner::new(Cases {
        cases: 200,
        failure_persistence: None,
        ..Cases::default()
    });
    let endpoints = prop::sample::select(vec!["/admin/scheduled-events", "/admin/faults"]);
    runner
        .run(&(endpoints, body()), |(path, body)| {
            let (status, answer) = post(&r, path, &body);
            prop_assert!(
                status == 200 || status == 400,
                "{path} {body}: {status} {answer}"
            );
            // Faults that were accepted would refuse the checks below by design.
            let (status, _) = post(&r, "/admin/faults", "{}");
            prop_assert_eq!(status, 200);
            Ok(())
        })
        .unwrap();
    assert_still_answers(&r);
    // Some of the events scheduled are due (notBeforeSeconds 0): the schedule advances.
    std::thread::sleep(Duration::from_millis(1100));
    assert_still_answers(&r);
}

#[test]
fn every_private_key_is_written_readable_by_its_owner_only() {
    let r = start(|c| {
        c.chain = Chain::G2;
        c.rotate_at_start = true;
    });
    let keys: Vec<_> = std::fs::read_dir(&r.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".key.pem"))
        .collect();
    let names: Vec<String> = keys
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "root.key.pem",
        "cross.key.pem",
        "issuing-1.key.pem",
        "issuing-2.key.pem",
        "leaf.key.pem",
        "token.key.pem",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
    for key in &keys {
        let mode = std::fs::metadata(key).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", key.display());
    }
    let mode = std::fs::metadata(&r.dir).unwrap().mode() & 0o777;
    assert_eq!(mode & 0o022, 0, "{mode:o}");
}

#[test]
fn keys_an_older_emulator_left_readable_are_rewritten_0600_when_the_folder_is_reused() {
    let r = start(|_| {});
    let dir = r.dir.clone();
    let pki = r.stop();
    let keys: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".key.pem"))
        .collect();
    assert!(keys.len() >= 4, "{keys:?}");
    for key in &keys {
        std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let root = std::fs::read(dir.join("root.key.pem")).unwrap();
    let emulator = Background::start(Config::new(dir.clone())).unwrap();
    drop(emulator);
    for key in &keys {
        let mode = std::fs::metadata(key).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", key.display());
    }
    assert_eq!(
        std::fs::read(dir.join("root.key.pem")).unwrap(),
        root,
        "the same key"
    );
    drop(pki);
}

#[test]
fn a_new_pki_folder_is_made_0700() {
    let dir = temp::dir();
    let pki = dir.path().join("new").join("pki");
    let emulator = Background::start(Config::new(pki.clone())).unwrap();
    drop(emulator);
    assert_eq!(std::fs::metadata(&pki).unwrap().mode() & 0o777, 0o700);
}

#[test]
fn refuses_a_pki_folder_group_or_others_may_write() {
    for mode in [0o770, 0o707, 0o1777] {
        let dir = temp::dir();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        let e = Background::start(Config::new(dir.path().to_path_buf()))
            .err()
            .unwrap();
        assert!(
            e.contains(&dir.path().display().to_string()) && e.contains("chmod go-w"),
            "{mode:o}: {e}"
        );
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "no key written"
        );
    }
}

#[test]
fn refuses_a_pki_folder_another_user_owns() {
    let dir = temp::dir();
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o755)).unwrap();
    // nobody: the tests run as root, who may give the folder away.
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534))
        .expect("chown to nobody (the tests run as root)");
    let e = Background::start(Config::new(theirs.clone()))
        .err()
        .unwrap();
    assert!(
        e.contains(&theirs.display().to_string()) && e.contains("owned by user 65534"),
        "{e}"
    );
}
