//! `imds-attest completions` and `imds-attest man`: what shells and `man` read.

use std::io::{self, Write};

use clap::{Args, ValueEnum};

use crate::error::CliError;

/// `imds-attest completions`.
#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells completion scripts are made for.
#[derive(Clone, Copy, ValueEnum)]
pub enum Shell {
    /// GNU Bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
    /// PowerShell.
    Powershell,
}

/// Prints the completion script of `command` (the whole command line).
pub fn run(args: &CompletionsArgs, mut command: clap::Command) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    clap_complete::generate(
        clap_complete::Shell::from(args.shell),
        &mut command,
        "imds-attest",
        &mut out,
    );
    out.flush().map_err(CliError::Output)
}

/// Prints the manual page of `command` (the whole command line).
pub fn man(command: clap::Command) -> Result<(), CliError> {
    crate::output::man(command).map_err(CliError::Output)
}

impl From<Shell> for clap_complete::Shell {
    fn from(shell: Shell) -> Self {
        match shell {
            Shell::Bash => clap_complete::Shell::Bash,
            Shell::Zsh => clap_complete::Shell::Zsh,
            Shell::Fish => clap_complete::Shell::Fish,
            Shell::Powershell => clap_complete::Shell::PowerShell,
        }
    }
}
