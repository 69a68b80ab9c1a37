//! `GET /metadata/loadbalancer`: the load balancer in front of the VM, 404 when it has none.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::response::{error, ok_json};
use crate::VmIdentity;

pub(crate) const PATH: &str = "/metadata/loadbalancer";

/// The first api-version that serves `/metadata/loadbalancer`.
pub const FIRST_LOAD_BALANCER_VERSION: &str = "2020-10-01";

pub(crate) fn serve(vm: &VmIdentity) -> Response {
    match &vm.load_balancer {
        Some(lb) => ok_json(&json!({ "loadbalancer": lb })),
        None => error(StatusCode::NOT_FOUND, "Resource not found"),
    }
}
