//! Signs documents with a fresh test PKI, for tests outside Rust (the Python package's):
//! `cargo run -p imds-attest-testpki --example sign -- DIR [FILE | nonce=N]...` writes
//! `DIR/root.pem` and `DIR/intermediates.pem` (what to trust), for each FILE its content signed
//! as `DIR/<file name>.der`, and for each `nonce=N` an IMDS response carrying nonce N, created
//! at the reference time, as `DIR/nonce-N.json`. Verify them at `REFERENCE_TIME`
//! (2026-06-01T12:00:00Z): the leaf is valid from 30 days before it to 180 days after.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use imds_attest_testpki::{claims_json, imds_response, TestPki, REFERENCE_TIME};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: sign DIR [FILE | nonce=N]..."));
    std::fs::create_dir_all(&dir).unwrap();
    let pki = TestPki::azure();
    std::fs::write(dir.join("root.pem"), pki.root_pem()).unwrap();
    std::fs::write(dir.join("intermediates.pem"), pki.intermediates_pem()).unwrap();
    for arg in args {
        if let Some(nonce) = arg.strip_prefix("nonce=") {
            let der = pki.sign(&claims_json(nonce, REFERENCE_TIME));
            std::fs::write(dir.join(format!("nonce-{nonce}.json")), imds_response(&der)).unwrap();
        } else {
            let path = std::path::Path::new(&arg);
            let name = path.file_name().expect("a file").to_string_lossy();
            let der = pki.sign(&std::fs::read(path).unwrap());
            std::fs::write(dir.join(format!("{name}.der")), der).unwrap();
        }
    }
}
