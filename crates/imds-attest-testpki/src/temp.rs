//! Temporary directories for tests, benchmarks and harnesses: `tempfile`'s, unique to the
//! caller and removed when dropped, so that no run sees another's files and none are left.

pub use tempfile::TempDir;

/// A new, empty directory, removed with its contents when the value is dropped: keep it as long
/// as anything (a PKI folder an emulator signs from, a store's file) lives in it.
pub fn dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("imds-attest-")
        .tempdir()
        .expect("a temporary directory")
}

/// A new, empty directory in `parent`: for what a whole test binary shares through a `static`,
/// which is never dropped, so that it stays under the target directory (`CARGO_TARGET_TMPDIR`)
/// rather than the system's temporary folder.
pub fn dir_in(parent: impl AsRef<std::path::Path>) -> TempDir {
    std::fs::create_dir_all(parent.as_ref()).expect("the parent of a temporary directory");
    tempfile::Builder::new()
        .prefix("imds-attest-")
        .tempdir_in(parent)
        .expect("a temporary directory")
}
