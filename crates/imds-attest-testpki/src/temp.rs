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
