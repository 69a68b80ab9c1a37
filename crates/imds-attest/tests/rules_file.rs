//! Claim rules on the genuine documents of `testdata/real/`: a rule built from a document's
//! own claims accepts it and is named; the same rule with one field changed rejects it, naming
//! that field with both values; deny rules and the `[verify]` section apply through `Policy`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use imds_attest::{
    AttestedDocument, Cloud, Error, NonceCheck, Policy, RuleField, Rules, TrustStore,
    VerifiedDocument, Verifier,
};
use imds_attest_testpki::genuine;
use time::OffsetDateTime;

struct Real {
    name: String,
    doc: AttestedDocument,
    nonce: String,
    at: OffsetDateTime,
}

/// The genuine documents, parsed.
fn real_documents() -> Vec<Real> {
    genuine::all()
        .into_iter()
        .map(|g| Real {
            doc: AttestedDocument::parse(&g.bytes()).unwrap(),
            name: g.name,
            nonce: g.nonce,
            at: g.at,
        })
        .collect()
}

fn verify(real: &Real, policy: Policy) -> Result<VerifiedDocument, Error> {
    Verifier::new(TrustStore::builtin(), policy).verify(
        &real.doc,
        NonceCheck::Exact(&real.nonce),
        real.at,
    )
}

/// Every field a rule can name, with the document's own value ("" for an absent claim).
fn own_values(v: &VerifiedDocument) -> Vec<(RuleField, String)> {
    let c = v.claims();
    let plan = c.plan.as_ref();
    let or_empty = |s: Option<&str>| s.unwrap_or_default().to_owned();
    vec![
        (
            RuleField::SubscriptionId,
            or_empty(c.subscription_id.as_deref()),
        ),
        (RuleField::VmId, c.vm_id.clone()),
        (
            RuleField::PlanPublisher,
            or_empty(plan.map(|p| p.publisher.as_str())),
        ),
        (
            RuleField::PlanProduct,
            or_empty(plan.map(|p| p.product.as_str())),
        ),
        (RuleField::PlanName, or_empty(plan.map(|p| p.name.as_str()))),
        (RuleField::Sku, or_empty(c.sku.as_deref())),
        (RuleField::LicenseType, or_empty(c.license_type.as_deref())),
        (RuleField::Region, or_empty(v.region())),
        (RuleField::Cloud, v.cloud().name().to_owned()),
    ]
}

/// The GUID `guid` with its last digit changed; a GUID for an absent claim ("").
fn other_guid(guid: &str) -> String {
    match guid.split_at_checked(guid.len().saturating_sub(1)) {
        Some((head, last)) if !head.is_empty() => {
            format!("{head}{}", if last == "0" { "1" } else { "0" })
        }
        _ => "00000000-0000-0000-0000-000000000000".to_owned(),
    }
}

fn rule_text(kind: &str, name: &str, values: &[(RuleField, String)]) -> String {
    let mut text = format!("[[{kind}]]\nname = {name:?}\n");
    for (field, value) in values {
        text.push_str(&format!("{} = {value:?}\n", field.key()));
    }
    text
}

fn with_rules(text: &str) -> Policy {
    Policy::default().with_rules(Rules::parse(text, "rules.toml").unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn a_rule_of_a_genuine_documents_own_claims_accepts_it_and_is_named() {
    for real in real_documents() {
        let plain = verify(&real, Policy::default()).unwrap();
        assert_eq!(plain.rule(), None, "{}", real.name);
        // Upper case: ARM compares these identifiers case-insensitively.
        let upper: Vec<_> = own_values(&plain)
            .into_iter()
            .map(|(f, v)| (f, v.to_ascii_uppercase()))
            .collect();
        let text = rule_text("allow", "own", &upper);
        let verified =
            verify(&real, with_rules(&text)).unwrap_or_else(|e| panic!("{}: {e}", real.name));
        assert_eq!(verified.rule(), Some("own"), "{}", real.name);
        let json = serde_json::to_value(&verified).unwrap();
        assert_eq!(json["rule"], "own", "{}", real.name);
        assert_eq!(
            json["region"],
            serde_json::json!(plain.region()),
            "{}",
            real.name
        );
    }
}

#[test]
fn a_genuine_document_with_one_field_changed_matches_no_rule_and_names_that_field() {
    for real in real_documents() {
        let plain = verify(&real, Policy::default()).unwrap();
        let own = own_values(&plain);
        for (i, (field, value)) in own.iter().enumerate() {
            let changed = match field {
                RuleField::Cloud => "usgov".to_owned(),
                // Still a GUID (a rule may hold nothing else), one digit off.
                RuleField::SubscriptionId | RuleField::VmId => other_guid(value),
                _ => format!("{value}x"),
            };
            let mut values = own.clone();
            values[i].1 = changed.clone();
            let text = rule_text("allow", "near", &values);
            let found = (!value.is_empty() || matches!(field, RuleField::VmId | RuleField::Cloud))
                .then(|| value.clone());
            let err = verify(&real, with_rules(&text)).unwrap_err();
            // An empty claim is reported as found "" when present, none when absent.
            let Error::NoRuleMatched {
                nearest,
                field: f,
                expected,
                found: got,
            } = &err
            else {
                panic!("{}: {field}: {err:?}", real.name);
            };
            assert_eq!(
                (nearest.as_str(), *f, expected.clone()),
                ("near", *field, vec![changed]),
                "{}",
                real.name
            );
            assert_eq!(
                got.clone().unwrap_or_default(),
                found.unwrap_or_default(),
                "{}: {field}",
                real.name
            );
            assert!(
                err.to_string()
                    .contains(&format!("\"near\", wants {field} ")),
                "{err}"
            );
        }
    }
}

#[test]
fn a_deny_rule_of_a_genuine_documents_own_claims_rejects_it() {
    for real in real_documents() {
        let plain = verify(&real, Policy::default()).unwrap();
        let vm = vec![(RuleField::VmId, plain.claims().vm_id.clone())];
        let text = rule_text("allow", "own", &vm) + &rule_text("deny", "revoked", &vm);
        assert_eq!(
            verify(&real, with_rules(&text)),
            Err(Error::DeniedByRule {
                rule: "revoked".into()
            }),
            "{}",
            real.name
        );
    }
}

/// Rules are checked only after the cryptographic and time checks: an expired document is
/// reported as expired, not as matching no rule.
#[test]
fn rules_are_checked_after_the_time() {
    let real = &real_documents()[0];
    let policy = with_rules(
        "[[allow]]\nname = \"none\"\nvm_id = \"00000000-0000-0000-0000-000000000000\"\n",
    );
    let late = Verifier::new(TrustStore::builtin(), policy)
        .verify(
            &real.doc,
            NonceCheck::Exact(&real.nonce),
            real.at + time::Duration::hours(7),
        )
        .unwrap_err();
    assert!(matches!(late, Error::DocumentExpired { .. }), "{late:?}");
}

#[test]
fn the_verify_section_sets_the_policy_and_the_callers_settings_override_it() {
    let rules = Rules::parse(
        "[verify]\nclouds = [\"usgov\"]\nskew_seconds = 1\nmax_age_seconds = 2\n",
        "rules.toml",
    )
    .unwrap();
    let policy = rules.apply_verify_section(Policy::default());
    assert_eq!(policy.clouds(), &[Cloud::UsGov]);
    assert_eq!(policy.skew(), time::Duration::seconds(1));
    assert_eq!(policy.max_age(), Some(time::Duration::seconds(2)));
    let real = &real_documents()[0];
    assert!(matches!(
        verify(real, policy.clone()),
        Err(Error::SignerName { .. })
    ));
    let overridden = policy.with_clouds(&[Cloud::Public]).with_rules(rules);
    assert!(verify(real, overridden).is_ok());
}
