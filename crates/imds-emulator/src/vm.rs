//! The emulated VM: who it is, with defaults for what a config file ([`VmIdentity::from_file`])
//! leaves out. The endpoints in `endpoints/` show it.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::identity::Identities;
use crate::range::Range;
use crate::schedule::EventSpec;

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
    /// The frontend's port (0 to 65535).
    #[serde(deserialize_with = "frontend_port")]
    pub frontend_port: u16,
    /// The VM's port (0 to 65535).
    #[serde(deserialize_with = "backend_port")]
    pub backend_port: u16,
    /// The VM's address.
    pub private_ip_address: String,
}

// The port's type bounds it already; read through a range so that the error names the field.
fn frontend_port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    Range::new("frontendPort", 0, 65_535).deserialize(d)
}

fn backend_port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    Range::new("backendPort", 0, 65_535).deserialize(d)
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
