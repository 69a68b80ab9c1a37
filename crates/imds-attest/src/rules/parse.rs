//! Reading claim rules from TOML: every problem is an [`Error::RulesFile`] with the line at
//! fault, the first in the file first.

use std::ops::Range;

use time::Duration;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{Rule, Rules, VerifySection};
use crate::cloud::Cloud;
use crate::error::{Error, RuleField, RulesReason};

impl Rules {
    /// Parses a rules file's text. `source` names it in errors (its path). Every error is
    /// [`Error::RulesFile`] with the line at fault: TOML syntax, an unknown key, a wrong type,
    /// a rule without a name or with a name used before, a rule that names no field, an empty
    /// list, an unknown cloud, a value no claim could match (a `subscription_id` or `vm_id`
    /// that is not a GUID, a character that is not printable ASCII, spaces around a value),
    /// and a file with no rule and no `[verify]` section (line 1).
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
        let mut has_verify = false;
        for (key, value) in in_file_order(root.get_ref()) {
            match key.get_ref().as_ref() {
                "verify" => {
                    has_verify = true;
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
        // An emptied or truncated file must not silently drop the deny rules it had.
        if rules.is_empty() && !has_verify {
            return Err(fail(0..0, RulesReason::NoRules));
        }
        rules.check_unique_names(source)?;
        Ok(rules)
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
                    check_value(field, &v).map_err(|reason| (span, reason))?;
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

/// Refuses a value no claim could match, so that a deny rule with a typo is an error instead
/// of a rule that never denies: `subscription_id` and `vm_id` are bare GUIDs, every other
/// value printable ASCII without spaces around it (`""` still matches an empty claim).
/// `subscription_id = ""` is kept: genuine documents of 2021 carry no `subscriptionId`.
fn check_value(field: RuleField, value: &str) -> Result<(), RulesReason> {
    if matches!(field, RuleField::SubscriptionId | RuleField::VmId) {
        if is_guid(value) || (field == RuleField::SubscriptionId && value.is_empty()) {
            return Ok(());
        }
        return Err(RulesReason::NotAGuid {
            field,
            value: value.to_owned(),
        });
    }
    if let Some(character) = value.chars().find(|c| !matches!(c, ' '..='~')) {
        return Err(RulesReason::NotPrintableAscii {
            field,
            value: value.to_owned(),
            character,
        });
    }
    if value.starts_with(' ') || value.ends_with(' ') {
        return Err(RulesReason::SurroundingSpace {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// 8-4-4-4-12 hexadecimal digits, in either case, as ARM writes subscription and VM ids.
fn is_guid(value: &str) -> bool {
    const HYPHENS: [usize; 4] = [8, 13, 18, 23];
    value.len() == 36
        && value.bytes().enumerate().all(|(i, b)| {
            if HYPHENS.contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
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

    fn rules(text: &str) -> Rules {
        Rules::parse(text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_verify_section_is_read() {
        let r = rules("[verify]\nclouds = [\"public\", \"usgov\"]\nskew_seconds = 30\nmax_age_seconds = 600\n");
        let v = r.verify_section();
        assert_eq!(v.clouds(), Some(&[Cloud::Public, Cloud::UsGov][..]));
        assert_eq!(v.skew(), Some(Duration::seconds(30)));
        assert_eq!(v.max_age(), Some(Duration::seconds(600)));
        assert_eq!(
            rules("[verify]\n").verify_section(),
            &VerifySection::default()
        );
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

    /// An empty or comment-only file (a truncated one, or one emptied by mistake before a
    /// reload) is refused: it would turn "deny X" into "accept every document". A file with
    /// only `[verify]` says what it means.
    #[test]
    fn a_file_without_rules_or_verify_is_refused() {
        for text in [
            "",
            "\n\n",
            "# deny rules go here\n",
            "deny = []\n",
            "allow = []\n",
        ] {
            assert_eq!(
                Rules::parse(text, "t.toml"),
                Err(Error::RulesFile {
                    source: "t.toml".into(),
                    line: 1,
                    reason: RulesReason::NoRules,
                }),
                "{text:?}"
            );
        }
        assert!(rules("[verify]\n").is_empty());
        assert!(rules("# defaults only\n[verify]\nskew_seconds = 30\n").is_empty());
    }

    /// Values that no claim could match are refused with their line, so that a deny rule
    /// with a typo never silently denies nothing.
    #[test]
    fn values_that_could_never_match_are_refused() {
        const GUID: &str = "8d10da13-8125-4ba9-a717-bf7490507b3d";
        let not_guid = |field, value: &str| RulesReason::NotAGuid {
            field,
            value: value.to_owned(),
        };
        let table: Vec<(&str, String, RulesReason)> = vec![
            (
                "subscription_id",
                format!(" {GUID}"),
                not_guid(RuleField::SubscriptionId, &format!(" {GUID}")),
            ),
            (
                "subscription_id",
                format!("{{{GUID}}}"),
                not_guid(RuleField::SubscriptionId, &format!("{{{GUID}}}")),
            ),
            (
                "subscription_id",
                format!("{GUID}\n"),
                not_guid(RuleField::SubscriptionId, &format!("{GUID}\n")),
            ),
            (
                "subscription_id",
                GUID.replacen('-', "\u{2010}", 1),
                not_guid(
                    RuleField::SubscriptionId,
                    &GUID.replacen('-', "\u{2010}", 1),
                ),
            ),
            (
                "subscription_id",
                format!("/subscriptions/{GUID}"),
                not_guid(RuleField::SubscriptionId, &format!("/subscriptions/{GUID}")),
            ),
            (
                "subscription_id",
                GUID.replace('-', ""),
                not_guid(RuleField::SubscriptionId, &GUID.replace('-', "")),
            ),
            (
                "subscription_id",
                GUID.replacen('d', "g", 1),
                not_guid(RuleField::SubscriptionId, &GUID.replacen('d', "g", 1)),
            ),
            ("vm_id", String::new(), not_guid(RuleField::VmId, "")),
            ("vm_id", "my-vm".into(), not_guid(RuleField::VmId, "my-vm")),
            (
                "sku",
                "pro\n".into(),
                RulesReason::NotPrintableAscii {
                    field: RuleField::Sku,
                    value: "pro\n".into(),
                    character: '\n',
                },
            ),
            (
                "plan_name",
                "pro\u{2010}vm".into(),
                RulesReason::NotPrintableAscii {
                    field: RuleField::PlanName,
                    value: "pro\u{2010}vm".into(),
                    character: '\u{2010}',
                },
            ),
            (
                "region",
                "\teastus".into(),
                RulesReason::NotPrintableAscii {
                    field: RuleField::Region,
                    value: "\teastus".into(),
                    character: '\t',
                },
            ),
            (
                "plan_publisher",
                " contoso".into(),
                RulesReason::SurroundingSpace {
                    field: RuleField::PlanPublisher,
                    value: " contoso".into(),
                },
            ),
            (
                "license_type",
                "Windows_Server ".into(),
                RulesReason::SurroundingSpace {
                    field: RuleField::LicenseType,
                    value: "Windows_Server ".into(),
                },
            ),
        ];
        for (key, value, reason) in table {
            // The bad value second in a list, on its own line: the line is the value's.
            let text =
                format!("[[deny]]\nname = \"r\"\n{key} = [\n  \"{GUID}\",\n  {value:?},\n]\n");
            let text = if key == "subscription_id" || key == "vm_id" {
                text
            } else {
                text.replace(GUID, "ok")
            };
            assert_eq!(
                Rules::parse(&text, "t.toml"),
                Err(Error::RulesFile {
                    source: "t.toml".into(),
                    line: 5,
                    reason,
                }),
                "{text}"
            );
        }
    }

    /// What the checks still accept: GUIDs in any case, inner spaces, `""` for an empty
    /// claim (`subscription_id` too: a genuine document may carry none).
    #[test]
    fn guids_in_any_case_and_printable_values_are_accepted() {
        let r = rules(
            "[[deny]]\nname = \"r\"\nsubscription_id = \"8D10DA13-8125-4ba9-A717-bf7490507b3d\"\n\
             vm_id = \"ddc87bd2-3ebb-43dc-92a9-90b104cd9527\"\nplan_name = [\"\", \"Pro Plan (2)\"]\n\
             [[allow]]\nname = \"no-subscription\"\nsubscription_id = \"\"\n",
        );
        assert_eq!(
            r.deny_rules()
                .first()
                .and_then(|r| r.values(RuleField::PlanName)),
            Some(&[String::new(), "Pro Plan (2)".to_owned()][..])
        );
    }

    /// Each new reason's message says what to write.
    #[test]
    fn unmatchable_value_messages_say_what_to_write() {
        let e = Rules::parse(
            "[[deny]]\nname = \"r\"\nsubscription_id = \"{8d10da13-8125-4ba9-a717-bf7490507b3d}\"\n",
            "t.toml",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot use rules file t.toml, line 3: subscription_id \
             \"{8d10da13-8125-4ba9-a717-bf7490507b3d}\" is not a GUID, so it would match no \
             document; write the bare GUID, 8-4-4-4-12 hexadecimal digits such as \
             \"8d10da13-8125-4ba9-a717-bf7490507b3d\" (no braces, spaces or /subscriptions/), or \
             \"\" for a document without one"
        );
        let e =
            Rules::parse("[[deny]]\nname = \"r\"\nsku = \"a\u{2010}b\"\n", "t.toml").unwrap_err();
        assert!(
            e.to_string()
                .contains("holds U+2010, which is not printable ASCII"),
            "{e}"
        );
        let e = Rules::parse("# nothing\n", "t.toml").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::RulesFile);
        assert!(
            e.to_string()
                .starts_with("cannot use rules file t.toml, line 1: the file holds no rule"),
            "{e}"
        );
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
