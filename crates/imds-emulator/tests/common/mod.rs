//! What the loopback tests share: an emulator on an ephemeral port and raw requests to it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use imds_attest::imds::FetchOptions;
use imds_attest::TrustStore;
use imds_attest_testpki::temp::{self, TempDir};
use imds_emulator::{Background, Config};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::Value;

/// The header every IMDS request carries.
pub const MD: (&str, &str) = ("Metadata", "true");

pub struct Running {
    pub url: String,
    pub dir: PathBuf,
    pub extension_url: Option<String>,
    runtime: tokio::runtime::Runtime,
    emulator: Background,
    // Last: the PKI folder goes once the emulator has stopped.
    pki: TempDir,
}

pub fn start(edit: impl FnOnce(&mut Config)) -> Running {
    let pki = temp::dir();
    let mut config = Config::new(pki.path().to_path_buf());
    edit(&mut config);
    let emulator = Background::start(config).unwrap();
    // A runtime of the test's own for the raw requests.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    Running {
        url: emulator.url().to_owned(),
        dir: emulator.pki_dir().to_path_buf(),
        extension_url: emulator.extension_url().map(str::to_owned),
        runtime,
        emulator,
        pki,
    }
}

impl Running {
    /// Stops the emulator and hands back its PKI folder, for another to start on.
    pub fn stop(self) -> TempDir {
        let Running {
            emulator,
            runtime,
            pki,
            ..
        } = self;
        drop(emulator);
        drop(runtime);
        pki
    }

    pub fn options(&self) -> FetchOptions {
        edited(FetchOptions::default(), |o| {
            o.endpoint = self.url.clone();
            o.backoff = Duration::from_millis(50);
            o.deadline = Duration::from_secs(10);
        })
    }

    /// [`options`](Self::options) asking for `nonce`.
    pub fn with_nonce(&self, nonce: &str) -> FetchOptions {
        edited(self.options(), |o| o.nonce = Some(nonce.into()))
    }

    pub fn trust(&self) -> TrustStore {
        let read = |name: &str| std::fs::read(self.dir.join(name)).unwrap();
        TrustStore::from_pem(&read("root.pem"), &read("intermediate.pem")).unwrap()
    }

    pub fn set_faults(&self, faults: &str) {
        let (status, _) = self.raw(reqwest::Method::POST, "/admin/faults", &[], Some(faults));
        assert_eq!(status, 200);
    }

    /// One request with the given headers; (status, body).
    pub fn raw(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, String) {
        self.raw_at(&self.url, method, path_and_query, headers, body)
    }

    /// A GET after a pause that keeps a test under IMDS's 5 requests a second.
    pub fn get(&self, path_and_query: &str, headers: &[(&str, &str)]) -> (u16, String) {
        std::thread::sleep(Duration::from_millis(210));
        self.raw(reqwest::Method::GET, path_and_query, headers, None)
    }

    /// A GET of `path` (no headers) answered with bytes: (status, body).
    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let url = format!("{}{path}", self.url);
        self.runtime.block_on(async move {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let resp = client.get(url).send().await.unwrap();
            (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
        })
    }

    /// [`raw`](Self::raw) to another base URL (the extension listener).
    pub fn raw_at(
        &self,
        base: &str,
        method: reqwest::Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, String) {
        let url = format!("{base}{path_and_query}");
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let body = body.map(str::to_owned);
        self.runtime.block_on(async move {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let mut req = client.request(method, url);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            if let Some(b) = body {
                req = req.body(b);
            }
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        })
    }
}

/// `options` changed by `edit` (FetchOptions is non-exhaustive: no struct literal).
pub fn edited(mut options: FetchOptions, edit: impl FnOnce(&mut FetchOptions)) -> FetchOptions {
    edit(&mut options);
    options
}

/// The JWT's claims after its RS256 signature verified against `jwks`.
pub fn verified_claims(jwt: &str, jwks: &Value) -> Value {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's kid is in the JWKS");
    let component = |name: &str| {
        BigNum::from_slice(&URL_SAFE_NO_PAD.decode(key[name].as_str().unwrap()).unwrap()).unwrap()
    };
    let public =
        PKey::from_rsa(Rsa::from_public_components(component("n"), component("e")).unwrap())
            .unwrap();
    let mut verifier = openssl::sign::Verifier::new(MessageDigest::sha256(), &public).unwrap();
    verifier
        .update(format!("{}.{}", parts[0], parts[1]).as_bytes())
        .unwrap();
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert!(
        verifier.verify(&signature).unwrap(),
        "RS256 signature verifies"
    );
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

pub fn jwks(r: &Running) -> Value {
    let (status, body) = r.get("/admin/jwks", &[]);
    assert_eq!(status, 200);
    let served: Value = serde_json::from_str(&body).unwrap();
    let file: Value =
        serde_json::from_slice(&std::fs::read(r.dir.join("jwks.json")).unwrap()).unwrap();
    assert_eq!(served, file, "the endpoint serves the pki dir's jwks.json");
    served
}
