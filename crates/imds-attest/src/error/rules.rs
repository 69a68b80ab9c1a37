//! The claim a rule names, and why a claim rules file could not be used.

use std::fmt;

/// A claim a rule of the claim rules ([`Rules`](crate::Rules)) can name, in the order a rule's
/// fields are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RuleField {
    /// `subscription_id`: the claim `subscriptionId`.
    SubscriptionId,
    /// `vm_id`: the claim `vmId`.
    VmId,
    /// `plan_publisher`: the claim `plan.publisher`.
    PlanPublisher,
    /// `plan_product`: the claim `plan.product`.
    PlanProduct,
    /// `plan_name`: the claim `plan.name`.
    PlanName,
    /// `sku`: the claim `sku`.
    Sku,
    /// `license_type`: the claim `licenseType`.
    LicenseType,
    /// `region`: the region label of the signer's name
    /// ([`VerifiedDocument::region`](crate::VerifiedDocument::region)).
    Region,
    /// `cloud`: the signer's cloud (`public`, `usgov`, `china`, `germany`).
    Cloud,
}

impl RuleField {
    /// Every field, in the order they are compared.
    pub const ALL: [RuleField; 9] = [
        RuleField::SubscriptionId,
        RuleField::VmId,
        RuleField::PlanPublisher,
        RuleField::PlanProduct,
        RuleField::PlanName,
        RuleField::Sku,
        RuleField::LicenseType,
        RuleField::Region,
        RuleField::Cloud,
    ];

    /// The key that names it in a rules file (`subscription_id`).
    pub fn key(self) -> &'static str {
        match self {
            RuleField::SubscriptionId => "subscription_id",
            RuleField::VmId => "vm_id",
            RuleField::PlanPublisher => "plan_publisher",
            RuleField::PlanProduct => "plan_product",
            RuleField::PlanName => "plan_name",
            RuleField::Sku => "sku",
            RuleField::LicenseType => "license_type",
            RuleField::Region => "region",
            RuleField::Cloud => "cloud",
        }
    }
}

impl fmt::Display for RuleField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Why a claim rules file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RulesReason {
    /// Not TOML (the parser's complaint).
    Syntax {
        /// The parser's message.
        message: String,
    },
    /// A key the rules file does not define.
    UnknownKey {
        /// The key.
        key: String,
        /// Where: `top level`, `[verify]`, `[[deny]]` or `[[allow]]`.
        table: &'static str,
    },
    /// A value of the wrong type.
    WrongType {
        /// The key.
        key: String,
        /// What it must be.
        expected: &'static str,
        /// What it is (a TOML type name).
        found: &'static str,
    },
    /// A number out of range (negative, or too large).
    OutOfRange {
        /// The key.
        key: String,
    },
    /// A rule without `name`.
    MissingName,
    /// Two rules with the same name.
    DuplicateName {
        /// The name.
        name: String,
        /// The line of the first rule of that name.
        first_line: usize,
    },
    /// A rule that names no field, which would match every document.
    EmptyRule {
        /// Its name.
        name: String,
    },
    /// An empty list, which would match nothing.
    EmptyList {
        /// The key.
        key: String,
    },
    /// A cloud name that is none of `public`, `usgov`, `china`, `germany`.
    BadCloud {
        /// The value.
        value: String,
    },
    /// A file with no rule and no `[verify]` section (empty, or only comments). Refused so
    /// that a truncated or emptied file never turns deny rules into accepting every document.
    NoRules,
    /// A `subscription_id` or `vm_id` value that is not a bare GUID
    /// (`8d10da13-8125-4ba9-a717-bf7490507b3d`), which no document's claim could match
    /// (`subscription_id = ""` is one: it matches a document without a subscription).
    NotAGuid {
        /// The field.
        field: RuleField,
        /// The value.
        value: String,
    },
    /// A value holding a character that is not printable ASCII (a newline, a tab, a Unicode
    /// hyphen), which no document's claim could match.
    NotPrintableAscii {
        /// The field.
        field: RuleField,
        /// The value.
        value: String,
        /// The first such character.
        character: char,
    },
    /// A value with spaces before or after it, which no document's claim could match.
    SurroundingSpace {
        /// The field.
        field: RuleField,
        /// The value.
        value: String,
    },
}

impl fmt::Display for RulesReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RulesReason::Syntax { message } => write!(f, "not TOML: {message}"),
            RulesReason::UnknownKey { key, table } => write!(
                f,
                "unknown key {key:?} in {table}{}",
                match *table {
                    "top level" => "; expected [verify], [[deny]] or [[allow]]",
                    "[verify]" => "; expected clouds, skew_seconds or max_age_seconds",
                    _ =>
                        "; expected name, subscription_id, vm_id, plan_publisher, \
                          plan_product, plan_name, sku, license_type, region or cloud",
                }
            ),
            RulesReason::WrongType {
                key,
                expected,
                found,
            } => write!(f, "{key} must be {expected}, not {found}"),
            RulesReason::OutOfRange { key } => {
                write!(f, "{key} must be a number of seconds from 0 to 2^32 - 1")
            }
            RulesReason::MissingName => f.write_str("a rule needs a name"),
            RulesReason::DuplicateName { name, first_line } => write!(
                f,
                "a rule named {name:?} is already defined on line {first_line}; names must be \
                 unique"
            ),
            RulesReason::EmptyRule { name } => write!(
                f,
                "empty rule {name:?}: it names no field to match (subscription_id, vm_id, \
                 plan_publisher, plan_product, plan_name, sku, license_type, region, cloud)"
            ),
            RulesReason::EmptyList { key } => write!(
                f,
                "{key} is an empty list, which matches nothing; give at least one value"
            ),
            RulesReason::BadCloud { value } => write!(
                f,
                "unknown cloud {value:?}; expected public, usgov, china or germany"
            ),
            RulesReason::NoRules => f.write_str(
                "the file holds no rule and no [verify] section, which would accept every \
                 document; write at least one [[deny]] or [[allow]] rule (or a [verify] \
                 section), or remove the rules file",
            ),
            RulesReason::NotAGuid { field, value } => write!(
                f,
                "{field} {value:?} is not a GUID, so it would match no document; write the bare \
                 GUID, 8-4-4-4-12 hexadecimal digits such as \
                 \"8d10da13-8125-4ba9-a717-bf7490507b3d\" (no braces, spaces or \
                 /subscriptions/){}",
                if *field == RuleField::SubscriptionId {
                    ", or \"\" for a document without one"
                } else {
                    ""
                }
            ),
            RulesReason::NotPrintableAscii {
                field,
                value,
                character,
            } => write!(
                f,
                "{field} {value:?} holds U+{:04X}, which is not printable ASCII, so it would \
                 match no document; write the value as Azure shows it",
                u32::from(*character)
            ),
            RulesReason::SurroundingSpace { field, value } => write!(
                f,
                "{field} {value:?} has spaces around it, so it would match no document; remove \
                 them"
            ),
        }
    }
}
