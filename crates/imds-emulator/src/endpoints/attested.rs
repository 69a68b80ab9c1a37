//! `GET /metadata/attested/document`: the VM's claims signed as IMDS signs them, or the previous
//! document while a stale fault lasts.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use imds_attest_testpki::{imds_response, imds_timestamp, DocSpec};
use serde_json::json;
use time::OffsetDateTime;

use crate::response::{error, json_body_text};
use crate::state::Shared;
use crate::VmIdentity;

pub(crate) const PATH: &str = "/metadata/attested/document";

/// The first api-version that serves the attested document.
pub const FIRST_ATTESTED_VERSION: &str = "2018-10-01";

/// The claims later api-versions added, with the first that carries each ("Version introduced"
/// in Microsoft's IMDS article); `nonce`, `plan`, `timeStamp` and `vmId` are there from
/// 2018-10-01.
const LATER_CLAIMS: [(&str, &str); 3] = [
    ("subscriptionId", "2019-04-30"),
    ("sku", "2019-11-01"),
    ("licenseType", "2020-09-01"),
];

pub(crate) fn serve(shared: &Shared, nonce: Option<&str>, version: &str) -> Response {
    if let Some(n) = nonce {
        if imds_attest::check_nonce_syntax(n).is_err() {
            return error(
                StatusCode::BAD_REQUEST,
                "Bad request. Nonce must be 1-32 alphanumeric characters",
            );
        }
    }
    let mut state = shared.lock();
    if state.faults.stale_count > 0 {
        if let Some(previous) = state.last_document.clone() {
            state.faults.stale_count -= 1;
            return (StatusCode::OK, json_body_text(previous)).into_response();
        }
    }
    let created = OffsetDateTime::now_utc();
    let expires = created + time::Duration::hours(6);
    let default_nonce = format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        expires.year(),
        u8::from(expires.month()),
        expires.day(),
        expires.hour(),
        expires.minute(),
        expires.second()
    );
    let content = claims(
        &shared.vm,
        nonce.unwrap_or(&default_nonce),
        created,
        expires,
        version,
    );
    let der = DocSpec::imds(content.as_bytes()).sign(&state.pki.leaf);
    let body = imds_response(&der);
    state.last_document = Some(body.clone());
    (StatusCode::OK, json_body_text(body)).into_response()
}

/// The claims JSON of an attested document as `version` has it, keys sorted as IMDS writes
/// them.
fn claims(
    vm: &VmIdentity,
    nonce: &str,
    created: OffsetDateTime,
    expires: OffsetDateTime,
    version: &str,
) -> String {
    let mut claims = json!({
        "licenseType": vm.license_type,
        "nonce": nonce,
        "plan": vm.plan,
        "sku": vm.sku,
        "subscriptionId": vm.subscription_id,
        "timeStamp": {"createdOn": imds_timestamp(created), "expiresOn": imds_timestamp(expires)},
        "vmId": vm.vm_id,
    });
    if let Some(map) = claims.as_object_mut() {
        for (name, since) in LATER_CLAIMS {
            if version < since {
                map.remove(name);
            }
        }
    }
    claims.to_string()
}
