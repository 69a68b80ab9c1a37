//! `GET /metadata/scheduledevents`, the VM's scheduled events, and `POST` to approve (start)
//! some of them.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::response::{error, ok_json};
use crate::state::Shared;

pub(crate) const PATH: &str = "/metadata/scheduledevents";

/// The api-versions that serve `/metadata/scheduledevents`: the "Version and region
/// availability" table of Microsoft's scheduled events article
/// (<https://learn.microsoft.com/azure/virtual-machines/linux/scheduled-events>, source
/// MicrosoftDocs/azure-compute-docs, `articles/virtual-machines/linux/scheduled-events.md`
/// at commit 533281db10ee, read in December 2026), where 2020-07-01 is still the current version.
pub const SCHEDULED_EVENTS_VERSIONS: &[&str] = &[
    "2017-03-01",
    "2017-08-01",
    "2017-11-01",
    "2019-01-01",
    "2019-04-01",
    "2019-08-01",
    "2020-07-01",
];

pub(crate) fn serve(shared: &Shared, approve: bool, body: &[u8]) -> Response {
    let now = Instant::now();
    let mut state = shared.lock();
    if approve {
        let ids: Vec<String> = match serde_json::from_slice::<StartRequests>(body) {
            Ok(r) => r.requests.into_iter().map(|r| r.event_id).collect(),
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("Bad request. The body must be {{\"StartRequests\":[{{\"EventId\":\"...\"}}]}}: {e}"),
                )
            }
        };
        return match state.events.approve(&ids, now) {
            Ok(()) => StatusCode::OK.into_response(),
            Err(message) => error(StatusCode::BAD_REQUEST, &message),
        };
    }
    let document = state.events.document(&shared.vm.name, now);
    ok_json(&document)
}

/// The body of `POST /metadata/scheduledevents`.
#[derive(Deserialize)]
pub(crate) struct StartRequests {
    #[serde(rename = "StartRequests")]
    pub requests: Vec<StartRequest>,
}

/// One approval.
#[derive(Deserialize)]
pub(crate) struct StartRequest {
    #[serde(rename = "EventId")]
    pub event_id: String,
}
