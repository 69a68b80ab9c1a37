//! The load balancer, userData and tags over loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use imds_attest_testpki::temp;
use imds_emulator::{Config, InboundRule, LoadBalancer, OutboundRule, PublicIpAddress, VmIdentity};
use serde_json::{json, Value};

mod common;
use common::{start, MD};

fn load_balancer() -> LoadBalancer {
    LoadBalancer {
        public_ip_addresses: vec![PublicIpAddress {
            frontend_ip_address: "51.0.0.1".into(),
            private_ip_address: "10.0.0.4".into(),
        }],
        inbound_rules: vec![InboundRule {
            frontend_ip_address: "50.0.0.1".into(),
            protocol: "tcp".into(),
            frontend_port: 80,
            backend_port: 443,
            private_ip_address: "10.0.0.4".into(),
        }],
        outbound_rules: vec![OutboundRule {
            frontend_ip_address: "50.0.0.1".into(),
            private_ip_address: "10.0.0.4".into(),
        }],
    }
}

#[test]
fn the_load_balancer_is_served_from_the_config_from_2020_10_01() {
    let r = start(|c| {
        c.vm = VmIdentity {
            load_balancer: Some(load_balancer()),
            ..VmIdentity::default()
        }
    });
    let (status, body) = r.get("/metadata/loadbalancer?api-version=2020-10-01", &[MD]);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v,
        json!({"loadbalancer": {
            "publicIpAddresses": [{"frontendIpAddress": "51.0.0.1", "privateIpAddress": "10.0.0.4"}],
            "inboundRules": [{"frontendIpAddress": "50.0.0.1", "protocol": "tcp", "frontendPort": 80,
                              "backendPort": 443, "privateIpAddress": "10.0.0.4"}],
            "outboundRules": [{"frontendIpAddress": "50.0.0.1", "privateIpAddress": "10.0.0.4"}],
        }})
    );
    let (status, body) = r.get("/metadata/loadbalancer?api-version=2020-09-01", &[MD]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("api-version is invalid"), "{body}");
    let (status, _) = r.get("/metadata/loadbalancer?api-version=2020-10-01", &[]);
    assert_eq!(status, 400, "the general rules apply");
}

#[test]
fn a_vm_without_a_load_balancer_gets_404() {
    let r = start(|_| {});
    let (status, body) = r.get("/metadata/loadbalancer?api-version=2021-02-01", &[MD]);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("Resource not found"), "{body}");
}

#[test]
fn user_data_is_served_as_configured_from_2021_01_01() {
    let r = start(|c| {
        c.vm = VmIdentity {
            user_data: "aGVsbG8gd29ybGQ=".into(),
            ..VmIdentity::default()
        }
    });
    let path = "/metadata/instance/compute/userData?api-version=2021-01-01&format=text";
    assert_eq!(r.get(path, &[MD]), (200, "aGVsbG8gd29ybGQ=".to_string()));
    let (status, _) = r.get(
        "/metadata/instance/compute/userData?api-version=2020-12-01&format=text",
        &[MD],
    );
    assert_eq!(status, 404, "older versions have no userData");
}

#[test]
fn user_data_that_is_not_base64_is_refused_at_start() {
    let pki = temp::dir();
    let mut config = Config::new(pki.path().to_path_buf());
    config.vm.user_data = "not base64!".into();
    let err = imds_emulator::Background::start(config).err().unwrap();
    assert!(err.contains("userData must be base64"), "{err}");
}

#[test]
fn tags_and_tags_list_say_the_same() {
    let tags: BTreeMap<String, String> = [("env", "ci"), ("owner", "team a"), ("tier", "")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let r = start(|c| {
        c.vm = VmIdentity {
            tags: tags.clone(),
            ..VmIdentity::default()
        }
    });
    let (status, body) = r.get("/metadata/instance/compute?api-version=2021-02-01", &[MD]);
    assert_eq!(status, 200, "{body}");
    let compute: Value = serde_json::from_str(&body).unwrap();
    let from_string: BTreeMap<String, String> = compute["tags"]
        .as_str()
        .unwrap()
        .split(';')
        .map(|kv| {
            let (k, v) = kv.split_once(':').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let from_list: BTreeMap<String, String> = compute["tagsList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(from_string, tags);
    assert_eq!(from_list, tags);
}
