//! The emulated VM: its identity (from a config file, with defaults), instance metadata with
//! IMDS's route filtering, and the claims of its attested documents.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use imds_attest_testpki::imds_timestamp as imds_time;

use crate::events::EventSpec;
use crate::identity::Identities;
use crate::{error, json_body};

/// Who the VM is. Every field has a default; a config file (JSON, or TOML with the same keys:
/// [`VmIdentity::from_file`]) overrides some or all:
/// `{"vmId": "...", "subscriptionId": "...", "plan": {"name": "p", "product": "o",
/// "publisher": "x"}, "tags": {"env": "ci"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct VmIdentity {
    /// The VM's id.
    pub vm_id: String,
    /// Its subscription.
    pub subscription_id: String,
    /// Its image SKU.
    pub sku: String,
    /// Its licence type (empty for none).
    pub license_type: String,
    /// Its Marketplace plan.
    pub plan: Plan,
    /// Its name.
    pub name: String,
    /// Its resource group.
    pub resource_group_name: String,
    /// Its size.
    pub vm_size: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its private IPv4 address.
    pub private_ip: String,
    /// Its MAC address.
    pub mac_address: String,
    /// Its tenant: the tokens' issuer is `https://sts.windows.net/<tenantId>/`.
    pub tenant_id: String,
    /// Its managed identities.
    pub identity: Identities,
    /// Scheduled events to run from the start (a scenario).
    pub scheduled_events: Vec<EventSpec>,
    /// The load balancer in front of the VM, if any (`/metadata/loadbalancer`).
    pub load_balancer: Option<LoadBalancer>,
    /// Its user data, base64 as given to ARM (`/metadata/instance/compute/userData`).
    pub user_data: String,
}

/// What `/metadata/loadbalancer` reports, as IMDS names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct LoadBalancer {
    /// The VM's public frontends.
    pub public_ip_addresses: Vec<PublicIpAddress>,
    /// Inbound NAT and load-balancing rules.
    pub inbound_rules: Vec<InboundRule>,
    /// Outbound rules.
    pub outbound_rules: Vec<OutboundRule>,
}

/// A public frontend and the private address behind it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct PublicIpAddress {
    /// The frontend's address.
    pub frontend_ip_address: String,
    /// The VM's address behind it.
    pub private_ip_address: String,
}

/// An inbound rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct InboundRule {
    /// The frontend's address.
    pub frontend_ip_address: String,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// The frontend's port.
    pub frontend_port: u16,
    /// The VM's port.
    pub backend_port: u16,
    /// The VM's address.
    pub private_ip_address: String,
}

/// An outbound rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct OutboundRule {
    /// The frontend's address.
    pub frontend_ip_address: String,
    /// The VM's address.
    pub private_ip_address: String,
}

/// The first api-version that serves `/metadata/loadbalancer`.
pub const FIRST_LOAD_BALANCER_VERSION: &str = "2020-10-01";

/// The first api-version whose compute metadata has `userData`.
pub const FIRST_USER_DATA_VERSION: &str = "2021-01-01";

/// A Marketplace plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Plan {
    /// Plan name.
    pub name: String,
    /// Offer.
    pub product: String,
    /// Publisher.
    pub publisher: String,
}

impl Default for VmIdentity {
    fn default() -> Self {
        VmIdentity {
            vm_id: "02aab8a4-74ef-476e-8182-f6d2ba4166a6".into(),
            subscription_id: "8d10da13-8125-4ba9-a717-bf7490507b3d".into(),
            sku: "22_04-lts-gen2".into(),
            license_type: String::new(),
            plan: Plan::default(),
            name: "emulated-vm".into(),
            resource_group_name: "emulated-rg".into(),
            vm_size: "Standard_D2s_v5".into(),
            tags: BTreeMap::new(),
            private_ip: "10.0.0.4".into(),
            mac_address: "000D3AF806EC".into(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            identity: Identities::default(),
            scheduled_events: Vec::new(),
            load_balancer: None,
            user_data: String::new(),
        }
    }
}

pub(crate) fn is_instance_path(path: &str) -> bool {
    path == "/metadata/instance" || path.starts_with("/metadata/instance/")
}

impl VmIdentity {
    /// The claims JSON of an attested document, keys sorted as IMDS writes them.
    pub(crate) fn attested_content(
        &self,
        nonce: &str,
        created: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> String {
        json!({
            "licenseType": self.license_type,
            "nonce": nonce,
            "plan": self.plan,
            "sku": self.sku,
            "subscriptionId": self.subscription_id,
            "timeStamp": {"createdOn": imds_time(created), "expiresOn": imds_time(expires)},
            "vmId": self.vm_id,
        })
        .to_string()
    }

    /// `GET /metadata/loadbalancer`: 404 when the VM has none.
    pub(crate) fn load_balancer(&self) -> Response {
        match &self.load_balancer {
            Some(lb) => (StatusCode::OK, json_body(&json!({ "loadbalancer": lb }))).into_response(),
            None => error(StatusCode::NOT_FOUND, "Resource not found"),
        }
    }

    fn document(&self, region: &str, version: &str) -> Value {
        let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        let tags_list: Vec<Value> = self
            .tags
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        let mut document = json!({
            "compute": {
                "azEnvironment": "AzurePublicCloud",
                "licenseType": self.license_type,
                "location": region,
                "name": self.name,
                "offer": self.plan.product,
                "osType": "Linux",
                "plan": self.plan,
                "resourceGroupName": self.resource_group_name,
                "sku": self.sku,
                "subscriptionId": self.subscription_id,
                "tags": tags.join(";"),
                "tagsList": tags_list,
                "vmId": self.vm_id,
                "vmSize": self.vm_size,
            },
            "network": {
                "interface": [{
                    "ipv4": {
                        "ipAddress": [{"privateIpAddress": self.private_ip, "publicIpAddress": ""}],
                        "subnet": [{"address": "10.0.0.0", "prefix": "24"}],
                    },
                    "ipv6": {"ipAddress": []},
                    "macAddress": self.mac_address,
                }],
            },
        });
        if version >= FIRST_USER_DATA_VERSION {
            if let Some(Value::Object(compute)) = document.get_mut("compute") {
                compute.insert("userData".into(), Value::String(self.user_data.clone()));
            }
        }
        document
    }

    /// `GET /metadata/instance[/route]`: JSON by default, text for leaves; a leaf asked for as
    /// JSON is a 400, as on IMDS.
    pub(crate) fn instance(
        &self,
        path: &str,
        format: Option<&str>,
        region: &str,
        version: &str,
    ) -> Response {
        let document = self.document(region, version);
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
            (None | Some("json"), false) => (StatusCode::OK, json_body(node)).into_response(),
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
}
