//! `GET /openapi.json`: the service's OpenAPI document. `openapi.yaml` is its one source,
//! converted to JSON once, at startup.

use hyper::body::Bytes;
use hyper::StatusCode;

use crate::answer::{answer, Answer, JSON};
use crate::shared::Shared;

/// The document as written, with its comments.
pub(crate) const YAML: &str = include_str!("../../openapi.yaml");

/// The document as JSON text. Fails only if `openapi.yaml` is not YAML, which a test
/// rules out.
pub(crate) fn to_json() -> Result<Bytes, serde_yaml_ng::Error> {
    let value: serde_json::Value = serde_yaml_ng::from_str(YAML)?;
    Ok(Bytes::from(value.to_string()))
}

/// 200 with the document.
pub(crate) fn document(shared: &Shared) -> Answer {
    answer(StatusCode::OK, JSON, shared.openapi.clone())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use std::collections::BTreeSet;

    use hyper::Method;
    use imds_attest::ErrorKind;
    use imds_attest_store::{StoreError, StoreErrorKind};
    use serde_json::Value;

    use super::*;
    use crate::http_error::{HttpError, HttpErrorKind};
    use crate::routing::ROUTES;

    fn doc() -> Value {
        serde_json::from_slice(&to_json().expect("openapi.yaml is YAML")).unwrap()
    }

    /// `#/components/...` as the value it names; anything else as it is.
    fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(pointer) => resolve(doc, doc.pointer(&pointer[1..]).expect(pointer)),
            None => value,
        }
    }

    /// Every `kind` name a schema (or response) allows: the `const` or `enum` of each
    /// `kind` property in it, references followed.
    fn kinds(doc: &Value, value: &Value, found: &mut BTreeSet<String>) {
        let value = resolve(doc, value);
        match value {
            Value::Object(map) => {
                if let Some(kind) = map.get("properties").and_then(|p| p.get("kind")) {
                    let kind = resolve(doc, kind);
                    for name in kind["enum"].as_array().into_iter().flatten() {
                        found.insert(name.as_str().unwrap().to_owned());
                    }
                    if let Some(name) = kind["const"].as_str() {
                        found.insert(name.to_owned());
                    }
                }
                for v in map.values() {
                    kinds(doc, v, found);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| kinds(doc, v, found)),
            _ => {}
        }
    }

    #[test]
    fn the_document_has_every_route_with_its_statuses_and_nothing_else() {
        let doc = doc();
        let mut documented = BTreeSet::new();
        for (path, operations) in doc["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                let statuses: BTreeSet<u16> = operation["responses"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(|s| s.parse().unwrap())
                    .collect();
                documented.insert((path.clone(), method.to_uppercase(), statuses));
            }
        }
        let routed: BTreeSet<_> = ROUTES
            .iter()
            .map(|e| {
                let statuses = e.statuses.iter().copied().collect::<BTreeSet<u16>>();
                (e.path.to_owned(), e.method.to_string(), statuses)
            })
            .collect();
        assert_eq!(documented, routed);
        // The token: asked on exactly the routes that check it.
        for e in &ROUTES {
            let operation = &doc["paths"][e.path][e.method.as_str().to_lowercase()];
            let secured = operation["security"] != serde_json::json!([]);
            assert_eq!(secured, e.route.needs_token(), "{}", e.path);
            assert_eq!(
                e.statuses.contains(&401),
                e.route.needs_token(),
                "{}",
                e.path
            );
        }
    }

    /// Every kind an endpoint may answer is in the document, and nothing else is: the
    /// library's, the service's, and the stores' but for `store_url`, which only startup
    /// gives.
    #[test]
    fn the_documents_error_kinds_are_the_codes() {
        let doc = doc();
        let mut documented = BTreeSet::new();
        kinds(&doc, &doc, &mut documented);
        let answered: BTreeSet<String> = ErrorKind::ALL
            .iter()
            .map(|k| k.as_str())
            .chain(HttpErrorKind::ALL.iter().map(|k| k.as_str()))
            .chain(
                StoreErrorKind::ALL
                    .iter()
                    .filter(|k| **k != StoreErrorKind::StoreUrl)
                    .map(|k| k.as_str()),
            )
            .map(str::to_owned)
            .collect();
        assert_eq!(documented, answered);
    }

    /// Each failure's kind is among those its status's answer lists (404 and 405, which
    /// any path may get, are in `components/responses`).
    #[test]
    fn each_failure_is_documented_under_its_status() {
        let doc = doc();
        let answers_of = |status: u16| -> Vec<Value> {
            let mut found = Vec::new();
            for operations in doc["paths"].as_object().unwrap().values() {
                for operation in operations.as_object().unwrap().values() {
                    if let Some(r) = operation["responses"].get(status.to_string()) {
                        found.push(resolve(&doc, r).clone());
                    }
                }
            }
            let shared = match status {
                404 => "NotFound",
                405 => "MethodNotAllowed",
                _ => return found,
            };
            found.push(doc["components"]["responses"][shared].clone());
            found
        };
        let failures = [
            HttpError::TooManyRequests,
            HttpError::RequestTimeout,
            HttpError::NotFound { path: "/x".into() },
            HttpError::MethodNotAllowed {
                path: "/healthz".into(),
                allowed: Method::GET,
            },
            HttpError::Unauthorized,
            HttpError::BodyTooLarge { max: 1 },
            HttpError::UnreadableBody("reset".into()),
            HttpError::Rejected(imds_attest::Error::DetachedContent),
            HttpError::Store(StoreError::Full {
                capacity: 1,
                operation: imds_attest_store::Operation::Issue,
            }),
            HttpError::Panicked,
        ];
        for failure in failures {
            let (status, kind) = (failure.status().as_u16(), failure.kind().as_str());
            let answers = answers_of(status);
            assert!(!answers.is_empty(), "{status} is documented nowhere");
            for answer in answers {
                let mut allowed = BTreeSet::new();
                kinds(&doc, &answer, &mut allowed);
                assert!(allowed.contains(kind), "{status} {kind}: {allowed:?}");
            }
        }
    }

    #[test]
    fn the_documents_version_is_the_crates() {
        assert_eq!(doc()["info"]["version"], env!("CARGO_PKG_VERSION"));
    }
}
