//! The policy: a rules file's `[verify]` section, the options over it, and its rules.

use std::path::Path;

use imds_attest::{Cloud, Policy, Rules};
use time::Duration;

use crate::error::{FileRole, SetupError};
use crate::files::read_capped;

/// What a face was asked for: a rules file (loaded with [`load_rules`]) and the options that
/// override its `[verify]` section. Every field left `None` (or empty) keeps the rules file's
/// value, or the library's default without one.
#[derive(Debug, Clone, Default)]
pub struct PolicySettings {
    /// The claim rules, whose `[verify]` section gives the defaults below.
    pub rules: Option<Rules>,
    /// The allowed clouds; empty: the rules file's, else every cloud.
    pub clouds: Vec<Cloud>,
    /// The clock skew tolerated on createdOn and expiresOn.
    pub skew: Option<Duration>,
    /// The oldest a document may be.
    pub max_age: Option<Duration>,
}

impl PolicySettings {
    /// The policy: the rules file's `[verify]` section first, then each option given over
    /// it, then the rules.
    ///
    /// ```
    /// use imds_attest::Rules;
    /// use imds_attest_setup::PolicySettings;
    /// use time::Duration;
    ///
    /// let rules = Rules::parse("[verify]\nskew_seconds = 60\nmax_age_seconds = 600\n", "r.toml").unwrap();
    /// let policy = PolicySettings {
    ///     rules: Some(rules),
    ///     skew: Some(Duration::seconds(5)),
    ///     ..PolicySettings::default()
    /// }
    /// .build();
    /// assert_eq!(policy.skew(), Duration::seconds(5));          // the option wins
    /// assert_eq!(policy.max_age(), Some(Duration::seconds(600))); // the file's stays
    /// ```
    pub fn build(self) -> Policy {
        let mut policy = match &self.rules {
            Some(rules) => rules.apply_verify_section(Policy::default()),
            None => Policy::default(),
        };
        if let Some(skew) = self.skew {
            policy = policy.with_skew(skew);
        }
        if !self.clouds.is_empty() {
            policy = policy.with_clouds(&self.clouds);
        }
        if let Some(max_age) = self.max_age {
            policy = policy.with_max_age(max_age);
        }
        match self.rules {
            Some(rules) => policy.with_rules(rules),
            None => policy,
        }
    }
}

/// Reads and parses a claim rules file, named in errors as `path` shows. An unreadable,
/// oversized or invalid file is kind `rules_file`, with the line at fault when there is one.
///
/// ```
/// let e = imds_attest_setup::load_rules("/nonexistent/rules.toml".as_ref()).unwrap_err();
/// assert_eq!(e.kind().as_str(), "rules_file");
/// ```
pub fn load_rules(path: &Path) -> Result<Rules, SetupError> {
    let bytes = read_capped(path, FileRole::RulesFile)?;
    let text = String::from_utf8(bytes).map_err(|e| SetupError::Unreadable {
        role: FileRole::RulesFile,
        path: path.to_path_buf(),
        message: format!("it is not UTF-8 text ({e})"),
    })?;
    Rules::parse(&text, &path.display().to_string()).map_err(SetupError::Refused)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use imds_attest::ErrorKind;

    #[test]
    fn options_override_the_verify_section_and_the_rules_stay() {
        let rules = Rules::parse(
            "[verify]\nclouds = [\"usgov\"]\nskew_seconds = 60\n\n[[allow]]\nname = \"plan\"\nsku = [\"pro\"]\n",
            "r.toml",
        )
        .unwrap();
        let from_file = PolicySettings {
            rules: Some(rules.clone()),
            ..PolicySettings::default()
        }
        .build();
        assert_eq!(from_file.clouds(), [Cloud::UsGov]);
        assert_eq!(from_file.skew(), Duration::seconds(60));
        assert!(from_file.rules().is_some());
        let overridden = PolicySettings {
            rules: Some(rules),
            clouds: vec![Cloud::Public],
            skew: Some(Duration::seconds(1)),
            max_age: Some(Duration::seconds(30)),
        }
        .build();
        assert_eq!(overridden.clouds(), [Cloud::Public]);
        assert_eq!(overridden.skew(), Duration::seconds(1));
        assert_eq!(overridden.max_age(), Some(Duration::seconds(30)));
        assert!(overridden.rules().is_some());
    }

    #[test]
    fn an_invalid_rules_file_is_a_rules_file_error_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        std::fs::write(&path, "[[allow]]\nname = \"x\"\nsku = 3\n").unwrap();
        let e = load_rules(&path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RulesFile);
        assert!(
            matches!(
                &e,
                SetupError::Refused(imds_attest::Error::RulesFile { line: 3, .. })
            ),
            "{e}"
        );
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert_eq!(load_rules(&path).unwrap_err().kind(), ErrorKind::RulesFile);
    }
}
