//! Managed-identity tokens over loopback: the response shape, the JWT against the published
//! JWKS, the identity a request picks, the errors, and the old VM extension endpoint.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use imds_emulator::{Identities, UserAssigned, VmIdentity, TOKEN_LIFETIME_SECONDS};
use serde_json::Value;

mod common;
use common::{jwks, start, verified_claims, Running, MD};

const TOKEN: &str = "/metadata/identity/oauth2/token?api-version=2018-02-01";
const ARM: &str = "https://management.azure.com/";

fn two_user_assigned() -> Vec<UserAssigned> {
    (1..=2)
        .map(|i| UserAssigned {
            client_id: format!("client-{i}"),
            object_id: format!("object-{i}"),
            msi_res_id: format!("/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id{i}"),
        })
        .collect()
}

fn with_identities(identity: Identities) -> Running {
    start(|c| {
        c.vm = VmIdentity {
            identity,
            ..VmIdentity::default()
        }
    })
}

#[test]
fn a_token_has_imds_shape_and_its_jwt_verifies_against_the_published_jwks() {
    let r = start(|_| {});
    let before = time::OffsetDateTime::now_utc().unix_timestamp();
    let (status, body) = r.get(&format!("{TOKEN}&resource={ARM}"), &[MD]);
    assert_eq!(status, 200, "{body}");
    let response: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> = response
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "expires_on",
            "not_before",
            "refresh_token",
            "resource",
            "token_type"
        ]
    );
    let number = |k: &str| {
        response[k]
            .as_str()
            .expect("numbers are strings")
            .parse::<i64>()
            .unwrap()
    };
    assert_eq!(
        (
            response["token_type"].as_str(),
            response["resource"].as_str(),
            response["refresh_token"].as_str()
        ),
        (Some("Bearer"), Some(ARM), Some(""))
    );
    assert_eq!(number("expires_in"), TOKEN_LIFETIME_SECONDS);
    let nbf = number("not_before");
    assert!(nbf >= before && nbf <= before + 5, "{nbf} {before}");
    assert_eq!(number("expires_on"), nbf + number("expires_in"));

    let claims = verified_claims(response["access_token"].as_str().unwrap(), &jwks(&r));
    let vm = VmIdentity::default();
    assert_eq!(claims["aud"], ARM);
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{}/", vm.tenant_id)
    );
    assert_eq!(claims["oid"], vm.identity.system_object_id.as_str());
    assert_eq!(claims["sub"], vm.identity.system_object_id.as_str());
    assert_eq!(claims["appid"], vm.identity.system_client_id.as_str());
    assert_eq!(
        (
            claims["iat"].as_i64(),
            claims["nbf"].as_i64(),
            claims["exp"].as_i64()
        ),
        (Some(nbf), Some(nbf), Some(number("expires_on")))
    );
}

#[test]
fn the_token_key_is_reused_across_restarts() {
    let r = start(|_| {});
    let first = jwks(&r);
    let pki = r.stop();
    let again = start(|c| c.pki_dir = pki.path().to_path_buf());
    assert_eq!(jwks(&again), first);
}

#[test]
fn a_selector_picks_its_user_assigned_identity() {
    let r = with_identities(Identities {
        user_assigned: two_user_assigned(),
        ..Identities::default()
    });
    let keys = jwks(&r);
    let selectors = [
        "client_id=client-2",
        "object_id=object-2",
        // ARM ids compare without case.
        "msi_res_id=/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID2",
        // IMDS observes App Service's name too, which older MSAL and Azure SDKs send.
        "mi_res_id=/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2",
    ];
    for selector in selectors {
        let (status, body) = r.get(&format!("{TOKEN}&resource={ARM}&{selector}"), &[MD]);
        assert_eq!(status, 200, "{selector}: {body}");
        let response: Value = serde_json::from_str(&body).unwrap();
        let claims = verified_claims(response["access_token"].as_str().unwrap(), &keys);
        assert_eq!(
            (claims["appid"].as_str(), claims["oid"].as_str()),
            (Some("client-2"), Some("object-2")),
            "{selector}"
        );
    }
}

#[test]
fn the_only_user_assigned_identity_is_picked_without_a_selector() {
    let r = with_identities(Identities {
        system_assigned: false,
        user_assigned: two_user_assigned().into_iter().take(1).collect(),
        ..Identities::default()
    });
    let (status, body) = r.get(&format!("{TOKEN}&resource={ARM}"), &[MD]);
    assert_eq!(status, 200, "{body}");
    let response: Value = serde_json::from_str(&body).unwrap();
    let claims = verified_claims(response["access_token"].as_str().unwrap(), &jwks(&r));
    assert_eq!(claims["appid"], "client-1");
}

fn assert_invalid_request(r: &Running, path: &str, description: &str) {
    let (status, body) = r.get(path, &[MD]);
    assert_eq!(status, 400, "{path}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "invalid_request", "{path}: {body}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains(description),
        "{path}: {body}"
    );
}

#[test]
fn token_requests_are_refused_with_imds_oauth_errors() {
    let r = with_identities(Identities {
        user_assigned: two_user_assigned(),
        ..Identities::default()
    });
    let cases = [
        (
            format!("{TOKEN}&resource={ARM}&client_id=nobody"),
            "Identity not found",
        ),
        (
            format!("{TOKEN}&resource={ARM}&object_id=nobody"),
            "Identity not found",
        ),
        (
            format!("{TOKEN}&resource={ARM}&client_id=client-1&object_id=object-1"),
            "Only one of",
        ),
        (
            format!("{TOKEN}&resource={ARM}&client_id=client-1&msi_res_id=x"),
            "Only one of",
        ),
        (
            format!("{TOKEN}&resource={ARM}&msi_res_id=x&mi_res_id=x"),
            "Only one of",
        ),
        (
            TOKEN.to_string(),
            "Required audience parameter not specified",
        ),
        (
            format!("/metadata/identity/oauth2/token?resource={ARM}"),
            "api-version",
        ),
        (
            format!("/metadata/identity/oauth2/token?api-version=2017-12-01&resource={ARM}"),
            "Invalid API version",
        ),
    ];
    for (path, description) in cases {
        assert_invalid_request(&r, &path, description);
    }
    // The general IMDS rules, in the identity endpoint's shape.
    let (status, body) = r.get(&format!("{TOKEN}&resource={ARM}"), &[]);
    assert_eq!(status, 400);
    assert!(
        body.contains("\"error\":\"invalid_request\"") && body.contains("Required metadata header"),
        "{body}"
    );
    let (status, body) = r.get(
        &format!("{TOKEN}&resource={ARM}"),
        &[MD, ("X-Forwarded-For", "1.2.3.4")],
    );
    assert_eq!(status, 400, "{body}");
    std::thread::sleep(std::time::Duration::from_millis(210));
    let (status, body) = r.raw(
        reqwest::Method::POST,
        &format!("{TOKEN}&resource={ARM}"),
        &[MD],
        None,
    );
    assert_eq!(status, 405, "{body}");
    assert!(body.contains("error_description"), "{body}");
}

#[test]
fn no_identity_or_an_ambiguous_choice_is_a_400() {
    let none = with_identities(Identities {
        system_assigned: false,
        ..Identities::default()
    });
    assert_invalid_request(
        &none,
        &format!("{TOKEN}&resource={ARM}"),
        "Identity not found",
    );
    let several = with_identities(Identities {
        system_assigned: false,
        user_assigned: two_user_assigned(),
        ..Identities::default()
    });
    assert_invalid_request(
        &several,
        &format!("{TOKEN}&resource={ARM}"),
        "Multiple user assigned identities",
    );
}

#[test]
fn faults_apply_to_the_token_endpoint() {
    let r = start(|_| {});
    for (status, code, needle) in [
        (410, "temporarily_unavailable", "Identity is not ready"),
        (429, "too_many_requests", "Injected"),
        (500, "temporarily_unavailable", "Injected"),
    ] {
        r.set_faults(&format!(r#"{{"failStatus":{status},"failCount":1}}"#));
        let (got, body) = r.get(&format!("{TOKEN}&resource={ARM}"), &[MD]);
        assert_eq!(got, status, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"], code, "{body}");
        assert!(
            v["error_description"].as_str().unwrap().contains(needle),
            "{body}"
        );
    }
    let (status, _) = r.get(&format!("{TOKEN}&resource={ARM}"), &[MD]);
    assert_eq!(status, 200, "the faults are used up");
}

#[test]
fn the_vm_extension_endpoint_answers_the_migration_guide_request() {
    let r = start(|c| c.extension_listen = Some("127.0.0.1:0".parse().unwrap()));
    let base = r.extension_url.clone().unwrap();
    // curl 'http://localhost:50342/oauth2/token?resource=https%3A%2F%2Fmanagement.azure.com%2F' -H Metadata:true
    let path = "/oauth2/token?resource=https%3A%2F%2Fmanagement.azure.com%2F";
    let (status, body) = r.raw_at(&base, reqwest::Method::GET, path, &[MD], None);
    assert_eq!(status, 200, "{body}");
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(response["resource"], ARM);
    assert_eq!(response["token_type"], "Bearer");
    let claims = verified_claims(response["access_token"].as_str().unwrap(), &jwks(&r));
    assert_eq!(claims["aud"], ARM);
    std::thread::sleep(std::time::Duration::from_millis(210));
    let (status, body) = r.raw_at(&base, reqwest::Method::GET, path, &[], None);
    assert_eq!(
        status, 400,
        "the extension wants Metadata: true too: {body}"
    );
    std::thread::sleep(std::time::Duration::from_millis(210));
    let (status, _) = r.raw_at(
        &base,
        reqwest::Method::GET,
        "/metadata/instance?api-version=2021-02-01",
        &[MD],
        None,
    );
    assert_eq!(
        status, 404,
        "the extension listener serves only /oauth2/token"
    );
}

#[test]
fn the_request_forms_official_clients_send_are_answered() {
    // Each as a client sends it (see the README's table of client request forms).
    let r = start(|_| {});
    let keys = jwks(&r);
    let arm = "https%3A%2F%2Fmanagement.azure.com";
    let forms = [
        // MSAL Node under @azure/identity, pointed at an IMDS by AZURE_POD_IDENTITY_AUTHORITY_HOST:
        // a trailing slash, and its Content-Type on a GET.
        (
            format!("/metadata/identity/oauth2/token/?api-version=2018-02-01&resource={arm}"),
            vec![
                MD,
                ("Content-Type", "application/x-www-form-urlencoded;charset=utf-8"),
                ("x-client-SKU", "msal.js.node"),
            ],
        ),
        // Go (url.Values sorts the parameters), the Rust SDK's lower-case header and 2019-08-01.
        (
            format!("/metadata/identity/oauth2/token?api-version=2019-08-01&resource={arm}"),
            vec![("metadata", "true")],
        ),
        // Java's azure-identity before MSAL: resource first.
        (
            format!("/metadata/identity/oauth2/token?resource={arm}&api-version=2018-02-01"),
            vec![MD],
        ),
        // MSAL Python and MSAL.NET's extra parameters (token revocation, client capabilities).
        (
            format!("/metadata/identity/oauth2/token?api-version=2018-02-01&resource={arm}&xms_cc=CP1&token_sha256_to_refresh=abc"),
            vec![MD],
        ),
        // A client on today's newest api-version.
        (
            format!("/metadata/identity/oauth2/token?api-version=2025-04-07&resource={arm}"),
            vec![MD],
        ),
    ];
    for (path, headers) in forms {
        let (status, body) = r.get(&path, &headers);
        assert_eq!(status, 200, "{path}: {body}");
        let response: Value = serde_json::from_str(&body).unwrap();
        let claims = verified_claims(response["access_token"].as_str().unwrap(), &keys);
        assert_eq!(claims["aud"], "https://management.azure.com", "{path}");
    }
    // The probes DefaultAzureCredential-style clients send without the Metadata header (Go and
    // JS: no query; Python, Java, MSAL.NET: the api-version) must be answered 400 at once:
    // MSAL.NET takes only a 400 for "IMDS is here".
    for path in [
        "/metadata/identity/oauth2/token".to_string(),
        "/metadata/identity/oauth2/token?api-version=2018-02-01".to_string(),
        format!("/metadata/identity/oauth2/token?api-version=2018-02-01&resource={arm}"),
    ] {
        let (status, body) = r.get(&path, &[("Accept", "application/json")]);
        assert_eq!(status, 400, "{path}: {body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"], "invalid_request", "{path}");
    }
    // The other endpoints take the trailing slash too.
    for path in [
        "/metadata/versions/",
        "/metadata/attested/document/?api-version=2025-04-07",
        "/metadata/instance/?api-version=2025-04-07",
    ] {
        let (status, body) = r.get(path, &[MD]);
        assert_eq!(status, 200, "{path}: {body}");
    }
}

#[test]
fn identity_requests_have_their_own_limit_of_20_a_second() {
    // IMDS limits the identity endpoints to 20 requests a second, apart from the 5 of the
    // others: a client asking for a few tokens at once is not throttled. The 24 requests are
    // sent at once, so they arrive within the same second however slowly the machine signs
    // the tokens; the limiter counts arrivals, so exactly 20 are answered. An attempt whose
    // requests spread over more than a second (more than 20 answered) is tried again; it
    // fails, never skips.
    let token = format!("{TOKEN}&resource={ARM}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut last = String::new();
    for _ in 0..5 {
        let r = start(|_| {});
        let (answers, metadata) = runtime.block_on(async {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let get = |path: &str| {
                client
                    .get(format!("{}{path}", r.url))
                    .header(MD.0, MD.1)
                    .send()
            };
            let started = std::time::Instant::now();
            let mut batch = tokio::task::JoinSet::new();
            for _ in 0..24 {
                let request = get(&token);
                batch.spawn(async move {
                    let response = request.await.unwrap();
                    (response.status().as_u16(), response.text().await.unwrap())
                });
            }
            let mut answers = Vec::new();
            let mut metadata = None;
            while let Some(answer) = batch.join_next().await {
                let answer = answer.unwrap();
                // The first refusal means 20 identity requests arrived within this second:
                // another endpoint asked now must still be answered, its count apart.
                if answer.0 == 429 && metadata.is_none() {
                    let response = get("/metadata/versions").await.unwrap();
                    let in_time = started.elapsed() < std::time::Duration::from_millis(900);
                    let status = response.status().as_u16();
                    metadata = Some((status, response.text().await.unwrap(), in_time));
                }
                answers.push(answer);
            }
            (answers, metadata)
        });
        let answered = answers.iter().filter(|(status, _)| *status == 200).count();
        last = format!("{answered} of 24 answered; the other endpoint: {metadata:?}");
        let Some((status, body, true)) = metadata else {
            continue; // spread over more than a second, or the refusal came too late
        };
        if answered != 20 {
            continue; // some arrived in the next second
        }
        let refused: Vec<&String> = answers
            .iter()
            .filter(|(status, _)| *status == 429)
            .map(|(_, body)| body)
            .collect();
        assert_eq!(refused.len(), 4, "{answers:?}");
        for body in refused {
            let error: Value = serde_json::from_str(body).unwrap();
            assert_eq!(error["error"], "too_many_requests", "{body}");
            let description = error["error_description"].as_str().unwrap_or_default();
            assert!(description.starts_with("Too many requests"), "{body}");
        }
        assert_eq!(status, 200, "the other endpoints count apart: {body}");
        return;
    }
    panic!(
        "no attempt answered exactly 20 of 24 identity requests sent at once, and another \
         endpoint within the second: {last}"
    );
}
