//! `GET /metadata/identity/oauth2/token` (and the VM extension's `/oauth2/token`): a token for
//! `resource` from the managed identity the selectors pick.

use axum::http::StatusCode;
use axum::response::Response;
use time::OffsetDateTime;

use crate::identity::PickError;
use crate::response::{oauth_error, ok_json};
use crate::rules::Query;
use crate::state::Shared;

pub(crate) const PATH: &str = "/metadata/identity/oauth2/token";

/// The first api-version that serves managed-identity tokens.
pub const FIRST_IDENTITY_VERSION: &str = "2018-02-01";

pub(crate) fn serve(shared: &Shared, query: &Query) -> Response {
    let Some(resource) = query.get("resource").filter(|r| !r.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "Required audience parameter not specified",
        );
    };
    // IMDS documents `msi_res_id` and observes `mi_res_id` too (App Service's name, which MSAL
    // and the Azure SDKs sent to IMDS until 2024-25): either names the identity's resource id.
    let msi_res_id = match (query.get("msi_res_id"), query.get("mi_res_id")) {
        (Some(_), Some(_)) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                PickError::SeveralSelectors.description(),
            )
        }
        (documented, other) => documented.or(other),
    };
    let picked =
        match shared
            .vm
            .identity
            .pick(query.get("client_id"), query.get("object_id"), msi_res_id)
        {
            Ok(p) => p,
            Err(e) => return oauth_error(StatusCode::BAD_REQUEST, e.description()),
        };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    match shared
        .tokens
        .token_response(&picked, resource, &shared.vm.tenant_id, now)
    {
        Ok(body) => ok_json(&body),
        Err(e) => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}
