//! What goes to standard output and error: verdicts and inspections as text or JSON, errors,
//! fetched documents.

use std::io::{self, Write};

use imds_attest::{Inspection, VerifiedDocument};
use imds_attest_setup::TrustSource;
use imds_attest_store::Challenge;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::CliError;

/// Reports a failure: one line (or clap's message) on standard error and, with `--json`, one
/// object on standard output.
pub fn error(e: &CliError, as_json: bool) {
    match e {
        CliError::Clap(clap_error) => {
            // clap's own rendering keeps its usage line and suggestions.
            let _ = clap_error.print();
        }
        other => eprintln!("{}", other.text_line()),
    }
    if as_json {
        let mut error = json!({"kind": e.kind(), "message": e.message()});
        if let (Some(hint), Some(obj)) = (e.hint(), error.as_object_mut()) {
            obj.insert("hint".into(), hint.into());
        }
        if let Err(write_error) = print_json(&json!({"verified": false, "error": error})) {
            eprintln!("imds-attest: cannot write the output: {write_error}");
        }
    }
}

/// What a store did with a verified document, for the text output.
pub enum Redemption {
    /// `--store`: its nonce was redeemed in this store.
    Redeemed {
        /// The store ([`imds_attest_store::Store::describe`]).
        store: String,
    },
    /// `--store --single-use`: the document is remembered in this store.
    Remembered {
        /// The store.
        store: String,
    },
}

/// Prints a verified document's facts, with what the store did with it, if one was used, and
/// every trust source that took part (`trust` in the JSON: `[{"source", "path"?}]`).
pub fn verified(
    v: &VerifiedDocument,
    redemption: Option<&Redemption>,
    trust: &[TrustSource],
    as_json: bool,
) -> io::Result<()> {
    if as_json {
        let mut value = v.to_json().map_err(io::Error::other)?;
        if let Value::Object(map) = &mut value {
            map.insert("trust".into(), trust_json(trust));
        }
        return print_json(&value);
    }
    let c = v.claims();
    let time = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    let nonce_note = match redemption {
        Some(Redemption::Redeemed { store }) => format!("redeemed from {store}"),
        Some(Redemption::Remembered { store }) => {
            format!("not checked; document remembered in {store}, single use")
        }
        None if v.nonce_checked() => "checked".to_owned(),
        None => "NOT checked: --any-nonce".to_owned(),
    };
    let mut lines = vec![
        "VERIFIED Azure IMDS attested document".to_owned(),
        format!("cloud           {}", v.cloud()),
    ];
    if let Some(rule) = v.rule() {
        lines.push(format!("rule            {rule}"));
    }
    lines.extend([format!("vmId            {}", c.vm_id)]);
    let optional = [
        ("subscriptionId", &c.subscription_id),
        ("sku", &c.sku),
        ("licenseType", &c.license_type),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            lines.push(format!("{name:<15} {value}"));
        }
    }
    if let Some(p) = &c.plan {
        lines.push(format!(
            "plan            name={:?} product={:?} publisher={:?}",
            p.name, p.product, p.publisher
        ));
    }
    lines.extend([
        format!("nonce           {} ({nonce_note})", c.nonce),
        format!("createdOn       {}", time(c.created_on)),
        format!("expiresOn       {}", time(c.expires_on)),
        format!("signer          {}", v.signer().subject),
        format!("  names         {}", v.signer().dns_names.join(", ")),
        format!("  issuer        {}", v.signer().issuer),
        format!("  serial        {}", v.signer().serial),
        format!("  notAfter      {}", time(v.signer().not_after)),
        format!("  sha256        {}", v.signer().sha256),
    ]);
    for (i, subject) in v.chain().iter().enumerate() {
        let label = if i == 0 { "chain" } else { "" };
        lines.push(format!("{label:<15} {subject}"));
    }
    for url in v.fetched_intermediates() {
        lines.push(format!("fetched         {url}"));
    }
    for (i, source) in trust.iter().enumerate() {
        let label = if i == 0 { "trust" } else { "" };
        lines.push(format!("{label:<15} {source}"));
    }
    if !c.other.is_empty() {
        lines.push(format!(
            "other fields    {}",
            Value::Object(c.other.clone())
        ));
    }
    print_lines(&lines)
}

/// The trust sources as JSON: `{"source": kind}` with `"path"` for a file or directory.
pub fn trust_json(trust: &[TrustSource]) -> Value {
    Value::Array(
        trust
            .iter()
            .map(|s| match s.path() {
                Some(p) => json!({"source": s.kind(), "path": p.display().to_string()}),
                None => json!({"source": s.kind()}),
            })
            .collect(),
    )
}

/// Prints an issued challenge: the nonce alone on one line, or `{"expiresAt","nonce"}`.
pub fn challenge(challenge: &Challenge, as_json: bool) -> io::Result<()> {
    if as_json {
        let expires_at = challenge
            .expires_at
            .format(&Rfc3339)
            .map_err(io::Error::other)?;
        return print_json(&json!({"nonce": challenge.nonce, "expiresAt": expires_at}));
    }
    print_lines(std::slice::from_ref(&challenge.nonce))
}

/// Prints what a document holds, under a banner that says none of it is checked.
pub fn inspection(i: &Inspection, as_json: bool) -> io::Result<()> {
    if as_json {
        return print_json(&serde_json::to_value(i).map_err(io::Error::other)?);
    }
    let time = |t: Option<OffsetDateTime>| {
        t.and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "?".into())
    };
    let mut lines = vec![
        "UNVERIFIED: nothing below has been checked; `imds-attest verify` decides trust".to_owned(),
        "content".to_owned(),
    ];
    let content = serde_json::to_string_pretty(&i.content).map_err(io::Error::other)?;
    lines.extend(content.lines().map(|l| format!("  {l}")));
    for (n, c) in i.certificates.iter().enumerate() {
        let role = if c.signer { " (signer)" } else { "" };
        lines.push(format!("certificate {}{role}", n + 1));
        lines.push(format!("  subject     {}", c.subject));
        lines.push(format!("  issuer      {}", c.issuer));
        lines.push(format!("  serial      {}", c.serial));
        lines.push(format!(
            "  valid       {} to {}",
            time(c.not_before),
            time(c.not_after)
        ));
        lines.push(format!("  names       {}", c.dns_names.join(", ")));
        for url in &c.ca_issuers {
            lines.push(format!("  caIssuers   {url}"));
        }
        lines.push(format!("  sha256      {}", c.sha256));
    }
    lines.push("could chain via (by issuer name only)".to_owned());
    if i.possible_chains.is_empty() {
        lines.push("  nothing in the trust store: get the issuer from the caIssuers URL above and pass --intermediate".to_owned());
    }
    for chain in &i.possible_chains {
        lines.push(format!("  {}", chain.join(" -> ")));
    }
    print_lines(&lines)
}

/// Prints a fetched document as IMDS returned it, ending the line IMDS leaves open so that
/// a shell prompt does not follow it.
pub fn fetched(body: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(body.as_bytes())?;
    if !body.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn print_lines(lines: &[String]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()
}

fn print_json(value: &Value) -> io::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, value).map_err(io::Error::other)?;
    writeln!(out)?;
    out.flush()
}
