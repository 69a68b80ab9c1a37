//! The licence check a server written in Rust makes, as the book's "The same in a server"
//! shows it (the part between the ANCHOR lines is included there, so what the book shows
//! compiles): once at start, a verifier with your rules and a challenge store; per VM, a
//! challenge, then the document verified, rules applied and nonce redeemed, in that order.
//!
//! `cargo run -p imds-attest-store --example licence_check -- RULES.toml [STORE_URL]` issues a
//! challenge and verifies standard input's document against it (a real VM's document will not
//! carry that nonce: this shows the calls, and the kind of what refuses it).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Read;

use imds_attest::{NonceCheck, Policy, Rules, TrustStore, Verifier};
use imds_attest_store::{open, Challenges};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rules_file = args
        .next()
        .ok_or("give a rules file (and a store URL: memory: by default)")?;
    let store_url = args.next().unwrap_or_else(|| "memory:".to_owned());
    let mut body = Vec::new();
    std::io::stdin().take(64 * 1024).read_to_end(&mut body)?;

    // ANCHOR: server
    // Once, at start: trust, policy with your rules, and a store (redis://... for a fleet).
    let rules = Rules::parse(&std::fs::read_to_string(&rules_file)?, &rules_file)?;
    let policy = rules
        .apply_verify_section(Policy::default())
        .with_rules(rules);
    let verifier = Verifier::new(TrustStore::builtin(), policy);
    let challenges = Challenges::new(open(&store_url)?);

    // POST /challenge: a nonce for the VM to ask IMDS for (stateless: nothing is written).
    let now = time::OffsetDateTime::now_utc();
    let challenge = challenges.issue(std::time::Duration::from_secs(300), now)?;

    // POST /licence with the document: verified, rules applied, nonce redeemed, in that order.
    let now = time::OffsetDateTime::now_utc();
    match verifier.verify_bytes(&body, NonceCheck::Redeem(&challenges), now) {
        Ok(verified) => println!(
            "licensed: {} (rule {:?})",
            verified.claims().vm_id,
            verified.rule()
        ),
        Err(e) => println!("refused, {}: {e}", e.kind()),
    }
    // ANCHOR_END: server
    eprintln!("(the challenge was {})", challenge.nonce);
    Ok(())
}
