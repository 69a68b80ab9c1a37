//! IMDS's endpoints, one file each, and the [`Route`] that picks one from a request's path.
//! The emulator's own endpoints, outside IMDS's rules, are in [`admin`].

pub(crate) mod admin;
pub(crate) mod attested;
pub(crate) mod instance;
pub(crate) mod load_balancer;
pub(crate) mod scheduled_events;
pub(crate) mod token;
pub(crate) mod versions;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::response::{oauth_error, Shape};
use crate::rules::{self, Query, Versions};
use crate::state::Shared;

/// The path of the old VM extension's token endpoint, the only one on its listener.
const EXTENSION_PATH: &str = "/oauth2/token";

/// An IMDS endpoint that needs an api-version (all but `/metadata/versions`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Attested,
    Token,
    ScheduledEvents,
    LoadBalancer,
    Instance,
}

impl Route {
    /// The endpoint `path` names on the metadata listener.
    pub(crate) fn of(path: &str) -> Option<Route> {
        match without_trailing_slash(path) {
            attested::PATH => Some(Route::Attested),
            token::PATH => Some(Route::Token),
            scheduled_events::PATH => Some(Route::ScheduledEvents),
            load_balancer::PATH => Some(Route::LoadBalancer),
            p if instance::is_instance_path(p) => Some(Route::Instance),
            _ => None,
        }
    }

    /// The api-versions it serves.
    pub(crate) fn versions(self) -> Versions {
        match self {
            Route::Attested => Versions::Since(attested::FIRST_ATTESTED_VERSION),
            Route::Token => Versions::Since(token::FIRST_IDENTITY_VERSION),
            Route::ScheduledEvents => Versions::Listed(scheduled_events::SCHEDULED_EVENTS_VERSIONS),
            Route::LoadBalancer => Versions::Since(load_balancer::FIRST_LOAD_BALANCER_VERSION),
            Route::Instance => Versions::Since(versions::FIRST_INSTANCE_VERSION),
        }
    }
}

/// `path` without one trailing slash: `/metadata/identity/oauth2/token/` is the token
/// endpoint too. MSAL Node (under `@azure/identity`) sends that form whenever
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST` names the IMDS to use (msal-common's `UrlString` ends
/// every base URL with a slash), and Microsoft's own IMDS stand-in, AAD Pod Identity's NMI,
/// routes both forms.
pub(crate) fn without_trailing_slash(path: &str) -> &str {
    match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    }
}

/// The root of the metadata categories, which answers only the version error.
const ROOT: &str = "/metadata";

/// Whether `path` is served on the metadata listener: an endpoint, `/metadata/versions`, or
/// the root (which IMDS answers with the version error, then 404).
pub(crate) fn is_known(path: &str) -> bool {
    let path = without_trailing_slash(path);
    Route::of(path).is_some() || path == versions::PATH || path == ROOT
}

/// Answers a request that IMDS's rules admitted: finds its endpoint, checks the api-version
/// the endpoint needs, and lets it answer.
pub(crate) fn serve(
    shared: &Shared,
    on_extension: bool,
    method: &Method,
    path: &str,
    query: &Query,
    body: &[u8],
) -> Response {
    let shape = Shape::of(on_extension, path);
    if on_extension {
        if path != EXTENSION_PATH {
            return oauth_error(StatusCode::NOT_FOUND, "Resource not found");
        }
        return token::serve(shared, query);
    }
    if without_trailing_slash(path) == versions::PATH {
        // The one endpoint that needs no api-version: it is how a client finds one.
        return versions::serve();
    }
    let Some(route) = Route::of(path) else {
        // The root wants an api-version: a VM answered `GET /metadata` without one with the
        // version error (MicrosoftDocs/azure-compute-docs pull request 289).
        if without_trailing_slash(path) == ROOT {
            if let Err(refusal) =
                rules::api_version(query, Versions::Listed(versions::API_VERSIONS), shape)
            {
                return refusal.into_response();
            }
        }
        return shape.error(StatusCode::NOT_FOUND, "Resource not found");
    };
    let version = match rules::api_version(query, route.versions(), shape) {
        Ok(version) => version,
        Err(refusal) => return refusal.into_response(),
    };
    match route {
        Route::Attested => attested::serve(shared, query.get("nonce"), version),
        Route::Token => token::serve(shared, query),
        Route::ScheduledEvents => scheduled_events::serve(shared, *method == Method::POST, body),
        Route::LoadBalancer => load_balancer::serve(&shared.vm),
        Route::Instance => instance::serve(shared, path, query.get("format"), version),
    }
}
