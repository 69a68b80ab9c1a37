//! Scheduled events over loopback: a scenario runs through every state under a time scale,
//! an approval starts an event early, and the incarnation counts every change.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use imds_emulator::{EventSpec, EventType, VmIdentity};
use serde_json::Value;

mod common;
use common::{start, Running, MD};

const EVENTS: &str = "/metadata/scheduledevents?api-version=2020-07-01";

fn spec(event_type: EventType, not_before_seconds: u64, duration_seconds: u64) -> EventSpec {
    EventSpec {
        event_type,
        not_before_seconds,
        duration_seconds,
        description: format!("{event_type:?} for a test"),
        event_source: "Platform".into(),
    }
}

fn document(r: &Running) -> Value {
    let (status, body) = r.get(EVENTS, &[MD]);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Each event's status by id.
fn statuses(doc: &Value) -> BTreeMap<String, String> {
    doc["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["EventId"].as_str().unwrap().to_owned(),
                e["EventStatus"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_scenario_runs_every_event_through_scheduled_started_and_gone_under_the_time_scale() {
    // At 60x: they start at 1 s, 2 s and 3 s and each lasts 1 s.
    let r = start(|c| {
        c.time_scale = 60.0;
        c.vm = VmIdentity {
            scheduled_events: vec![
                spec(EventType::Freeze, 60, 60),
                spec(EventType::Reboot, 120, 60),
                spec(EventType::Redeploy, 180, 60),
            ],
            ..VmIdentity::default()
        };
    });
    let first = document(&r);
    assert_eq!(
        first["DocumentIncarnation"], 3,
        "one change per event added"
    );
    let events = first["Events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    for e in events {
        assert_eq!(e["EventStatus"], "Scheduled");
        assert_eq!(e["ResourceType"], "VirtualMachine");
        assert_eq!(
            e["Resources"],
            serde_json::json!([VmIdentity::default().name])
        );
        assert_eq!(e["DurationInSeconds"], 60);
        assert_eq!(e["EventSource"], "Platform");
        let nb = e["NotBefore"].as_str().unwrap();
        assert!(nb.ends_with(" GMT") && nb.len() == 29, "RFC 1123: {nb}");
    }
    let ids: Vec<String> = events
        .iter()
        .map(|e| e["EventId"].as_str().unwrap().to_owned())
        .collect();

    // The first document showed every event Scheduled (asserted above): that is its first
    // state, even when a loaded machine polls next only after the first one started.
    let mut seen: BTreeMap<String, Vec<String>> = ids
        .iter()
        .map(|id| (id.clone(), vec!["Scheduled".to_owned()]))
        .collect();
    let mut previous = (3, statuses(&first));
    let until = Instant::now() + Duration::from_millis(5500);
    while Instant::now() < until {
        let doc = document(&r);
        let incarnation = doc["DocumentIncarnation"].as_u64().unwrap();
        let now = statuses(&doc);
        for e in doc["Events"].as_array().unwrap() {
            let started = e["EventStatus"] == "Started";
            assert_eq!(e["NotBefore"].as_str().unwrap().is_empty(), started, "{e}");
        }
        if now == previous.1 {
            assert_eq!(incarnation, previous.0, "no change, same incarnation");
        } else {
            assert!(incarnation > previous.0, "a change increments: {doc}");
        }
        for id in &ids {
            let status = now.get(id).cloned().unwrap_or_else(|| "gone".into());
            let history = seen.entry(id.clone()).or_default();
            if history.last() != Some(&status) {
                history.push(status);
            }
        }
        previous = (incarnation, now);
    }
    for id in &ids {
        assert_eq!(seen[id], ["Scheduled", "Started", "gone"], "{id}");
    }
    assert_eq!(previous.0, 9, "3 added + 3 started + 3 ended");
}

#[test]
fn an_approval_starts_an_event_at_once() {
    let r = start(|_| {});
    assert_eq!(
        document(&r),
        serde_json::json!({"DocumentIncarnation": 0, "Events": []})
    );
    let (status, body) = r.raw(
        reqwest::Method::POST,
        "/admin/scheduled-events",
        &[],
        Some(r#"{"eventType":"Reboot","notBeforeSeconds":3600,"durationSeconds":3600}"#),
    );
    assert_eq!(status, 200, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["EventId"]
        .as_str()
        .unwrap()
        .to_owned();
    let doc = document(&r);
    assert_eq!(
        (
            doc["DocumentIncarnation"].as_u64(),
            doc["Events"][0]["EventStatus"].as_str()
        ),
        (Some(1), Some("Scheduled"))
    );

    std::thread::sleep(Duration::from_millis(210));
    let approve = format!(r#"{{"StartRequests":[{{"EventId":"{id}"}}]}}"#);
    let (status, body) = r.raw(reqwest::Method::POST, EVENTS, &[MD], Some(&approve));
    assert_eq!(status, 200, "{body}");
    let doc = document(&r);
    assert_eq!(doc["DocumentIncarnation"], 2);
    assert_eq!(doc["Events"][0]["EventStatus"], "Started");
    assert_eq!(doc["Events"][0]["NotBefore"], "");
}

/// method, path, headers, body, expected status, a piece of the answer.
type Case<'a> = (
    reqwest::Method,
    &'a str,
    Vec<(&'a str, &'a str)>,
    Option<&'a str>,
    u16,
    &'a str,
);

#[test]
fn approvals_and_reads_follow_imds_rules() {
    let r = start(|_| {});
    let cases: Vec<Case> = vec![
        (
            reqwest::Method::POST,
            EVENTS,
            vec![MD],
            Some(r#"{"StartRequests":[{"EventId":"nope"}]}"#),
            400,
            "Event nope is not in the document",
        ),
        (
            reqwest::Method::POST,
            EVENTS,
            vec![MD],
            Some("{}"),
            400,
            "StartRequests",
        ),
        (
            reqwest::Method::POST,
            EVENTS,
            vec![],
            Some(r#"{"StartRequests":[]}"#),
            400,
            "Required metadata header",
        ),
        (
            reqwest::Method::PUT,
            EVENTS,
            vec![MD],
            None,
            405,
            "Method not allowed",
        ),
        (
            reqwest::Method::GET,
            "/metadata/scheduledevents?api-version=2021-02-01",
            vec![MD],
            None,
            400,
            "api-version is invalid",
        ),
        (
            reqwest::Method::GET,
            "/metadata/scheduledevents",
            vec![MD],
            None,
            400,
            "api-version is invalid or was not specified",
        ),
        (
            reqwest::Method::POST,
            "/metadata/instance?api-version=2021-02-01",
            vec![MD],
            None,
            405,
            "Method not allowed",
        ),
    ];
    for (method, path, headers, body, status, needle) in cases {
        std::thread::sleep(Duration::from_millis(210));
        let (got, text) = r.raw(method.clone(), path, &headers, body);
        assert_eq!(got, status, "{method} {path}: {text}");
        assert!(text.contains(needle), "{method} {path}: {text}");
    }
    std::thread::sleep(Duration::from_millis(210));
    let (status, body) = r.raw(
        reqwest::Method::POST,
        "/admin/scheduled-events",
        &[],
        Some(r#"{"eventType":"Explode"}"#),
    );
    assert_eq!(status, 400);
    assert!(body.contains("unknown variant `Explode`"), "{body}");
}
