//! `imds-emulator`: a local Azure IMDS for tests and CI.
#![forbid(unsafe_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use imds_emulator::{Chain, Cloud, Config, Emulator, Faults, VmIdentity};

#[derive(Parser)]
#[command(
    name = "imds-emulator",
    version,
    about = "A local Azure Instance Metadata Service for tests"
)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Folder for the signing PKI: created on first start, reused after. Trust its root.pem
    /// and intermediate.pem.
    #[arg(long, value_name = "DIR")]
    pki_dir: PathBuf,
    /// The cloud whose name the signer bears (public, usgov, china, germany).
    #[arg(long, default_value = "public")]
    cloud: Cloud,
    /// The region in the signer's name and the VM's location.
    #[arg(long, default_value = "eastus")]
    region: String,
    /// The VM: a JSON file, or TOML if its name ends in .toml (see docs/src/emulator.md); defaults for
    /// what it leaves out, flags over what it says.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective configuration (JSON) and exit.
    #[arg(long)]
    print_config: bool,
    /// The VM's id (over the config file's vmId).
    #[arg(long, value_name = "ID")]
    vm_id: Option<String>,
    /// The VM's name (over the config file's name).
    #[arg(long, value_name = "NAME")]
    vm_name: Option<String>,
    /// The tenant whose issuer signs the tokens (over the config file's tenantId).
    #[arg(long, value_name = "ID")]
    tenant_id: Option<String>,
    /// The VM's user data, base64 (over the config file's userData).
    #[arg(long, value_name = "BASE64")]
    user_data: Option<String>,
    /// Answer the next N requests with --fail-status.
    #[arg(long, value_name = "N", default_value_t = 0)]
    fail_count: u32,
    /// The status of injected failures: 410, 429, 500 or 503.
    #[arg(long, value_name = "STATUS", value_parser = ["410", "429", "500", "503"])]
    fail_status: Option<String>,
    /// The Retry-After seconds sent with 429.
    #[arg(long, value_name = "SECONDS")]
    retry_after: Option<u32>,
    /// Delay every answer by this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Serve the previous document (a stale nonce) for the next N document requests.
    #[arg(long, value_name = "N", default_value_t = 0)]
    stale_count: u32,
    /// Also serve the old VM extension's token endpoint, `GET /oauth2/token`, here (it was
    /// 127.0.0.1:50342 on Azure).
    #[arg(long, value_name = "ADDR")]
    extension_listen: Option<SocketAddr>,
    /// The signing chain: g1 (root, issuing CA, leaf) or g2 (root, cross-signed intermediate
    /// root, issuing CA, leaf, like the 2026 chains). A PKI folder of the other shape is
    /// made afresh.
    #[arg(long, default_value = "g1")]
    chain: Chain,
    /// Rotate to a new issuing CA under the same root once at start.
    #[arg(long)]
    rotate_at_start: bool,
    /// Run scheduled events this many times faster than real time.
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    time_scale: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imds-emulator: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut vm = match &args.config {
        Some(path) => VmIdentity::from_file(path)?,
        None => VmIdentity::default(),
    };
    let overrides = [
        (args.vm_id, &mut vm.vm_id),
        (args.vm_name, &mut vm.name),
        (args.tenant_id, &mut vm.tenant_id),
        (args.user_data, &mut vm.user_data),
    ];
    for (flag, field) in overrides {
        if let Some(value) = flag {
            *field = value;
        }
    }
    let config = Config {
        pki_dir: args.pki_dir,
        cloud: args.cloud,
        region: args.region,
        vm,
        faults: Faults {
            fail_status: args.fail_status.and_then(|s| s.parse().ok()),
            fail_count: args.fail_count,
            retry_after: args.retry_after,
            latency_ms: args.latency_ms,
            stale_count: args.stale_count,
        },
        extension_listen: args.extension_listen,
        time_scale: args.time_scale,
        chain: args.chain,
        rotate_at_start: args.rotate_at_start,
    };
    // The numbers' ranges, before printing a configuration the emulator would refuse.
    config.check()?;
    if args.print_config {
        let text = serde_json::to_string_pretty(&config.effective())
            .map_err(|e| format!("cannot print the configuration: {e}"))?;
        let mut out = std::io::stdout().lock();
        return writeln!(out, "{text}").map_err(|e| format!("cannot write: {e}"));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(async {
        let emulator = Emulator::bind(config, args.listen).await?;
        let dir = emulator.pki_dir().display().to_string();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "imds-emulator listening on http://{}", emulator.addr());
        if let Some(addr) = emulator.extension_addr() {
            let _ = writeln!(
                out,
                "VM extension token endpoint on http://{addr}/oauth2/token"
            );
        }
        let _ = writeln!(
            out,
            "trust: --root {dir}/root.pem --intermediate {dir}/intermediate.pem"
        );
        let _ = out.flush();
        drop(out);
        tokio::select! {
            served = emulator.serve() => served,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}
