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
    let mut script = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::from(args.shell),
        &mut command,
        BIN_NAME,
        &mut script,
    );
    if let Shell::Bash = args.shell {
        script = bash_fixed(&script);
    }
    let mut out = io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

/// The name shells complete.
const BIN_NAME: &str = "imds-attest";

/// clap_complete's bash script names a subcommand's state `imds__attest__subcmd__verify`
/// where it sets it but `imds__subcmd__attest__subcmd__verify` where it matches it (it turns
/// the `-` of the binary's name into a subcommand separator there), so no option of any
/// subcommand was ever completed: the matching side is renamed to the setting side.
fn bash_fixed(script: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    let wrong = BIN_NAME.replace('-', "__subcmd__");
    let right = BIN_NAME.replace('-', "__");
    text.replace(&format!("{wrong}__subcmd__"), &format!("{right}__subcmd__"))
        .into_bytes()
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
