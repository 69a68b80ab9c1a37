//! `GET /metadata/instance[/route]`: the VM's instance metadata, with IMDS's route filtering
//! and its text and JSON formats.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::response::{error, ok_json};
use crate::state::Shared;
use crate::VmIdentity;

/// The first api-version whose compute metadata has `userData`.
pub const FIRST_USER_DATA_VERSION: &str = "2021-01-01";

/// Whether `path` is instance metadata or a route into it.
pub(crate) fn is_instance_path(path: &str) -> bool {
    path == "/metadata/instance" || path.starts_with("/metadata/instance/")
}

/// `GET /metadata/instance[/route]`: JSON by default, text for leaves; a leaf asked for as
/// JSON is a 400, as on IMDS.
pub(crate) fn serve(shared: &Shared, path: &str, format: Option<&str>, version: &str) -> Response {
    let document = document(&shared.vm, &shared.region, version);
    let route = path
        .trim_start_matches("/metadata/instance")
        .trim_matches('/');
    let mut node = &document;
    for segment in route.split('/').filter(|s| !s.is_empty()) {
        let next = match node {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return error(StatusCode::NOT_FOUND, "Resource not found"),
        }
    }
    let leaf = !matches!(node, Value::Object(_) | Value::Array(_));
    match (format, leaf) {
        (Some("json"), true) => error(
            StatusCode::BAD_REQUEST,
            "Bad request. Leaf nodes are only available in text format",
        ),
        (None | Some("json"), false) => ok_json(node),
        (None | Some("text"), true) => {
            let text = match node {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (StatusCode::OK, text).into_response()
        }
        (Some("text"), false) => {
            let lines: Vec<String> = match node {
                Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| match v {
                        Value::Object(_) | Value::Array(_) => format!("{k}/"),
                        _ => k.clone(),
                    })
                    .collect(),
                Value::Array(items) => (0..items.len()).map(|i| format!("{i}/")).collect(),
                _ => Vec::new(),
            };
            (StatusCode::OK, lines.join("\n")).into_response()
        }
        (Some(other), _) => error(
            StatusCode::BAD_REQUEST,
            &format!("Bad request. Unsupported format {other:?}"),
        ),
    }
}

/// The whole instance metadata document as `version` has it.
fn document(vm: &VmIdentity, region: &str, version: &str) -> Value {
    let tags: Vec<String> = vm.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    let tags_list: Vec<Value> = vm
        .tags
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    let mut document = json!({
        "compute": {
            "azEnvironment": "AzurePublicCloud",
            "licenseType": vm.license_type,
            "location": region,
            "name": vm.name,
            "offer": vm.plan.product,
            "osType": "Linux",
            "plan": vm.plan,
            "resourceGroupName": vm.resource_group_name,
            "sku": vm.sku,
            "subscriptionId": vm.subscription_id,
            "tags": tags.join(";"),
            "tagsList": tags_list,
            "vmId": vm.vm_id,
            "vmSize": vm.vm_size,
        },
        "network": {
            "interface": [{
                "ipv4": {
                    "ipAddress": [{"privateIpAddress": vm.private_ip, "publicIpAddress": ""}],
                    "subnet": [{"address": "10.0.0.0", "prefix": "24"}],
                },
                "ipv6": {"ipAddress": []},
                "macAddress": vm.mac_address,
            }],
        },
    });
    if version >= FIRST_USER_DATA_VERSION {
        if let Some(Value::Object(compute)) = document.get_mut("compute") {
            compute.insert("userData".into(), Value::String(vm.user_data.clone()));
        }
    }
    document
}
