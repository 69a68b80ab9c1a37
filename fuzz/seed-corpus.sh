#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds: the genuine documents of testdata/real/, the
# hand-made inputs of testdata/malformed/, and documents, certificates and claims the test PKI
# makes now. Seeds are named by their SHA-256, so running it again adds nothing twice.
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz/corpus
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
cargo run -q -p imds-attest-testpki --example fuzz-seeds -- "$gen"

seed() { # target files...
    local target=$1; shift
    mkdir -p "$out/$target"
    for f in "$@"; do
        [ -f "$f" ] || continue
        cp "$f" "$out/$target/$(sha256sum "$f" | cut -c1-16)"
    done
}
shopt -s nullglob
real_docs=(testdata/real/*.json testdata/real/raw/*.b64 testdata/real/raw/*.der testdata/real/not_genuine/*.der testdata/real/not_genuine/*.b64)
malformed=(testdata/malformed/*.bin)
seed input "${real_docs[@]}" "${malformed[@]}" "$gen"/doc-*
seed cms testdata/real/raw/*.der testdata/real/not_genuine/*.der "${malformed[@]}" "$gen"/doc-*.der
seed verify "${real_docs[@]}" "${malformed[@]}" "$gen"/doc-*
seed differential testdata/real/raw/*.der testdata/real/not_genuine/*.der "$gen"/doc-*.der
seed certificate testdata/real/raw/*.leaf.pem certs/*/*/*.pem "$gen"/cert-*
for pem in testdata/real/raw/*.leaf.pem; do
    openssl x509 -in "$pem" -outform DER -out "$gen/$(basename "$pem" .pem).der"
done
seed certificate "$gen"/*.leaf.der
seed claims testdata/real/raw/*.content.json testdata/real/not_genuine/*.content.json "$gen"/claims-*
seed signer_name "$gen"/name-*
for t in "$out"/*; do echo "$(ls "$t" | wc -l) seeds in $t"; done
