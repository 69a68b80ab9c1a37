//! Marks the tests that need a real program (a `redis-server`, say) ignored, with the reason,
//! when that program is not on `PATH` at build time and `CI` is not `true`: a missing component
//! is then a visible "ignored" in cargo's summary, never a silent "ok". Under `CI=true` they
//! always run, and fail without it. Only tests read these cfgs (`no_node` and `no_npm` and `no_python3`).
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

/// Each program the tests run, and the cfg set when it is missing.
const NEEDS: &[(&str, &str)] = &[
    ("node", "no_node"),
    ("npm", "no_npm"),
    ("python3", "no_python3"),
];

fn main() {
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CI");
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    for (program, cfg) in NEEDS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        let candidates: Vec<PathBuf> = dirs.iter().map(|dir| dir.join(program)).collect();
        // A file that does not exist yet makes cargo run this again at the next build, so a
        // program installed since is noticed without a clean.
        for candidate in &candidates {
            println!("cargo::rerun-if-changed={}", candidate.display());
        }
        if !ci && !candidates.iter().any(|c| c.is_file()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
