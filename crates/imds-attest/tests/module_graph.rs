//! The library's modules import one another one way only, down the pipeline (input -> TLV ->
//! CMS -> algorithms, X.509, signer -> signature -> chain and trust -> claims -> the proof about
//! a signer, `signer_proof` -> verify), and the cold path imports nothing from the warm one. Read from the sources: a `use crate::x`
//! (or `crate::x::` in code) outside comments and unit tests is an edge.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level module each source file belongs to (`trust/chain.rs` is `trust`).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative
        .components()
        .next()?
        .as_os_str()
        .to_str()?
        .to_owned();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (name != "lib").then_some(name)
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate-level names a line refers to through `crate::`.
fn references(line: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or_default();
            names.extend(
                inner
                    .split(',')
                    .map(|n| n.trim().split("::").next().unwrap_or_default().to_owned()),
            );
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.push(name);
        }
    }
    names
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_of(f.strip_prefix(&src).unwrap()))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(file.strip_prefix(&src).unwrap()) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let targets = edges.entry(module.clone()).or_default();
        for line in code.lines() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for name in references(line) {
                if name != module && modules.contains(&name) {
                    targets.insert(name);
                }
            }
        }
    }
    edges
}

#[test]
fn no_two_modules_import_each_other_directly_or_in_a_loop() {
    let edges = graph();
    // Depth-first search for a cycle, reporting the path.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            panic!("import loop: {} -> {node}", path[at..].join(" -> "));
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, path, done);
        }
        path.pop();
        done.insert(node.to_owned());
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        visit(node, &edges, &mut Vec::new(), &mut done);
    }
    // The graph is not empty: the check reads what it should.
    assert!(edges
        .get("verify")
        .is_some_and(|t| t.contains("warm") && t.contains("cms")));
    for remembers_proofs in ["verify", "warm"] {
        assert!(
            edges
                .get(remembers_proofs)
                .is_some_and(|t| t.contains("signer_proof")),
            "{remembers_proofs}"
        );
    }
}

#[test]
fn the_cold_path_imports_nothing_from_the_warm_path() {
    let edges = graph();
    let importers: Vec<&String> = edges
        .iter()
        .filter(|(_, targets)| targets.contains("warm"))
        .map(|(module, _)| module)
        .collect();
    assert_eq!(
        importers,
        ["verify"],
        "only the orchestrator consults the warm path"
    );
}
