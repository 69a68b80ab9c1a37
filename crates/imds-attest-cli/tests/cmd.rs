//! Snapshot tests of the command line with trycmd: each `cmd/*.toml` gives the arguments,
//! standard input, and the expected standard output, standard error and exit status of one
//! case, run from the repository root; the console blocks of the README's "Command line"
//! section are run too, so that the usage it shows is what `--help` prints.
//!
//! After a deliberate change of output: `TRYCMD=overwrite cargo test -p imds-attest-cli --test cmd`,
//! then read the diff.

#[test]
fn cli_snapshots() {
    trycmd::TestCases::new()
        .case("tests/cmd/*.toml")
        .case("../../README.md");
}
