//! Managed identities: which identity a token request picks, and the token itself, a JWT
//! (RS256) signed by a key kept in the PKI folder and published as a JWKS.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Seconds a token lives, as IMDS issues them (about 24 hours).
pub const TOKEN_LIFETIME_SECONDS: i64 = 86_400;

/// The VM's managed identities. Config: `{"systemAssigned": true, "systemClientId": "...",
/// "systemObjectId": "...", "userAssigned": [{"clientId": "...", "objectId": "...",
/// "msiResId": "/subscriptions/.../userAssignedIdentities/name"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Identities {
    /// Whether the VM has a system-assigned identity.
    pub system_assigned: bool,
    /// The system-assigned identity's application (client) id, the token's `appid`.
    pub system_client_id: String,
    /// The system-assigned identity's object (principal) id, the token's `oid` and `sub`.
    pub system_object_id: String,
    /// The user-assigned identities.
    pub user_assigned: Vec<UserAssigned>,
}

impl Default for Identities {
    fn default() -> Self {
        Identities {
            system_assigned: true,
            system_client_id: "5a3f4b7e-0c1d-4e2f-9a8b-7c6d5e4f3a2b".into(),
            system_object_id: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b".into(),
            user_assigned: Vec::new(),
        }
    }
}

/// A user-assigned identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct UserAssigned {
    /// Its application (client) id: `client_id=` picks it.
    pub client_id: String,
    /// Its object (principal) id: `object_id=` picks it.
    pub object_id: String,
    /// Its ARM resource id: `msi_res_id=` picks it (compared without case, as ARM does).
    pub msi_res_id: String,
}

/// The identity a request picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Picked {
    pub client_id: String,
    pub object_id: String,
    pub msi_res_id: Option<String>,
}

/// Why no identity was picked; each is a 400 `invalid_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PickError {
    SeveralSelectors,
    NotFound,
    Ambiguous,
}

impl PickError {
    pub(crate) fn description(&self) -> &'static str {
        match self {
            PickError::SeveralSelectors => {
                "Only one of client_id, object_id or msi_res_id may be specified"
            }
            PickError::NotFound => "Identity not found",
            PickError::Ambiguous => {
                "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"
            }
        }
    }
}

impl Identities {
    /// Picks by at most one selector; without one, the system-assigned identity, else the
    /// only user-assigned one.
    pub(crate) fn pick(
        &self,
        client_id: Option<&str>,
        object_id: Option<&str>,
        msi_res_id: Option<&str>,
    ) -> Result<Picked, PickError> {
        let given = [client_id, object_id, msi_res_id]
            .iter()
            .filter(|s| s.is_some())
            .count();
        if given > 1 {
            return Err(PickError::SeveralSelectors);
        }
        let user = |u: &UserAssigned| Picked {
            client_id: u.client_id.clone(),
            object_id: u.object_id.clone(),
            msi_res_id: Some(u.msi_res_id.clone()),
        };
        let found = if let Some(id) = client_id {
            self.user_assigned.iter().find(|u| u.client_id == id)
        } else if let Some(id) = object_id {
            self.user_assigned.iter().find(|u| u.object_id == id)
        } else if let Some(id) = msi_res_id {
            self.user_assigned
                .iter()
                .find(|u| u.msi_res_id.eq_ignore_ascii_case(id))
        } else if self.system_assigned {
            return Ok(Picked {
                client_id: self.system_client_id.clone(),
                object_id: self.system_object_id.clone(),
                msi_res_id: None,
            });
        } else {
            match self.user_assigned.as_slice() {
                [] => return Err(PickError::NotFound),
                [only] => Some(only),
                _ => return Err(PickError::Ambiguous),
            }
        };
        found.map(user).ok_or(PickError::NotFound)
    }
}

/// The token signing key and its JWKS.
pub(crate) struct TokenSigner {
    key: PKey<Private>,
    kid: String,
    jwks: Value,
}

impl TokenSigner {
    /// Loads `token.key.pem` from `dir` or creates it; writes `jwks.json` beside it.
    pub(crate) fn open(dir: &Path) -> Result<TokenSigner, String> {
        let path = dir.join("token.key.pem");
        let key = match std::fs::read(&path) {
            Ok(pem) => PKey::private_key_from_pem(&pem)
                .map_err(|e| format!("{}: unreadable key: {e}", path.display()))?,
            Err(_) => {
                let key = Rsa::generate(2048)
                    .and_then(PKey::from_rsa)
                    .map_err(|e| format!("cannot create the token key: {e}"))?;
                let pem = key
                    .private_key_to_pem_pkcs8()
                    .map_err(|e| format!("cannot encode the token key: {e}"))?;
                crate::pki::write_private(&path, &pem)?;
                key
            }
        };
        let rsa = key
            .rsa()
            .map_err(|e| format!("{}: not an RSA key: {e}", path.display()))?;
        let n = URL_SAFE_NO_PAD.encode(rsa.n().to_vec());
        let e = URL_SAFE_NO_PAD.encode(rsa.e().to_vec());
        // RFC 7638 thumbprint: the required members, sorted, no spaces.
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let digest = openssl::sha::sha256(canonical.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(digest);
        let jwks = json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e}]});
        let jwks_path = dir.join("jwks.json");
        std::fs::write(&jwks_path, jwks.to_string())
            .map_err(|e| format!("cannot write {}: {e}", jwks_path.display()))?;
        Ok(TokenSigner { key, kid, jwks })
    }

    /// The published key set.
    pub(crate) fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// The token response for `identity` and `resource` at Unix time `now`, as IMDS sends it
    /// (the numbers as strings).
    pub(crate) fn token_response(
        &self,
        identity: &Picked,
        resource: &str,
        tenant_id: &str,
        now: i64,
    ) -> Result<Value, String> {
        let expires_on = now + TOKEN_LIFETIME_SECONDS;
        let mut claims = json!({
            "aud": resource,
            "iss": format!("https://sts.windows.net/{tenant_id}/"),
            "iat": now,
            "nbf": now,
            "exp": expires_on,
            "appid": identity.client_id,
            "appidacr": "2",
            "idtyp": "app",
            "oid": identity.object_id,
            "sub": identity.object_id,
            "tid": tenant_id,
            "ver": "1.0",
        });
        if let (Some(id), Value::Object(map)) = (&identity.msi_res_id, &mut claims) {
            map.insert("xms_mirid".into(), Value::String(id.clone()));
        }
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = Signer::new(MessageDigest::sha256(), &self.key)
            .and_then(|mut s| {
                s.update(signing_input.as_bytes())?;
                s.sign_to_vec()
            })
            .map_err(|e| format!("cannot sign the token: {e}"))?;
        Ok(json!({
            "access_token": format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)),
            "refresh_token": "",
            "expires_in": TOKEN_LIFETIME_SECONDS.to_string(),
            "expires_on": expires_on.to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }))
    }
}
