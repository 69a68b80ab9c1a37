//! `GET /metadata/versions`: the api-versions IMDS knows, the one endpoint that needs none.

use axum::response::Response;
use serde_json::json;

use crate::response::ok_json;

pub(crate) const PATH: &str = "/metadata/versions";

/// The api-versions IMDS serves, oldest first: the "Supported API versions" list of Microsoft's
/// IMDS article (<https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service>,
/// source MicrosoftDocs/azure-compute-docs, `articles/virtual-machines/instance-metadata-service.md`
/// at commit 1dc6d3b8a934, read in December 2026), whose examples all ask for the newest,
/// 2025-04-07. Scheduled events keep a list of their own
/// ([`SCHEDULED_EVENTS_VERSIONS`](crate::SCHEDULED_EVENTS_VERSIONS)).
pub const API_VERSIONS: &[&str] = &[
    "2017-03-01",
    "2017-04-02",
    "2017-08-01",
    "2017-10-01",
    "2017-12-01",
    "2018-02-01",
    "2018-04-02",
    "2018-10-01",
    "2019-02-01",
    "2019-03-11",
    "2019-04-30",
    "2019-06-01",
    "2019-06-04",
    "2019-08-01",
    "2019-08-15",
    "2019-11-01",
    "2020-06-01",
    "2020-07-15",
    "2020-09-01",
    "2020-10-01",
    "2020-12-01",
    "2021-01-01",
    "2021-02-01",
    "2021-03-01",
    "2021-05-01",
    "2021-08-01",
    "2021-10-01",
    "2021-11-01",
    "2021-11-15",
    "2021-12-13",
    "2023-07-01",
    "2023-11-15",
    "2024-03-15",
    "2024-07-17",
    "2025-04-07",
];

/// The first api-version that serves instance metadata (the article's "Version introduced"
/// for `/metadata/instance`; 2017-03-01, the oldest listed, served scheduled events only).
pub(crate) const FIRST_INSTANCE_VERSION: &str = "2017-04-02";

pub(crate) fn serve() -> Response {
    ok_json(&json!({ "apiVersions": API_VERSIONS }))
}

/// The three newest api-versions, newest first, as IMDS lists them in an api-version error
/// (the article's example: `["2025-04-07", "2024-07-17", "2024-03-15"]`).
pub(crate) fn newest() -> Vec<&'static str> {
    API_VERSIONS.iter().rev().take(3).copied().collect()
}
