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
//! [`Rules::apply_verify_section`] is defined there.

use std::ops::Range;

use time::Duration;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::claims::Claims;
use crate::cloud::Cloud;
use crate::error::{Error, RuleField, RulesReason};

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
    /// Parses a rules file's text. `source` names it in errors (its path). Every error is
    /// [`Error::RulesFile`] with the line at fault: TOML syntax, an unknown key, a wrong type,
    /// a rule without a name or with a name used before, a rule that names no field, an empty
    /// list, an unknown cloud.
    pub fn parse(text: &str, source: &str) -> Result<Rules, Error> {
        let fail = |span: Range<usize>, reason| Error::RulesFile {
            source: source.to_owned(),
            line: line_of(text, span.start),
            reason,
        };
        let root = DeTable::parse(text).map_err(|e| {
            let message = e.message().trim().to_owned();
            fail(e.span().unwrap_or(0..0), RulesReason::Syntax { message })
        })?;
        let mut rules = Rules::default();
        for (key, value) in in_file_order(root.get_ref()) {
            match key.get_ref().as_ref() {
                "verify" => {
                    let table = as_table(key, value).map_err(|(s, r)| fail(s, r))?;
                    rules.verify = VerifySection::parse(table).map_err(|(s, r)| fail(s, r))?;
                }
                list @ ("deny" | "allow") => {
                    let parsed = parse_rule_list(key, value).map_err(|(s, r)| fail(s, r))?;
                    let target = if list == "deny" {
                        &mut rules.deny
                    } else {
                        &mut rules.allow
                    };
                    for (span, rule) in parsed {
                        let rule = Rule {
                            line: line_of(text, span.start),
                            ..rule
                        };
                        target.push(rule);
                    }
                }
                other => {
                    return Err(fail(
                        key.span(),
                        RulesReason::UnknownKey {
                            key: other.to_owned(),
                            table: "top level",
                        },
                    ))
                }
            }
        }
        rules.check_unique_names(source)?;
        Ok(rules)
    }

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

    fn check_unique_names(&self, source: &str) -> Result<(), Error> {
        let all: Vec<&Rule> = self.deny.iter().chain(&self.allow).collect();
        let mut by_line = all.clone();
        by_line.sort_by_key(|r| r.line);
        for (i, rule) in by_line.iter().enumerate() {
            let earlier = by_line.iter().take(i).find(|r| r.name == rule.name);
            if let Some(first) = earlier {
                return Err(Error::RulesFile {
                    source: source.to_owned(),
                    line: rule.line,
                    reason: RulesReason::DuplicateName {
                        name: rule.name.clone(),
                        first_line: first.line,
                    },
                });
            }
        }
        Ok(())
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

    fn parse(table: &DeTable<'_>) -> Result<VerifySection, Problem> {
        let mut section = VerifySection::default();
        for (key, value) in in_file_order(table) {
            let name = key.get_ref().as_ref();
            match name {
                "clouds" => {
                    let names = strings(name, value)?;
                    let mut clouds = Vec::with_capacity(names.len());
                    for (span, cloud) in names {
                        clouds.push(cloud.parse::<Cloud>().map_err(|_| {
                            (
                                span,
                                RulesReason::BadCloud {
                                    value: cloud.clone(),
                                },
                            )
                        })?);
                    }
                    section.clouds = Some(clouds);
                }
                "skew_seconds" => section.skew = Some(seconds(name, value)?),
                "max_age_seconds" => section.max_age = Some(seconds(name, value)?),
                other => {
                    return Err((
                        key.span(),
                        RulesReason::UnknownKey {
                            key: other.to_owned(),
                            table: "[verify]",
                        },
                    ))
                }
            }
        }
        Ok(section)
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

    /// A rule from its table; the span is the table's, for the messages about the whole rule.
    fn parse(span: Range<usize>, table: &DeTable<'_>, list: &'static str) -> Result<Rule, Problem> {
        let mut name = None;
        let mut conditions = Vec::new();
        for (key, value) in in_file_order(table) {
            let key_text = key.get_ref().as_ref();
            if key_text == "name" {
                name = Some(match value.get_ref() {
                    DeValue::String(s) => s.to_string(),
                    other => return Err(wrong_type(key_text, value.span(), "a string", other)),
                });
                continue;
            }
            let Some(field) = RuleField::ALL.into_iter().find(|f| f.key() == key_text) else {
                return Err((
                    key.span(),
                    RulesReason::UnknownKey {
                        key: key_text.to_owned(),
                        table: list,
                    },
                ));
            };
            let mut values = Vec::new();
            for (span, v) in strings(key_text, value)? {
                if field == RuleField::Cloud {
                    let cloud = v
                        .parse::<Cloud>()
                        .map_err(|_| (span, RulesReason::BadCloud { value: v.clone() }))?;
                    values.push(cloud.name().to_owned());
                } else {
                    values.push(v);
                }
            }
            conditions.push((field, values));
        }
        let Some(name) = name else {
            return Err((span, RulesReason::MissingName));
        };
        if conditions.is_empty() {
            return Err((span, RulesReason::EmptyRule { name }));
        }
        conditions.sort_by_key(|(field, _)| *field);
        Ok(Rule {
            name,
            line: 0,
            conditions,
        })
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

/// A problem and where it is, before the source and line are known.
type Problem = (Range<usize>, RulesReason);

type Entry<'t, 'i> = (
    &'t Spanned<toml::de::DeString<'i>>,
    &'t Spanned<DeValue<'i>>,
);

/// A table's entries in the order the file gives them, so that the first problem reported is
/// the first in the file.
fn in_file_order<'t, 'i>(table: &'t DeTable<'i>) -> Vec<Entry<'t, 'i>> {
    let mut entries: Vec<Entry<'t, 'i>> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

fn as_table<'t, 'i>(
    key: &Spanned<toml::de::DeString<'i>>,
    value: &'t Spanned<DeValue<'i>>,
) -> Result<&'t DeTable<'i>, Problem> {
    match value.get_ref() {
        DeValue::Table(table) => Ok(table),
        other => Err(wrong_type(key.get_ref(), value.span(), "a table", other)),
    }
}

/// `[[deny]]` or `[[allow]]`: an array of tables, each a rule, with the span of each.
fn parse_rule_list(
    key: &Spanned<toml::de::DeString<'_>>,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<(Range<usize>, Rule)>, Problem> {
    let list: &'static str = if key.get_ref() == "deny" {
        "[[deny]]"
    } else {
        "[[allow]]"
    };
    let DeValue::Array(items) = value.get_ref() else {
        return Err(wrong_type(
            key.get_ref(),
            value.span(),
            "an array of tables",
            value.get_ref(),
        ));
    };
    let mut rules = Vec::with_capacity(items.len());
    for item in items.iter() {
        let DeValue::Table(table) = item.get_ref() else {
            return Err(wrong_type(
                key.get_ref(),
                item.span(),
                "an array of tables",
                item.get_ref(),
            ));
        };
        let span = rule_span(item.span(), table);
        rules.push((span.clone(), Rule::parse(span, table, list)?));
    }
    Ok(rules)
}

/// Where a rule begins: its table's span, or its first key when the table's span is empty.
fn rule_span(span: Range<usize>, table: &DeTable<'_>) -> Range<usize> {
    if !span.is_empty() {
        return span;
    }
    table
        .keys()
        .map(|k| k.span())
        .min_by_key(|s| s.start)
        .unwrap_or(span)
}

/// A string or a non-empty list of strings, each with its span.
fn strings(
    key: &str,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<(Range<usize>, String)>, Problem> {
    const EXPECTED: &str = "a string or a list of strings";
    match value.get_ref() {
        DeValue::String(s) => Ok(vec![(value.span(), s.to_string())]),
        DeValue::Array(items) if items.is_empty() => Err((
            value.span(),
            RulesReason::EmptyList {
                key: key.to_owned(),
            },
        )),
        DeValue::Array(items) => items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(s) => Ok((item.span(), s.to_string())),
                other => Err(wrong_type(key, item.span(), EXPECTED, other)),
            })
            .collect(),
        other => Err(wrong_type(key, value.span(), EXPECTED, other)),
    }
}

/// Whole seconds from 0 to 2^32 - 1.
fn seconds(key: &str, value: &Spanned<DeValue<'_>>) -> Result<Duration, Problem> {
    let DeValue::Integer(n) = value.get_ref() else {
        return Err(wrong_type(
            key,
            value.span(),
            "a whole number of seconds",
            value.get_ref(),
        ));
    };
    i64::from_str_radix(n.as_str(), n.radix())
        .ok()
        .filter(|s| (0..=i64::from(u32::MAX)).contains(s))
        .map(Duration::seconds)
        .ok_or((
            value.span(),
            RulesReason::OutOfRange {
                key: key.to_owned(),
            },
        ))
}

fn wrong_type(
    key: &str,
    span: Range<usize>,
    expected: &'static str,
    found: &DeValue<'_>,
) -> Problem {
    (
        span,
        RulesReason::WrongType {
            key: key.to_owned(),
            expected,
            found: found.type_str(),
        },
    )
}

/// The line (from 1) that holds byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    before.iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTENT: &str = r#"{"licenseType":"Windows_Server","nonce":"n","plan":{"name":"standard","product":"pro-vm","publisher":"contoso"},"sku":"2022-datacenter","subscriptionId":"8d10da13-8125-4ba9-a717-bf7490507b3d","timeStamp":{"createdOn":"11/19/25 12:53:30 -0000","expiresOn":"11/19/25 18:53:30 -0000"},"vmId":"ddc87bd2-3ebb-43dc-92a9-90b104cd9527"}"#;
    const NO_PLAN: &str = r#"{"licenseType":"","nonce":"n","plan":{"name":"","product":"","publisher":""},"sku":"","subscriptionId":"8a205152-b25a-417f-a676-80465535a6c9","timeStamp":{"createdOn":"11/19/25 12:53:30 -0000","expiresOn":"11/19/25 18:53:30 -0000"},"vmId":"v"}"#;

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
                "0a1b",
            ),
            ("vm_id", "DDC87BD2-3ebb-43dc-92a9-90b104cd9527", "other-vm"),
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
        let deny_only = "[[deny]]\nname = \"revoked\"\nvm_id = \"v\"\n";
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
        assert!(rules("").is_empty());
        assert_eq!(verdict("", CONTENT, None), Ok(None));
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
        let text = "[[allow]]\nname = \"a\"\nsku = \"x\"\nvm_id = \"y\"\n\
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

    #[test]
    fn the_verify_section_is_read() {
        let r = rules("[verify]\nclouds = [\"public\", \"usgov\"]\nskew_seconds = 30\nmax_age_seconds = 600\n");
        let v = r.verify_section();
        assert_eq!(v.clouds(), Some(&[Cloud::Public, Cloud::UsGov][..]));
        assert_eq!(v.skew(), Some(Duration::seconds(30)));
        assert_eq!(v.max_age(), Some(Duration::seconds(600)));
        assert_eq!(rules("").verify_section(), &VerifySection::default());
    }

    /// Every configuration error, with the line it is on.
    #[test]
    fn config_errors_name_their_line() {
        let table: Vec<(&str, usize, RulesReason)> = vec![
            (
                "[[allow]]\nname = \"a\"\nsku = \"x\"\nplan = \"y\"\n",
                4,
                RulesReason::UnknownKey {
                    key: "plan".into(),
                    table: "[[allow]]",
                },
            ),
            (
                "\n[verify]\nskew = 3\n",
                3,
                RulesReason::UnknownKey {
                    key: "skew".into(),
                    table: "[verify]",
                },
            ),
            (
                "[[allowed]]\nname = \"a\"\n",
                1,
                RulesReason::UnknownKey {
                    key: "allowed".into(),
                    table: "top level",
                },
            ),
            (
                "[[deny]]\nname = \"a\"\nsku = 3\n",
                3,
                RulesReason::WrongType {
                    key: "sku".into(),
                    expected: "a string or a list of strings",
                    found: "integer",
                },
            ),
            (
                "[[deny]]\nname = \"a\"\nsku = [\"x\",\n  true]\n",
                4,
                RulesReason::WrongType {
                    key: "sku".into(),
                    expected: "a string or a list of strings",
                    found: "boolean",
                },
            ),
            (
                "[verify]\nskew_seconds = \"300\"\n",
                2,
                RulesReason::WrongType {
                    key: "skew_seconds".into(),
                    expected: "a whole number of seconds",
                    found: "string",
                },
            ),
            (
                "[verify]\nmax_age_seconds = -1\n",
                2,
                RulesReason::OutOfRange {
                    key: "max_age_seconds".into(),
                },
            ),
            (
                "[[allow]]\nname = 7\nsku = \"x\"\n",
                2,
                RulesReason::WrongType {
                    key: "name".into(),
                    expected: "a string",
                    found: "integer",
                },
            ),
            (
                "verify = 1\n",
                1,
                RulesReason::WrongType {
                    key: "verify".into(),
                    expected: "a table",
                    found: "integer",
                },
            ),
            (
                "\n\n[[allow]]\nname = \"everything\"\n",
                3,
                RulesReason::EmptyRule {
                    name: "everything".into(),
                },
            ),
            ("[[allow]]\nsku = \"x\"\n", 1, RulesReason::MissingName),
            (
                "[[allow]]\nname = \"a\"\nsku = []\n",
                3,
                RulesReason::EmptyList { key: "sku".into() },
            ),
            (
                "[verify]\nclouds = []\n",
                2,
                RulesReason::EmptyList {
                    key: "clouds".into(),
                },
            ),
            (
                "[verify]\nclouds = [\"public\", \"azure\"]\n",
                2,
                RulesReason::BadCloud {
                    value: "azure".into(),
                },
            ),
            (
                "[[deny]]\nname = \"a\"\ncloud = \"mars\"\n",
                3,
                RulesReason::BadCloud {
                    value: "mars".into(),
                },
            ),
            (
                "[[deny]]\nname = \"a\"\nsku = \"x\"\n\n[[allow]]\nname = \"a\"\nsku = \"y\"\n",
                5,
                RulesReason::DuplicateName {
                    name: "a".into(),
                    first_line: 1,
                },
            ),
        ];
        for (text, line, reason) in table {
            assert_eq!(
                Rules::parse(text, "t.toml"),
                Err(Error::RulesFile {
                    source: "t.toml".into(),
                    line,
                    reason
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn toml_syntax_errors_name_their_line() {
        let e = Rules::parse("[[allow]]\nname = \"a\"\nsku = \"x\n", "t.toml").unwrap_err();
        let Error::RulesFile {
            line,
            reason: RulesReason::Syntax { .. },
            ..
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(*line, 3, "{e}");
        let e = Rules::parse("[[allow]]\nname = \"a\"\nname = \"b\"\n", "t.toml").unwrap_err();
        assert!(
            matches!(
                e,
                Error::RulesFile {
                    line: 3,
                    reason: RulesReason::Syntax { .. },
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }
}
