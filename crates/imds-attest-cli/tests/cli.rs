//! The `imds-attest verify` command, run as a process: one row per behaviour, each giving the
//! arguments, standard input, exit status and what standard output and error must hold.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::OnceLock;

use common::{run, PkiFiles, ANY_NONCE_WARNING, REAL, REAL_AT, REAL_NONCE};
use imds_attest_testpki::{claims_json, imds_response, TestPki, REFERENCE_TIME};

const TEST_AT: &str = "2026-06-01T12:00:00Z";

fn real(ext: &str) -> String {
    match ext {
        "json" => common::real(&format!("{REAL}.json")),
        other => common::real(&format!("raw/{REAL}.{other}")),
    }
}

/// Files made from the test PKI once per run: its root, its intermediate and a document.
struct Fixtures {
    root: String,
    intermediate: String,
    doc: String,
    empty_pem: String,
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<(PkiFiles, Fixtures)> = OnceLock::new();
    &F.get_or_init(|| {
        let files = PkiFiles::new(TestPki::azure());
        let test_at =
            time::OffsetDateTime::parse(TEST_AT, &time::format_description::well_known::Rfc3339);
        assert_eq!(
            test_at.unwrap(),
            REFERENCE_TIME,
            "TEST_AT is the PKI's reference time"
        );
        let der = files.pki.sign(&claims_json("cli-nonce", REFERENCE_TIME));
        let fixtures = Fixtures {
            root: files.root.clone(),
            intermediate: files.intermediate.clone(),
            doc: files.put("doc.json", imds_response(&der)),
            empty_pem: files.put("empty.pem", "# no certificate here\n"),
        };
        (files, fixtures)
    })
    .1
}

enum Expect {
    /// Exit 0; stdout starts with the text verdict; stderr empty.
    Verified(&'static str),
    /// Exit 1; stderr is one line `imds-attest: rejected: ...` containing the text; stdout empty.
    Rejected(&'static str),
    /// Exit 2; stderr contains the text.
    Usage(&'static str),
}

#[test]
fn verify_exit_statuses_and_messages() {
    let f = fixtures();
    let json = real("json");
    let der = std::fs::read(real("der")).unwrap();
    let b64 = std::fs::read(real("b64")).unwrap();
    let huge = vec![b'A'; 70_000];
    // Only what the trycmd snapshots (tests/cmd/) do not pin exactly: stdin, other arguments,
    // the test PKI.
    let cases: Vec<(&str, Vec<&str>, Vec<u8>, Expect)> = vec![
        ("DER on stdin by default", vec!["verify", "--nonce", REAL_NONCE, "--at", REAL_AT], der.clone(), Expect::Verified("nonce           20251119-185330 (checked)")),
        ("base64 on stdin as '-'", vec!["verify", "-", "--any-nonce", "--at", REAL_AT], b64, Expect::Verified("(NOT checked: --any-nonce)")),
        ("cloud not allowed", vec!["verify", &json, "--any-nonce", "--at", REAL_AT, "--cloud", "usgov", "--cloud", "china"], vec![], Expect::Rejected("not under any allowed cloud domain: metadata.azure.us (usgov), metadata.azure.cn (china)")),
        ("older than max age", vec!["verify", &json, "--any-nonce", "--at", "2025-11-19T13:05:00Z", "--max-age", "600"], vec![], Expect::Rejected("is 690 s old, more than the maximum age of 600 s")),
        ("expired document", vec!["verify", &f.doc, "--any-nonce", "--at", "2026-06-01T18:06:00Z", "--root", &f.root, "--intermediate", &f.intermediate], vec![], Expect::Rejected("document expired at 2026-06-01T18:00:00Z, 6m 0s before the verification time 2026-06-01T18:06:00Z")),
        ("test PKI with its root and intermediate", vec!["verify", &f.doc, "--nonce", "cli-nonce", "--at", TEST_AT, "--root", &f.root, "--intermediate", &f.intermediate], vec![], Expect::Verified("cloud           public")),
        ("test PKI without its intermediate", vec!["verify", &f.doc, "--nonce", "cli-nonce", "--at", TEST_AT, "--root", &f.root], vec![], Expect::Rejected("is issued by \"CN=Test Azure RSA TLS Issuing CA 07,O=Microsoft Corporation\", which does not chain to a root given with --root; pass --intermediate with the certificate of \"CN=Test Azure RSA TLS Issuing CA 07,O=Microsoft Corporation\", or --root if it is a root (its caIssuers URL is shown by imds-attest inspect); see docs/src/trust.md")),
        ("test PKI against built-in roots", vec!["verify", &f.doc, "--nonce", "cli-nonce", "--at", TEST_AT, "--intermediate", &f.intermediate], vec![], Expect::Rejected("\"CN=Test Azure RSA TLS Issuing CA 07,O=Microsoft Corporation\" is issued by \"CN=Test Global Root G2,O=Microsoft Corporation\", which does not chain to a public root in the trust store; \"CN=Test Azure RSA TLS Issuing CA 07,O=Microsoft Corporation\" is an intermediate, so \"CN=Test Global Root G2,O=Microsoft Corporation\" is most likely a root: if you trust it, pass --root with its certificate (or --intermediate if it is another intermediate); see docs/src/trust.md\n")),
        ("garbage", vec!["verify", "--any-nonce"], b"hello world".to_vec(), Expect::Rejected("invalid base64")),
        ("empty stdin", vec!["verify", "--any-nonce"], vec![], Expect::Rejected("input is not an attested document (it is empty)")),
        ("oversized input", vec!["verify", "--any-nonce"], huge.clone(), Expect::Rejected("input is larger than the limit of 65536 bytes")),
        ("input over a lowered limit", vec!["verify", &json, "--any-nonce", "--max-input", "1000"], vec![], Expect::Rejected("input is larger than the limit of 1000 bytes")),
        ("raised limit reaches the decoder", vec!["verify", "--any-nonce", "--max-input", "100000"], huge, Expect::Rejected("52498 trailing bytes follow the DER value")),
        ("huge skew and max age do not overflow", vec!["verify", &json, "--nonce", REAL_NONCE, "--at", REAL_AT, "--skew", "4294967295", "--max-age", "4294967295"], vec![], Expect::Verified("cloud           public")),
        ("--at beyond i64", vec!["verify", &json, "--any-nonce", "--at", "99999999999999999999"], vec![], Expect::Usage("Unix time 99999999999999999999 is out of range")),
        ("unreadable file", vec!["verify", "/nonexistent/doc.json", "--any-nonce"], vec![], Expect::Usage("cannot read /nonexistent/doc.json")),
        ("no nonce option", vec!["verify", &json], vec![], Expect::Usage("<--nonce <NONCE>|--any-nonce|--store <URL>>")),
        ("both nonce options", vec!["verify", &json, "--nonce", "a", "--any-nonce"], vec![], Expect::Usage("cannot be used with")),
        ("bad --cloud", vec!["verify", &json, "--any-nonce", "--cloud", "azure"], vec![], Expect::Usage("unknown cloud \"azure\"")),
        ("negative --skew", vec!["verify", &json, "--any-nonce", "--skew=-5"], vec![], Expect::Usage("invalid value '-5' for '--skew <SECONDS>'")),
        ("root file without certificate", vec!["verify", &json, "--any-nonce", "--root", &f.empty_pem], vec![], Expect::Usage("it holds no PEM certificate")),
        ("unreadable root file", vec!["verify", &json, "--any-nonce", "--root", "/nonexistent/root.pem"], vec![], Expect::Usage("cannot read /nonexistent/root.pem")),
    ];
    for (name, args, stdin, expect) in cases {
        let mut r = run(&args, &stdin);
        let context = format!(
            "{name}: exit {}\nstdout: {}\nstderr: {}",
            r.code, r.stdout, r.stderr
        );
        // --any-nonce always earns its warning, first, before any verdict.
        if args.contains(&"--any-nonce") && !matches!(expect, Expect::Usage(_)) {
            let warning = format!("{ANY_NONCE_WARNING}\n");
            assert!(r.stderr.starts_with(&warning), "{context}");
            r.stderr = r.stderr.split_off(warning.len());
        }
        match expect {
            Expect::Verified(line) => {
                assert_eq!(r.code, 0, "{context}");
                assert!(
                    r.stdout
                        .starts_with("VERIFIED Azure IMDS attested document\n"),
                    "{context}"
                );
                assert!(
                    r.stdout.lines().any(|l| l == line || l.ends_with(line)),
                    "{context}"
                );
                assert_eq!(r.stderr, "", "{context}");
            }
            Expect::Rejected(text) => {
                assert_eq!(r.code, 1, "{context}");
                assert_eq!(r.stdout, "", "{context}");
                assert_eq!(r.stderr.lines().count(), 1, "{context}");
                assert!(r.stderr.starts_with("imds-attest: rejected: "), "{context}");
                assert!(r.stderr.contains(text), "{context}");
            }
            Expect::Usage(text) => {
                assert_eq!(r.code, 2, "{context}");
                assert!(r.stderr.contains(text), "{context}");
                assert_eq!(r.stdout, "", "{context}");
            }
        }
    }
}

#[test]
fn json_output_on_success_names_claims_as_the_document_does() {
    let r = run(
        &[
            "verify",
            &real("json"),
            "--nonce",
            REAL_NONCE,
            "--at",
            REAL_AT,
            "--json",
        ],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["cloud"], "public");
    assert_eq!(v["nonceChecked"], true);
    assert_eq!(v["claims"]["vmId"], "ddc87bd2-3ebb-43dc-92a9-90b104cd9527");
    assert_eq!(
        v["claims"]["subscriptionId"],
        "8a205152-b25a-417f-a676-80465535a6c9"
    );
    assert_eq!(v["claims"]["nonce"], REAL_NONCE);
    assert_eq!(
        v["claims"]["plan"],
        serde_json::json!({"name": "", "product": "", "publisher": ""})
    );
    assert_eq!(
        v["claims"]["timeStamp"]["createdOn"],
        "2025-11-19T12:53:30Z"
    );
    assert_eq!(
        v["claims"]["timeStamp"]["expiresOn"],
        "2025-11-19T18:53:30Z"
    );
    assert_eq!(
        v["signer"]["sha256"],
        "4B646E0E765D43A465768A125E5725BA84E2D29EB621C2302CC8556422760813"
    );
    assert_eq!(v["signer"]["notAfter"], "2026-04-23T13:58:46Z");
    assert_eq!(v["chain"].as_array().unwrap().len(), 3);
    assert_eq!(r.stdout.lines().count(), 1, "one JSON object on one line");
}

#[test]
fn json_output_on_rejection_gives_kind_and_message() {
    let r = run(
        &[
            "verify",
            &real("json"),
            "--nonce",
            "wrong",
            "--at",
            REAL_AT,
            "--json",
        ],
        b"",
    );
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["error"]["kind"], "nonce_mismatch");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message
            .starts_with("nonce \"20251119-185330\" in the document is not the expected \"wrong\""),
        "{message}"
    );
    assert_eq!(
        r.stderr.trim_end(),
        format!("imds-attest: rejected: {message}")
    );

    let r = run(&["verify", "--any-nonce", "--json"], b"\x00\x01binary");
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "unrecognised_input");
}

/// Every outcome of verify and inspect with --json, usage errors and unreadable files
/// included, gives exactly one JSON object on standard output, with the kind the text names.
#[test]
fn json_gives_one_object_for_every_outcome() {
    let json = real("json");
    let garbage = common::repo()
        .join("testdata/malformed/truncated-half.bin")
        .display()
        .to_string();
    let cases: Vec<(Vec<&str>, i32, &str, &str)> = vec![
        (
            vec![
                "verify", &json, "--json", "--nonce", "wrong", "--at", REAL_AT,
            ],
            1,
            "nonce_mismatch",
            "imds-attest: rejected: ",
        ),
        (
            vec!["verify", &json, "--json", "--bogus"],
            2,
            "usage",
            "error: unexpected argument '--bogus' found",
        ),
        (
            vec!["verify", &json, "--json"],
            2,
            "usage",
            "error: the following required arguments were not provided",
        ),
        (
            vec!["verify", &json, "--json", "--nonce", ""],
            2,
            "usage",
            "error: invalid value '' for '--nonce <NONCE>'",
        ),
        (
            vec!["verify", &json, "--json", "--at", "soon", "--any-nonce"],
            2,
            "usage",
            "error: invalid value 'soon' for '--at <TIME>'",
        ),
        (
            vec!["verify", "/nonexistent/doc.json", "--json", "--nonce", "n"],
            2,
            "usage",
            "imds-attest: cannot read /nonexistent/doc.json: ",
        ),
        (
            vec![
                "verify",
                &json,
                "--json",
                "--nonce",
                "n",
                "--root",
                "/nonexistent/root.pem",
            ],
            2,
            // A trust file's kind, as Python's ConfigError and the service's startup say.
            "trust_file",
            "imds-attest: cannot read /nonexistent/root.pem: ",
        ),
        (
            vec!["inspect", "--json", "/nonexistent/doc.json"],
            2,
            "usage",
            "imds-attest: cannot read /nonexistent/doc.json: ",
        ),
        (
            vec!["inspect", "--json", "--bogus"],
            2,
            "usage",
            "error: unexpected argument '--bogus' found",
        ),
        (
            vec!["inspect", "--json", &garbage],
            1,
            "der",
            "imds-attest: cannot inspect: malformed PKCS#7",
        ),
    ];
    for (args, code, kind, stderr_start) in cases {
        let r = run(&args, b"");
        let context = format!(
            "{args:?}: exit {}\nstdout: {}\nstderr: {}",
            r.code, r.stdout, r.stderr
        );
        assert_eq!(r.code, code, "{context}");
        assert_eq!(r.stdout.lines().count(), 1, "{context}");
        let v: serde_json::Value = serde_json::from_str(&r.stdout).expect(&context);
        assert_eq!(v["verified"], false, "{context}");
        assert_eq!(v["error"]["kind"], kind, "{context}");
        let message = v["error"]["message"].as_str().expect(&context);
        assert!(!message.is_empty() && !message.contains('\n'), "{context}");
        assert!(r.stderr.starts_with(stderr_start), "{context}");
        if !stderr_start.starts_with("error: ") {
            assert_eq!(r.stderr.lines().count(), 1, "{context}");
            assert!(r.stderr.contains(message), "{context}");
        }
    }
}

/// A rejection for an untrusted issuer gives the CLI's advice in the JSON `hint`, apart from
/// the library's message, which advises nothing.
#[test]
fn json_rejection_for_an_untrusted_issuer_carries_the_hint() {
    let f = fixtures();
    let r = run(
        &[
            "verify",
            &f.doc,
            "--nonce",
            "cli-nonce",
            "--at",
            TEST_AT,
            "--json",
        ],
        b"",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "untrusted_issuer");
    assert_eq!(
        v["error"]["message"],
        "certificate \"CN=metadata.azure.com,O=Microsoft Corporation\" is issued by \"CN=Test Azure RSA TLS Issuing CA 07,O=Microsoft Corporation\", which does not chain to a public root in the trust store"
    );
    assert_eq!(
        v["error"]["hint"],
        "pass --intermediate with the certificate of \"CN=Test Azure RSA TLS Issuing CA 07,O=Microsoft Corporation\" (its caIssuers URL is shown by imds-attest inspect); see docs/src/trust.md; or let imds-attest fetch it from the certificate's caIssuers URL with --fetch-intermediates"
    );
    assert!(!r.stderr.contains("certs/"), "{}", r.stderr);
}

#[test]
fn completions_name_the_subcommands_and_man_is_roff() {
    let r = run(&["completions", "bash"], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    for sub in [
        "verify",
        "fetch",
        "inspect",
        "completions",
        "man",
        "--any-nonce",
    ] {
        assert!(
            r.stdout.contains(sub),
            "{sub} missing from the bash completions"
        );
    }
    for shell in ["zsh", "fish", "powershell"] {
        let r = run(&["completions", shell], b"");
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("verify"), "{shell}");
    }
    let r = run(&["man"], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    // clap_mangen defines the apostrophe string (.ie/.el) first; the title comes next.
    let first = r
        .stdout
        .lines()
        .find(|l| !l.starts_with(".ie ") && !l.starts_with(".el "));
    assert!(
        first.unwrap().starts_with(".TH imds-attest 1 "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\n.SH NAME\n"), "{}", r.stdout);
    assert!(r.stdout.contains("imds\\-attest"), "{}", r.stdout);
    // The exit status and the environment in their own sections, not under EXTRA.
    assert!(r.stdout.contains("\n.SH \"EXIT STATUS\"\n"), "{}", r.stdout);
    assert!(r.stdout.contains("\n.SH ENVIRONMENT\n"), "{}", r.stdout);
    assert!(r.stdout.contains("\\fBIMDS_ENDPOINT\\fR"), "{}", r.stdout);
    assert!(!r.stdout.contains("EXTRA"), "{}", r.stdout);
}

/// `man --out-dir` writes a page for every page the others refer to (imds-attest-verify(1),
/// imds-attest-trust-list(1), ...), each with its exit status.
#[test]
fn man_out_dir_writes_every_page_the_pages_refer_to() {
    let dir = imds_attest_testpki::temp::dir();
    let r = run(&["man", "--out-dir", dir.path().to_str().unwrap()], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let written: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(written.len(), 13, "{written:?}");
    for path in &written {
        let page = std::fs::read_to_string(path).unwrap();
        assert!(page.contains("\n.SH \"EXIT STATUS\"\n"), "{path}");
        assert!(!page.contains("EXTRA"), "{path}");
        // Every reference such as "imds\-attest\-trust\-list(1)" names a written page.
        for reference in page.split_whitespace().filter(|w| w.ends_with("(1)")) {
            let name = reference.trim_end_matches("(1)").replace("\\-", "-");
            let name = name.rsplit(['\\', ' ']).next().unwrap();
            assert!(
                dir.path().join(format!("{name}.1")).is_file(),
                "{path} refers to {reference}"
            );
        }
    }
    let check = std::fs::read_to_string(dir.path().join("imds-attest-trust-check.1")).unwrap();
    assert!(
        check.contains(".TP\n\\fB1\\fR\ncheck found certificates expiring\n"),
        "{check}"
    );
}

/// bash completes a subcommand's options, not only the subcommand names: the script is
/// sourced, and its function asked what `imds-attest verify --no<TAB>` and
/// `imds-attest trust check --wi<TAB>` complete to.
#[test]
fn bash_completes_the_options_of_subcommands() {
    let r = run(&["completions", "bash"], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dir = imds_attest_testpki::temp::dir();
    let script = dir.path().join("imds-attest.bash");
    std::fs::write(&script, &r.stdout).unwrap();
    let complete = |words: &[&str]| {
        let cword = words.len() - 1;
        let program = format!(
            "source {script:?}\n\
             COMP_WORDS=({words})\n\
             COMP_CWORD={cword}\n\
             _imds__attest imds-attest {cur:?} {prev:?}\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            words = words.join(" "),
            cur = words[cword],
            prev = words[cword - 1],
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program])
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let verify = complete(&["imds-attest", "verify", "--no"]);
    let verify: Vec<&str> = verify.lines().collect();
    assert!(verify.contains(&"--nonce"), "{verify:?}");
    assert!(verify.iter().all(|o| o.starts_with("--no")), "{verify:?}");
    let check = complete(&["imds-attest", "trust", "check", "--wi"]);
    assert_eq!(check.lines().collect::<Vec<_>>(), ["--within"]);
}

/// On a terminal, reading standard input gets one hint line, so that a forgotten FILE does not
/// look like a hang; run under util-linux `script` for a pseudo-terminal, ignored without it.
#[test]
#[cfg_attr(
    no_script,
    ignore = "util-linux `script` is not installed (Debian's bsdutils)"
)]
fn reading_a_terminal_hints_once_and_a_pipe_not_at_all() {
    let bin = env!("CARGO_BIN_EXE_imds-attest");
    let hint = "imds-attest: reading the document from standard input (Ctrl-D to end; pass a FILE to read a file)";
    let piped = run(&["verify", "--nonce", "n"], b"");
    assert!(!piped.stderr.contains(hint), "{}", piped.stderr);
    let tty = std::process::Command::new("script")
        .args(["-qec", &format!("{bin} verify --nonce n"), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output();
    let tty = tty.expect("`script` makes a terminal (it was on PATH when this test was built)");
    let text = String::from_utf8_lossy(&tty.stdout);
    assert_eq!(text.matches(hint).count(), 1, "{text}");
}
