//! `imds-attest attest`: on the VM, the whole licence check against an `imds-attest serve`
//! service: a challenge from it, a document from IMDS carrying that nonce, the verdict from it.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use imds_attest::imds::{fetch, FetchOptions};
use serde_json::Value;

use crate::error::CliError;

/// The longest answer read from the service: its verdicts are a few kilobytes.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// `imds-attest attest`.
#[derive(Args)]
pub struct AttestArgs {
    /// The service's base URL, such as http://licence.internal:8700.
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// A PEM file of the CA (or self-signed certificate) to trust for an https:// server, in
    /// addition to the system's roots.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// A file whose first line is the bearer token the service wants.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    #[command(flatten)]
    pub imds: crate::options::ImdsArgs,
    /// Give up on each step after this many seconds (the IMDS fetch, retries included).
    #[arg(long, value_name = "SECONDS", default_value_t = 70)]
    pub timeout: u64,
    /// Machine-readable output: the service's JSON verdict on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Runs the three steps; a rejection by the service, or any step failing, is exit status 1.
pub fn run(args: &AttestArgs) -> Result<(), CliError> {
    crate::options::check_http_url("--server", &args.server)?;
    args.imds.check()?;
    let token = args.token_file.as_deref().map(read_token).transpose()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start a runtime: {e}")))?;
    let verdict = runtime.block_on(attest(args, token.as_deref()))?;
    print(&verdict, args.json).map_err(CliError::Output)
}

async fn attest(args: &AttestArgs, token: Option<&str>) -> Result<Value, CliError> {
    let server = args.server.trim_end_matches('/');
    let mut builder = reqwest::Client::builder();
    if let Some(path) = &args.ca_cert {
        let pem = std::fs::read(path)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            CliError::Usage(format!("{} is not PEM certificates: {e}", path.display()))
        })? {
            builder = builder.add_root_certificate(cert);
        }
    }
    let client = builder
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(args.timeout))
        .build()
        .map_err(|e| CliError::Usage(format!("cannot build the HTTP client: {e}")))?;

    let challenge = call(
        &client,
        &format!("{server}/v1/challenges"),
        Vec::new(),
        token,
    )
    .await?;
    let nonce = match challenge {
        (201, body) => body
            .get("nonce")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| CliError::Remote {
                kind: None,
                message: "the service's challenge has no nonce".into(),
            })?,
        (status, body) => return Err(refused("no challenge", status, &body)),
    };

    let mut options = FetchOptions::default();
    options.endpoint.clone_from(&args.imds.endpoint);
    options.nonce = Some(nonce);
    options.deadline = Duration::from_secs(args.timeout);
    let fetched = fetch(&options, |retry| {
        eprintln!(
            "imds-attest: attempt {} failed: {}; retrying in {:.1} s",
            retry.attempt,
            retry.reason,
            retry.delay.as_secs_f64()
        );
    })
    .await
    .map_err(CliError::FetchFailed)?;

    let url = format!("{server}/v1/verify");
    match call(&client, &url, fetched.body.into_bytes(), token).await? {
        (200, body) if body.get("verified") == Some(&Value::Bool(true)) => Ok(body),
        (status, body) => Err(refused("rejected", status, &body)),
    }
}

/// One POST; the status and the JSON answer (`null` if it is not JSON).
async fn call(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    token: Option<&str>,
) -> Result<(u16, Value), CliError> {
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    // reqwest's own line ("error sending request") hides the cause, such as a refused
    // connection, in its source chain.
    let unreachable = |e: reqwest::Error| {
        CliError::Unreachable(format!(
            "cannot reach the service at {url}: {}",
            with_sources(&e)
        ))
    };
    let mut response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(CliError::Remote {
                kind: None,
                message: format!("the service's answer exceeds {MAX_ANSWER_BYTES} bytes"),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// An error and its causes, each once, joined by `: `.
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A refusal by the service, with its kind and message when it sent them.
fn refused(what: &str, status: u16, body: &Value) -> CliError {
    let error = body.get("error");
    let field = |name| error.and_then(|e| e.get(name)).and_then(Value::as_str);
    let message = field("message").unwrap_or("no reason given");
    CliError::Remote {
        kind: field("kind").map(str::to_owned),
        message: format!("{what} by the service (HTTP {status}): {message}"),
    }
}

/// The first line that is not blank or a `#` comment.
fn read_token(path: &std::path::Path) -> Result<String, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .ok_or_else(|| CliError::Usage(format!("{} holds no token", path.display())))
}

/// The service's verdict: its JSON as sent, or a few lines.
fn print(verdict: &Value, as_json: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if as_json {
        serde_json::to_writer(&mut out, verdict).map_err(std::io::Error::other)?;
        writeln!(out)?;
        return out.flush();
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("-").to_owned();
    let claims = verdict.get("claims");
    writeln!(out, "VERIFIED by the licence service")?;
    writeln!(out, "cloud           {}", text(verdict.get("cloud")))?;
    if let Some(rule) = verdict.get("rule").and_then(Value::as_str) {
        writeln!(out, "rule            {rule}")?;
    }
    writeln!(
        out,
        "vmId            {}",
        text(claims.and_then(|c| c.get("vmId")))
    )?;
    if let Some(sub) = claims
        .and_then(|c| c.get("subscriptionId"))
        .and_then(Value::as_str)
    {
        writeln!(out, "subscriptionId  {sub}")?;
    }
    writeln!(
        out,
        "nonce           {} (redeemed by the service)",
        text(claims.and_then(|c| c.get("nonce")))
    )?;
    out.flush()
}
