//! Opening the store a `--store URL` names, for `verify` and `challenge`.

use imds_attest_store::{Backend, Challenges};

use crate::error::CliError;

/// The warning a `memory:` store earns from the CLI: it ends with the process.
pub const MEMORY_STORE_WARNING: &str = "imds-attest: warning: the memory: store ends with this \
     command, so no other run shares it; use sqlite:PATH or redis://";

/// Opens the store `url` names. One that cannot be opened (a URL it does not accept:
/// `store_url`; a SQLite file that cannot be created or is readable by others:
/// `store_unavailable`) stops the command with exit status 2: the command line is wrong. The
/// message never repeats the URL, which may hold a password.
pub fn open(url: &str) -> Result<Challenges, CliError> {
    let store = imds_attest_store::open(url).map_err(CliError::StoreOpen)?;
    if store.backend() == Backend::Memory {
        eprintln!("{MEMORY_STORE_WARNING}");
    }
    Ok(Challenges::new(store))
}
