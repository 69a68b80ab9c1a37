//! The api-versions of today over loopback: the list Microsoft documents, each endpoint at the
//! newest, and the version error as IMDS writes it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;

mod common;
use common::{start, MD};

/// The "Supported API versions" of Microsoft's IMDS article (MicrosoftDocs/azure-compute-docs,
/// `articles/virtual-machines/instance-metadata-service.md`), newest first as it lists them.
const DOCUMENTED: &[&str] = &[
    "2025-04-07",
    "2024-07-17",
    "2024-03-15",
    "2023-11-15",
    "2023-07-01",
    "2021-12-13",
    "2021-11-15",
    "2021-11-01",
    "2021-10-01",
    "2021-08-01",
    "2021-05-01",
    "2021-03-01",
    "2021-02-01",
    "2021-01-01",
    "2020-12-01",
    "2020-10-01",
    "2020-09-01",
    "2020-07-15",
    "2020-06-01",
    "2019-11-01",
    "2019-08-15",
    "2019-08-01",
    "2019-06-04",
    "2019-06-01",
    "2019-04-30",
    "2019-03-11",
    "2019-02-01",
    "2018-10-01",
    "2018-04-02",
    "2018-02-01",
    "2017-12-01",
    "2017-10-01",
    "2017-08-01",
    "2017-04-02",
    "2017-03-01",
];

#[test]
fn metadata_versions_lists_the_documented_versions() {
    let r = start(|_| {});
    let (status, body) = r.get("/metadata/versions", &[MD]);
    assert_eq!(status, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).unwrap();
    let mut expected: Vec<&str> = DOCUMENTED.to_vec();
    expected.reverse();
    assert_eq!(listed, serde_json::json!({ "apiVersions": expected }));
    assert_eq!(imds_emulator::API_VERSIONS, expected.as_slice());
}

#[test]
fn every_endpoint_answers_the_newest_version() {
    let r = start(|_| {});
    let v = "2025-04-07";
    let arm = "https%3A%2F%2Fmanagement.azure.com%2F";
    for (path, status) in [
        (
            format!("/metadata/attested/document?api-version={v}&nonce=abc123"),
            200,
        ),
        (format!("/metadata/instance?api-version={v}"), 200),
        (
            format!("/metadata/instance/compute/userData?api-version={v}&format=text"),
            200,
        ),
        (
            format!("/metadata/identity/oauth2/token?api-version={v}&resource={arm}"),
            200,
        ),
        // Served, and 404 since this VM has no load balancer.
        (format!("/metadata/loadbalancer?api-version={v}"), 404),
        // Scheduled events keep their own versions: 2020-07-01 is still their newest.
        (format!("/metadata/scheduledevents?api-version={v}"), 400),
        (
            "/metadata/scheduledevents?api-version=2019-04-01".into(),
            200,
        ),
        (
            "/metadata/scheduledevents?api-version=2020-07-01".into(),
            200,
        ),
    ] {
        let (got, body) = r.get(&path, &[MD]);
        assert_eq!(got, status, "{path}: {body}");
    }
}

#[test]
fn the_version_error_is_imds_own_with_the_newest_versions() {
    let r = start(|_| {});
    let expected = serde_json::json!({
        "error": "Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds",
        "newest-versions": ["2025-04-07", "2024-07-17", "2024-03-15"],
    });
    for path in [
        // What a VM answered in July 2025 (MicrosoftDocs/azure-compute-docs pull request 289).
        "/metadata",
        "/metadata/instance",
        // MSAL's region discovery asks this after a 400 and reads newest-versions[0].
        "/metadata/instance/compute/location?format=json",
        "/metadata/instance?api-version=2026-01-01",
        // Instance metadata begins at 2017-04-02; 2017-03-01 served scheduled events only.
        "/metadata/instance?api-version=2017-03-01",
        "/metadata/attested/document?api-version=2018-04-02",
    ] {
        let (status, body) = r.get(path, &[MD]);
        assert_eq!(status, 400, "{path}: {body}");
        let got: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(got, expected, "{path}");
    }
}

#[test]
fn a_path_imds_does_not_serve_is_404_whatever_the_headers() {
    let r = start(|_| {});
    for (path, headers) in [
        // MSAL.NET's IMDSv2 probe: no Metadata header, and only a 400 would mean "IMDSv2 here".
        (
            "/metadata/identity/getplatformmetadata?cred-api-version=2.0",
            vec![],
        ),
        ("/metadata/nothing", vec![MD]),
        ("/metadata/nothing?api-version=2025-04-07", vec![]),
        ("/nothing", vec![]),
    ] {
        let (status, body) = r.get(path, &headers);
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, body) = r.get("/metadata?api-version=2025-04-07", &[MD]);
    assert_eq!(status, 404, "the root with a version: {body}");
}

#[test]
fn the_metadata_header_is_true_in_any_case() {
    // The IMDS article's own curl sample for the attested document sends `Metadata:True`.
    let r = start(|_| {});
    for value in ["true", "True", "TRUE"] {
        let (status, body) = r.get(
            "/metadata/attested/document?api-version=2025-04-07",
            &[("Metadata", value)],
        );
        assert_eq!(status, 200, "{value}: {body}");
    }
    for value in ["false", "yes", ""] {
        let (status, body) = r.get(
            "/metadata/attested/document?api-version=2025-04-07",
            &[("Metadata", value)],
        );
        assert_eq!(status, 400, "{value}: {body}");
        assert!(
            body.contains("Required metadata header not specified"),
            "{body}"
        );
    }
}

#[test]
fn the_attested_document_has_the_claims_of_the_version_asked_for() {
    use imds_attest::AttestedDocument;
    let r = start(|_| {});
    let claims_at = |version: &str| -> Vec<String> {
        let (status, body) = r.get(
            &format!("/metadata/attested/document?api-version={version}&nonce=n1"),
            &[MD],
        );
        assert_eq!(status, 200, "{version}: {body}");
        let doc = AttestedDocument::parse(body.as_bytes()).unwrap();
        let content: Value = serde_json::from_slice(doc.content()).unwrap();
        content.as_object().unwrap().keys().cloned().collect()
    };
    let base = ["nonce", "plan", "timeStamp", "vmId"];
    let with = |extra: &[&str]| -> Vec<String> {
        let mut keys: Vec<String> = base.iter().chain(extra).map(|k| k.to_string()).collect();
        keys.sort();
        keys
    };
    // The article's "Version introduced" of each claim.
    assert_eq!(claims_at("2018-10-01"), with(&[]));
    assert_eq!(claims_at("2019-04-30"), with(&["subscriptionId"]));
    assert_eq!(claims_at("2019-11-01"), with(&["subscriptionId", "sku"]));
    let all = with(&["subscriptionId", "sku", "licenseType"]);
    assert_eq!(claims_at("2020-09-01"), all);
    assert_eq!(claims_at("2025-04-07"), all);
}
