//! Reading the files a user names, never more than a configuration file may hold.

use std::io::Read;
use std::path::Path;

use crate::error::{FileRole, SetupError};

/// The most a trust PEM or a rules file may hold: far more than any (a PEM certificate is
/// about 2 KiB, the pinned trust of every cloud 60 KiB), and little enough that naming
/// `/dev/zero` or a log file by mistake is an error, not gigabytes read.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads `path` whole, refusing a file of more than [`MAX_FILE_BYTES`] without reading
/// further; `role` names what it was for in the error.
pub fn read_capped(path: &Path, role: FileRole) -> Result<Vec<u8>, SetupError> {
    let unreadable = |e: std::io::Error| SetupError::Unreadable {
        role,
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_FILE_BYTES) {
        return Err(SetupError::TooLarge {
            role,
            path: path.to_path_buf(),
            max: MAX_FILE_BYTES,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use imds_attest::ErrorKind;

    #[test]
    fn refuses_an_endless_file_after_the_cap() {
        let e = read_capped(Path::new("/dev/zero"), FileRole::TrustFile).unwrap_err();
        assert!(
            matches!(
                e,
                SetupError::TooLarge {
                    max: MAX_FILE_BYTES,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(e.kind(), ErrorKind::TrustFile);
    }

    #[test]
    fn a_missing_file_is_unreadable_with_its_role_kind() {
        let e = read_capped(Path::new("/nonexistent/rules.toml"), FileRole::RulesFile).unwrap_err();
        assert!(matches!(e, SetupError::Unreadable { .. }), "{e}");
        assert_eq!(e.kind(), ErrorKind::RulesFile);
        assert!(
            e.to_string()
                .starts_with("cannot read /nonexistent/rules.toml: "),
            "{e}"
        );
    }
}
