//! Reading a document from a file or standard input, never more than the size limit.

use std::io::{self, IsTerminal, Read};

use crate::error::CliError;

/// The hint for someone who ran the command without a file and is now staring at a terminal.
pub const STDIN_HINT: &str =
    "imds-attest: reading the document from standard input (Ctrl-D to end; pass a FILE to read a file)";

/// Reads `file` (`-`: standard input), at most one byte more than `max`, so that a huge input
/// is refused (by the parser's size check) without being held in memory.
pub fn read_document(file: &str, max: usize) -> Result<Vec<u8>, CliError> {
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::new();
    let read = if file == "-" {
        let stdin = io::stdin();
        if let Some(hint) = stdin_hint(stdin.is_terminal()) {
            eprintln!("{hint}");
        }
        stdin.lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    let name = if file == "-" { "standard input" } else { file };
    read.map_err(|e| CliError::Usage(format!("cannot read {name}: {e}")))?;
    Ok(bytes)
}

fn stdin_hint(stdin_is_terminal: bool) -> Option<&'static str> {
    stdin_is_terminal.then_some(STDIN_HINT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_at_standard_input_only_on_a_terminal() {
        assert_eq!(stdin_hint(true), Some(STDIN_HINT));
        assert_eq!(stdin_hint(false), None);
    }
}
