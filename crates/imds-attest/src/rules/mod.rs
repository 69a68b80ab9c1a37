//! Claim rules: which verified documents a licence server accepts, by subscription, VM, plan,
//! SKU, licence type, region and cloud, read from a TOML file.
//!
//! ```toml
//! [verify]                      # optional: clouds, skew_seconds, max_age_seconds
//! clouds = ["public", "usgov"]
//! skew_seconds = 300
//!
//! [[deny]]                      # checked first: any match rejects
//! name = "revoked-customer"
//! subscription_id = "0a1b2c3d-0000-0000-0000-000000000000"
//!
//! [[allow]]                     # when any allow rule exists, a document must match one
//! name = "contoso-pro"
//! plan_publisher = "contoso"
//! plan_name = ["standard", "premium"]   # a string or a list: any of
//! ```
//!
//! A rule matches when every field it names matches. Values compare ASCII case-insensitively,
//! as ARM compares these identifiers; `""` matches an empty or absent claim. The rules are
//! checked by the verifier after every cryptographic and time check has passed.
//!
//! This module imports nothing from `policy`: a [`Policy`](crate::Policy) holds the rules, and
//! [`Rules::apply_verify_section`] is defined there. Here the rules and their verdict; reading
//! them from TOML is `parse.rs`.

mod parse;

use time::Duration;

use crate::claims::Claims;
use crate::cloud::Cloud;
use crate::error::{Error, RuleField};

/// Claim rules: deny rules, allow rules, and the `[verify]` section's defaults. No rules at
/// all accept every document.
///
/// ```
/// use imds_attest::{ErrorKind, Rules};
/// let rules = Rules::parse(
///     "[[allow]]\nname = \"contoso-pro\"\nplan_publisher = \"contoso\"\n",
///     "rules.toml",
/// )?;
/// assert_eq!(rules.allow_rules()[0].name(), "contoso-pro");
///
/// let bad = Rules::parse("[[allow]]\nname = \"all\"\n", "rules.toml").unwrap_err();
/// assert_eq!(bad.kind(), ErrorKind::RulesFile);
/// assert_eq!(
///     bad.to_string(),
///     "cannot use rules file rules.toml, line 1: empty rule \"all\": it names no field to \
///      match (subscription_id, vm_id, plan_publisher, plan_product, plan_name, sku, \
///      license_type, region, cloud)"
/// );
/// # Ok::<(), imds_attest::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    verify: VerifySection,
    deny: Vec<Rule>,
    allow: Vec<Rule>,
}

/// The `[verify]` section: defaults for the policy, which a caller's own settings override.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifySection {
    clouds: Option<Vec<Cloud>>,
    skew: Option<Duration>,
    max_age: Option<Duration>,
}

/// One deny or allow rule: a name and the values each field it names accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    name: String,
    line: usize,
    /// In [`RuleField::ALL`] order, each field once, each list non-empty.
    conditions: Vec<(RuleField, Vec<String>)>,
}

impl Rules {
    /// The `[verify]` section (empty when the file has none).
    pub fn verify_section(&self) -> &VerifySection {
        &self.verify
    }

    /// The deny rules, in file order.
    pub fn deny_rules(&self) -> &[Rule] {
        &self.deny
    }

    /// The allow rules, in file order.
    pub fn allow_rules(&self) -> &[Rule] {
        &self.allow
    }

    /// Whether there is no rule at all (every document is accepted).
    pub fn is_empty(&self) -> bool {
        self.deny.is_empty() && self.allow.is_empty()
    }

    /// The verdict of the rules on a document that passed every other check: the name of the
    /// allow rule it matched (`None` when there are no allow rules), or why it is refused.
    pub(crate) fn check(
        &self,
        claims: &Claims,
        region: Option<&str>,
        cloud: Cloud,
    ) -> Result<Option<&str>, Error> {
        let facts = Facts {
            claims,
            region,
            cloud,
        };
        if let Some(rule) = self.deny.iter().find(|r| r.mismatch(&facts).is_none()) {
            return Err(Error::DeniedByRule {
                rule: rule.name.clone(),
            });
        }
        let mut nearest: Option<(usize, &Rule, RuleField, &[String])> = None;
        for rule in &self.allow {
            let Some((field, expected)) = rule.mismatch(&facts) else {
                return Ok(Some(&rule.name));
            };
            let matching = rule.matching(&facts);
            if nearest.is_none_or(|(best, ..)| matching > best) {
                nearest = Some((matching, rule, field, expected));
            }
        }
        match nearest {
            None => Ok(None),
            Some((_, rule, field, expected)) => Err(Error::NoRuleMatched {
                nearest: rule.name.clone(),
                field,
                expected: expected.to_vec(),
                found: facts.value(field).map(str::to_owned),
            }),
        }
    }
}

impl VerifySection {
    /// The clouds allowed, when the section says.
    pub fn clouds(&self) -> Option<&[Cloud]> {
        self.clouds.as_deref()
    }

    /// The skew tolerated (`skew_seconds`), when the section says.
    pub fn skew(&self) -> Option<Duration> {
        self.skew
    }

    /// The maximum age (`max_age_seconds`), when the section says.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }
}

impl Rule {
    /// Its name, unique in the file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The line of the file where it begins.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The values the field accepts (any of them), when the rule names it.
    pub fn values(&self, field: RuleField) -> Option<&[String]> {
        self.conditions
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, values)| values.as_slice())
    }

    /// The first field (in [`RuleField::ALL`] order) the document does not match, with the
    /// values it accepts; `None` when the rule matches.
    fn mismatch(&self, facts: &Facts<'_>) -> Option<(RuleField, &[String])> {
        self.conditions
            .iter()
            .find(|(field, values)| !accepts(values, facts.value(*field)))
            .map(|(field, values)| (*field, values.as_slice()))
    }

    fn matching(&self, facts: &Facts<'_>) -> usize {
        self.conditions
            .iter()
            .filter(|(field, values)| accepts(values, facts.value(*field)))
            .count()
    }
}

/// What the rules compare: the claims, the signer's region and cloud.
struct Facts<'a> {
    claims: &'a Claims,
    region: Option<&'a str>,
    cloud: Cloud,
}

impl Facts<'_> {
    fn value(&self, field: RuleField) -> Option<&str> {
        let c = self.claims;
        let plan = c.plan.as_ref();
        match field {
            RuleField::SubscriptionId => c.subscription_id.as_deref(),
            RuleField::VmId => Some(&c.vm_id),
            RuleField::PlanPublisher => plan.map(|p| p.publisher.as_str()),
            RuleField::PlanProduct => plan.map(|p| p.product.as_str()),
            RuleField::PlanName => plan.map(|p| p.name.as_str()),
            RuleField::Sku => c.sku.as_deref(),
            RuleField::LicenseType => c.license_type.as_deref(),
            RuleField::Region => self.region,
            RuleField::Cloud => Some(self.cloud.name()),
        }
    }
}

/// Whether any of `values` matches the claim: ASCII case-insensitively, and `""` for an empty
/// or absent claim.
fn accepts(values: &[String], found: Option<&str>) -> bool {
    let found = found.unwrap_or_default();
    values.iter().any(|v| v.eq_ignore_ascii_case(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTENT: &str = r#"{"licenseType":"Windows_Server","nonce":"n","plan":{"name":"standard","product":"pro-vm","publisher":"contoso"},"sku":"2022-datacenter","subscriptionId":"8d10da13-8125-4ba9-a717-bf7490507b3d","timeStamp":{"createdOn":"11/19/25 12:53:30 -0000","expiresOn":"11/19/25 18:53:30 -0000"},"vmId":"ddc87bd2-3ebb-43dc-92a9-90b104cd9527"}"#;
    const NO_PLAN: &str = r#"{"licenseType":"","nonce":"n","plan":{"name":"","product":"","publisher":""},"sku":"","subscriptionId":"8a205152-b25a-417f-a676-80465535a6c9","timeStamp":{"createdOn":"11/19/25 12:53:30 -0000","expiresOn":"11/19/25 18:53:30 -0000"},"vmId":"5f0c3a52-1d4e-4c1b-9a8e-2b7d6c5e4f30"}"#;

    fn claims(content: &str) -> Claims {
        Claims::parse(content.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn rules(text: &str) -> Rules {
        Rules::parse(text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    fn verdict(text: &str, content: &str, region: Option<&str>) -> Result<Option<String>, Error> {
        rules(text)
            .check(&claims(content), region, Cloud::Public)
            .map(|r| r.map(str::to_owned))
    }

    /// Each field, as a string and as a list, in any case, against the claim it names.
    #[test]
    fn each_field_matches_its_claim_case_insensitively() {
        let table: [(&str, &str, &str); 9] = [
            (
                "subscription_id",
                "8D10DA13-8125-4BA9-A717-BF7490507B3D",
                "0a1b2c3d-0000-4000-8000-000000000000",
            ),
            (
                "vm_id",
                "DDC87BD2-3ebb-43dc-92a9-90b104cd9527",
                "0a1b2c3d-0000-4000-8000-000000000001",
            ),
            ("plan_publisher", "Contoso", "fabrikam"),
            ("plan_product", "PRO-VM", "basic-vm"),
            ("plan_name", "Standard", "premium"),
            ("sku", "2022-Datacenter", "2019-datacenter"),
            ("license_type", "windows_server", "Windows_Client"),
            ("region", "EastUS", "westeurope"),
            ("cloud", "PUBLIC", "usgov"),
        ];
        for (key, good, bad) in table {
            let one = format!("[[allow]]\nname = \"r\"\n{key} = \"{good}\"\n");
            assert_eq!(
                verdict(&one, CONTENT, Some("eastus")),
                Ok(Some("r".into())),
                "{key}"
            );
            let list = format!("[[allow]]\nname = \"r\"\n{key} = [\"{bad}\", \"{good}\"]\n");
            assert_eq!(
                verdict(&list, CONTENT, Some("eastus")),
                Ok(Some("r".into())),
                "{key}"
            );
            let miss = format!("[[allow]]\nname = \"r\"\n{key} = \"{bad}\"\n");
            let err = verdict(&miss, CONTENT, Some("eastus")).unwrap_err();
            let Error::NoRuleMatched { nearest, field, .. } = &err else {
                panic!("{key}: {err:?}");
            };
            assert_eq!((nearest.as_str(), field.key()), ("r", key));
        }
    }

    /// `""` matches an empty claim, an absent one, and the all-empty plan (`Claims::plan` is
    /// `None`); a non-empty value does not match an absent claim.
    #[test]
    fn an_empty_value_matches_an_empty_or_absent_claim() {
        for key in [
            "plan_publisher",
            "plan_product",
            "plan_name",
            "sku",
            "license_type",
            "region",
        ] {
            let text = format!("[[allow]]\nname = \"none\"\n{key} = \"\"\n");
            assert_eq!(
                verdict(&text, NO_PLAN, None),
                Ok(Some("none".into())),
                "{key}"
            );
            let text = format!("[[allow]]\nname = \"some\"\n{key} = \"x\"\n");
            assert_eq!(
                verdict(&text, NO_PLAN, None),
                Err(Error::NoRuleMatched {
                    nearest: "some".into(),
                    field: RuleField::ALL
                        .into_iter()
                        .find(|f| f.key() == key)
                        .unwrap_or(RuleField::Cloud),
                    expected: vec!["x".into()],
                    found: if key == "sku" || key == "license_type" {
                        Some(String::new())
                    } else {
                        None
                    },
                }),
                "{key}"
            );
        }
    }

    #[test]
    fn deny_rules_are_checked_before_allow_rules() {
        let text = "[[allow]]\nname = \"pro\"\nplan_publisher = \"contoso\"\n\
                    [[deny]]\nname = \"revoked\"\nsubscription_id = \"8d10da13-8125-4ba9-a717-bf7490507b3d\"\n";
        assert_eq!(
            verdict(text, CONTENT, None),
            Err(Error::DeniedByRule {
                rule: "revoked".into()
            })
        );
        // A deny rule alone rejects what it matches and accepts the rest, naming no rule.
        let deny_only =
            "[[deny]]\nname = \"revoked\"\nvm_id = \"5F0C3A52-1D4E-4C1B-9A8E-2B7D6C5E4F30\"\n";
        assert_eq!(verdict(deny_only, CONTENT, None), Ok(None));
        assert_eq!(
            verdict(deny_only, NO_PLAN, None),
            Err(Error::DeniedByRule {
                rule: "revoked".into()
            })
        );
    }

    #[test]
    fn no_rules_accept_every_document() {
        let none = Rules::default();
        assert!(none.is_empty());
        assert_eq!(
            none.check(&claims(CONTENT), None, Cloud::Public)
                .map(|r| r.map(str::to_owned)),
            Ok(None)
        );
        assert!(rules("[verify]\n").is_empty());
        assert_eq!(
            verdict("[verify]\nskew_seconds = 1\n", NO_PLAN, None),
            Ok(None)
        );
    }

    /// A rule matches only when every field it names matches; the nearest rule is the one with
    /// the most matching fields, the first on a tie, and the error names its first differing
    /// field with both values.
    #[test]
    fn the_nearest_rule_has_the_most_matching_fields() {
        let text = "[[allow]]\nname = \"a\"\nsku = \"x\"\nvm_id = \"0a1b2c3d-0000-4000-8000-000000000000\"\n\
                    [[allow]]\nname = \"b\"\nplan_publisher = \"contoso\"\nplan_name = [\"premium\", \"gold\"]\n\
                    [[allow]]\nname = \"c\"\nplan_publisher = \"contoso\"\nplan_name = \"basic\"\n";
        assert_eq!(
            verdict(text, CONTENT, None),
            Err(Error::NoRuleMatched {
                nearest: "b".into(),
                field: RuleField::PlanName,
                expected: vec!["premium".into(), "gold".into()],
                found: Some("standard".into()),
            })
        );
    }

    #[test]
    fn cloud_values_are_read_as_clouds() {
        let r = rules("[[allow]]\nname = \"gov\"\ncloud = \"USGov\"\n");
        assert_eq!(
            r.allow_rules()
                .first()
                .and_then(|r| r.values(RuleField::Cloud)),
            Some(&["usgov".to_owned()][..])
        );
        assert_eq!(
            r.check(&claims(CONTENT), None, Cloud::UsGov)
                .map(|r| r.map(str::to_owned)),
            Ok(Some("gov".into()))
        );
    }
}
