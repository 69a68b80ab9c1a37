//! What the service's loopback tests share: an emulator, a service bound to a free port in its
//! own runtime, and requests to both.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use imds_attest::imds::FetchOptions;
use imds_attest_service::{Config, Service};
use imds_attest_testpki::temp::{self, TempDir};
use imds_emulator::Background;
use serde_json::Value;

/// An emulator (whose PKI the services trust) and a scratch folder for configs.
pub struct World {
    pub emulator: Background,
    pub dir: TempDir,
    // Last: the PKI folder goes once the emulator has stopped.
    _pki: TempDir,
}

impl World {
    pub fn new() -> World {
        let pki = temp::dir();
        let emulator =
            Background::start(imds_emulator::Config::new(pki.path().to_path_buf())).unwrap();
        World {
            emulator,
            dir: temp::dir(),
            _pki: pki,
        }
    }

    /// A config file trusting the emulator, on a free loopback port, with `extra` appended.
    pub fn config(&self, name: &str, top: &str, extra: &str) -> PathBuf {
        let pki = self.emulator.pki_dir();
        let text = format!(
            "listen = \"127.0.0.1:0\"\n{top}\n[trust]\nroots = [{:?}]\nintermediates = [{:?}]\n{extra}\n",
            pki.join("root.pem"),
            pki.join("intermediate.pem"),
        );
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Fetches a document from the emulator carrying `nonce`.
    pub fn document(&self, nonce: &str) -> String {
        let mut options = FetchOptions::default();
        options.endpoint = self.emulator.url().to_owned();
        options.nonce = Some(nonce.to_owned());
        options.backoff = Duration::from_millis(50);
        options.deadline = Duration::from_secs(20);
        imds_attest::imds::fetch_blocking(&options, |_| {})
            .unwrap()
            .body
    }
}

/// An emulator-shaped PKI in `dir` and a config trusting it, for tests that need many
/// documents (the emulator answers 5 a second): sign them with [`sign`].
pub fn signing_pki(dir: &Path, extra: &str) -> (imds_emulator::Pki, PathBuf) {
    let pki = imds_emulator::Pki::open(
        &dir.join("pki"),
        imds_emulator::Cloud::Public,
        "eastus",
        imds_emulator::Chain::G1,
        "http://127.0.0.1:1",
    )
    .unwrap();
    let config = dir.join("signed.toml");
    let text = format!(
        "listen = \"127.0.0.1:0\"\n[trust]\nroots = [{:?}]\nintermediates = [{:?}]\n{extra}\n",
        pki.dir.join("root.pem"),
        pki.dir.join("intermediate.pem"),
    );
    std::fs::write(&config, text).unwrap();
    (pki, config)
}

/// IMDS responses for these nonces, created now and signed by `pki`'s leaf.
pub fn sign(pki: &imds_emulator::Pki, nonces: &[String]) -> Vec<String> {
    let created = time::OffsetDateTime::now_utc();
    let created = created - time::Duration::nanoseconds(created.nanosecond().into());
    nonces
        .iter()
        .map(|nonce| {
            let claims = imds_attest_testpki::claims_json(nonce, created);
            let der = imds_attest_testpki::DocSpec::imds(&claims).sign(&pki.leaf);
            imds_attest_testpki::imds_response(&der)
        })
        .collect()
}

/// A service serving from its own runtime until dropped.
pub struct Running {
    pub url: String,
    pub runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

pub fn start(config: &Path) -> Running {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = Config::load(config).unwrap();
    let service = runtime.block_on(Service::bind(config)).unwrap();
    let url = format!("http://{}", service.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel();
    runtime.spawn(service.run(async {
        let _ = stopped.await;
    }));
    Running {
        url,
        runtime,
        stop: Some(stop),
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A status and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn kind(&self) -> &str {
        self.body["error"]["kind"].as_str().unwrap_or("")
    }
}

pub async fn post(
    client: &reqwest::Client,
    url: &str,
    body: impl Into<reqwest::Body>,
    token: Option<&str>,
) -> Answer {
    let mut request = client.post(url).body(body);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

pub async fn get(client: &reqwest::Client, url: &str) -> Answer {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

impl Running {
    /// `POST /v1/challenges`: the nonce.
    pub fn challenge(&self, token: Option<&str>) -> String {
        let url = format!("{}/v1/challenges", self.url);
        let answer = self
            .runtime
            .block_on(async { post(&client(), &url, "", token).await });
        assert_eq!(answer.status, 201, "{answer:?}");
        assert!(answer.body["expiresAt"].is_string());
        answer.body["nonce"].as_str().unwrap().to_owned()
    }

    pub fn verify(&self, body: impl Into<reqwest::Body>, token: Option<&str>) -> Answer {
        let url = format!("{}/v1/verify", self.url);
        let body = body.into();
        self.runtime
            .block_on(async { post(&client(), &url, body, token).await })
    }

    pub fn get(&self, path: &str) -> Answer {
        let url = format!("{}{path}", self.url);
        self.runtime.block_on(async { get(&client(), &url).await })
    }
}
