//! `imds-attest`: verify Azure IMDS attested documents from the command line, fetch them on
//! a VM, inspect them, and issue challenges that `verify --store` redeems once.
//!
//! Exit status: 0 success, 1 rejected (for any reason, malformed bytes included), fetch
//! failed or challenge store unavailable, 2 usage error or unreadable file; chosen in
//! [`error::exit_status`].
#![forbid(unsafe_code)]

mod attest;
mod challenge;
mod cli;
mod completions;
mod error;
mod fetch;
mod input;
mod inspect;
mod options;
mod output;
mod serve;
mod store;
mod trust;
mod verify;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::error::CliError;

/// mimalloc rather than glibc's malloc: the service's requests and a warm verification both
/// allocate, and this machine measured glibc's at a tenth of the service's CPU per request
/// (`cargo bench -p imds-attest-service --bench serve`, which runs with the same allocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    let (outcome, json) = match Cli::try_parse_from(&raw) {
        Ok(cli) => (cli.command.run(), cli.command.json()),
        // --help and --version: not an error, and not a verdict to put in JSON.
        Err(e) if !e.use_stderr() => (e.print().map_err(CliError::Output), false),
        Err(e) => (Err(CliError::Clap(e)), cli::json_requested(&raw)),
    };
    if let Err(e) = &outcome {
        if !e.is_closed_pipe() {
            output::error(e, json);
        }
    }
    error::exit_status(&outcome)
}
