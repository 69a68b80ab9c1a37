//! The emulator's own endpoints, outside IMDS's rules (no Metadata header, no rate limit):
//! `POST /admin/faults`, `POST /admin/scheduled-events`, `POST /admin/rotate`,
//! `GET /admin/jwks`, and `GET /pki/<name>.cer` where the leaves' AIA points.

use std::time::Instant;

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::response::{error, ok_json};
use crate::state::Shared;
use crate::{EventSpec, Faults};

/// The answer of the admin endpoint `method` and `path` name, if they name one.
pub(crate) fn serve(shared: &Shared, method: &Method, path: &str, body: &[u8]) -> Option<Response> {
    Some(match (method, path) {
        (&Method::POST, "/admin/faults") => set_faults(shared, body),
        (&Method::POST, "/admin/scheduled-events") => inject_event(shared, body),
        (&Method::POST, "/admin/rotate") => rotate(shared),
        (&Method::GET, p) if p.starts_with("/pki/") => ca_certificate(shared, p),
        (&Method::GET, "/admin/jwks") => ok_json(shared.tokens.jwks()),
        _ => return None,
    })
}

/// `POST /admin/faults`: replaces the faults ([`Faults`] JSON).
fn set_faults(shared: &Shared, body: &[u8]) -> Response {
    match serde_json::from_slice::<Faults>(body) {
        Ok(faults) => {
            shared.lock().faults = faults;
            ok_json(&json!({"ok": true}))
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &format!("bad faults JSON: {e}")),
    }
}

/// `POST /admin/scheduled-events`: schedules one event ([`EventSpec`] JSON).
fn inject_event(shared: &Shared, body: &[u8]) -> Response {
    match serde_json::from_slice::<EventSpec>(body) {
        Ok(spec) => match shared.lock().events.add(spec, Instant::now()) {
            Ok(id) => ok_json(&json!({ "EventId": id })),
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        Err(e) => error(StatusCode::BAD_REQUEST, &format!("bad event JSON: {e}")),
    }
}

/// `POST /admin/rotate`: a new issuing CA and signer.
fn rotate(shared: &Shared) -> Response {
    let mut state = shared.lock();
    match state.pki.rotate() {
        Ok(()) => ok_json(&json!({
            "issuer": state.pki.issuer_name(),
            "caIssuers": state.pki.issuer_url(),
        })),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

/// `GET /pki/<name>.cer`: a CA certificate, DER, where the leaves' AIA points.
fn ca_certificate(shared: &Shared, path: &str) -> Response {
    let name = path
        .strip_prefix("/pki/")
        .and_then(|p| p.strip_suffix(".cer"))
        .unwrap_or_default();
    let der = shared.lock().pki.ca_der(name);
    match der {
        Some(der) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pkix-cert"),
            )],
            der,
        )
            .into_response(),
        None => error(StatusCode::NOT_FOUND, "Resource not found"),
    }
}
