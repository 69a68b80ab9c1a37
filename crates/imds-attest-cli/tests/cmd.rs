//! Snapshot tests of the command line with trycmd: each `cmd/*.toml` gives the arguments,
//! standard input, and the expected standard output, standard error and exit status of one
//! case, run from the repository root; the console blocks of the book's chapters
//! (`docs/src/`: the command line's, the service's) and of the README are run too, so that the
//! usage they show is what `--help` prints.
//!
//! After a deliberate change of output: `TRYCMD=overwrite cargo test -p imds-attest-cli --test cmd`,
//! then read the diff.

#[test]
fn cli_snapshots() {
    trycmd::TestCases::new()
        .case("tests/cmd/*.toml")
        .case("../../README.md")
        .case("../../docs/src/cli.md")
        .case("../../docs/src/service.md");
}
