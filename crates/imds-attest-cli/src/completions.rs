//! `imds-attest completions` and `imds-attest man`: what shells and `man` read.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

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

/// `imds-attest man`.
#[derive(Args)]
pub struct ManArgs {
    /// Write a page for the command and one for each subcommand (imds-attest.1,
    /// imds-attest-verify.1, ...) into this directory instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Prints the manual page of `command` (the whole command line), or writes every page.
pub fn man(args: &ManArgs, command: clap::Command) -> Result<(), CliError> {
    // The pages the SEE ALSO-like list of subcommands names are the ones written: no page for
    // clap's `help` subcommand.
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let Some(dir) = &args.out_dir else {
        let mut out = io::stdout().lock();
        return render_page(&command, &[], &mut out)
            .and_then(|()| out.flush())
            .map_err(CliError::Output);
    };
    let mut written = Vec::new();
    write_pages(&command, &[], dir, &mut written).map_err(|e| {
        CliError::Usage(format!(
            "cannot write the manual pages to {}: {e}",
            dir.display()
        ))
    })?;
    let mut out = io::stdout().lock();
    written
        .iter()
        .try_for_each(|path| writeln!(out, "{}", path.display()))
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}

/// Writes the page of `command` and of each of its subcommands, depth first, into `dir`.
fn write_pages<'a>(
    command: &'a clap::Command,
    ancestors: &[&'a clap::Command],
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> io::Result<()> {
    let name = command.get_display_name().unwrap_or(command.get_name());
    let path = dir.join(format!("{name}.1"));
    let mut file = std::fs::File::create(&path)?;
    render_page(command, ancestors, &mut file)?;
    file.flush()?;
    written.push(path);
    let mut lineage = ancestors.to_vec();
    lineage.push(command);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, &lineage, dir, written)?;
    }
    Ok(())
}

/// One page: clap_mangen's sections, except that the exit status and the environment get
/// their own sections (clap_mangen puts the `after_help` text, our exit status, under
/// "EXTRA", and has no environment section).
fn render_page(
    command: &clap::Command,
    ancestors: &[&clap::Command],
    w: &mut dyn Write,
) -> io::Result<()> {
    // The footer names the program and its version, not a subcommand's bare name.
    let man = clap_mangen::Man::new(command.clone())
        .source(format!("imds-attest {}", env!("CARGO_PKG_VERSION")));
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(w)?;
    }
    if command.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(w)?;
    }
    // A subcommand without its own (trust list) has its parent's.
    let exit_status = std::iter::once(command)
        .chain(ancestors.iter().rev().copied())
        .find_map(|c| c.get_after_help())
        .map(|help| help.to_string());
    if let Some(text) = exit_status {
        writeln!(w, ".SH \"EXIT STATUS\"")?;
        for (status, meaning) in exit_statuses(&text) {
            writeln!(w, ".TP\n\\fB{status}\\fR\n{}", roff_text(&meaning))?;
        }
    }
    let environment = environment(command);
    if !environment.is_empty() {
        writeln!(w, ".SH ENVIRONMENT")?;
        for (name, meaning) in environment {
            writeln!(w, ".TP\n\\fB{name}\\fR\n{}", roff_text(&meaning))?;
        }
    }
    if command.get_version().is_some() {
        man.render_version_section(w)?;
    }
    Ok(())
}

/// `Exit status: 0 verified, 1 rejected, fetch failed, 2 usage error.` as its statuses and
/// meanings: a new status starts at a piece that begins with a number.
fn exit_statuses(text: &str) -> Vec<(String, String)> {
    let text = text.trim().trim_start_matches("Exit status:").trim();
    let text = text.strip_suffix('.').unwrap_or(text);
    let mut statuses: Vec<(String, String)> = Vec::new();
    for piece in text.split(", ") {
        let numbered = piece
            .split_once(' ')
            .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        match (numbered, statuses.last_mut()) {
            (Some((n, meaning)), _) => statuses.push((n.to_owned(), meaning.to_owned())),
            (None, Some((_, meaning))) => {
                meaning.push_str(", ");
                meaning.push_str(piece);
            }
            (None, None) => statuses.push((String::new(), piece.to_owned())),
        }
    }
    statuses
}

/// The variables the command (and its subcommands) read: each option's `env`, and what the
/// defaults depend on.
fn environment(command: &clap::Command) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut pending = vec![command];
    while let Some(c) = pending.pop() {
        for arg in c.get_arguments() {
            let Some(name) = arg.get_env().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            if found.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let long = arg
                .get_long()
                .map_or_else(String::new, |l| format!("--{l}"));
            found.push((name, format!("The default of {long}.")));
        }
        pending.extend(c.get_subcommands());
    }
    let trusts = |c: &clap::Command| c.get_arguments().any(|a| a.get_long() == Some("trust-dir"));
    if trusts(command)
        || command
            .get_subcommands()
            .any(|c| trusts(c) || c.get_subcommands().any(trusts))
    {
        found.push((
            crate::options::TRUST_DIR_VAR.into(),
            "The default trust directory, read when it exists and no --root is given; \
             --trust-dir overrides it."
                .into(),
        ));
        found.push((
            "XDG_CONFIG_HOME".into(),
            "Without --trust-dir or IMDS_ATTEST_TRUST_DIR, $XDG_CONFIG_HOME/imds-attest/trust is \
             the trust directory when it exists and no --root is given."
                .into(),
        ));
    }
    let serves = command.get_name() == "serve" || command.find_subcommand("serve").is_some();
    if serves {
        found.push((
            "NO_COLOR".into(),
            "serve: set and not empty, the text log has no colours (it has none anyway unless \
             standard error is a terminal)."
                .into(),
        ));
    }
    found.sort();
    found
}

/// Text for a roff line: backslashes and hyphens escaped, and no line starting with a control
/// character.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
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
