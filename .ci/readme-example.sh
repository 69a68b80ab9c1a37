#!/usr/bin/env bash
# The book's library example (docs/src/library.md), built and run as a user's program: its
# ```rust block as src/main.rs, with exactly the [dependencies] its ```toml block names, in a
# project beside a clone of this repository named imds-attest (as the chapter says to make
# one), run from yet another directory with the document's path as its argument. Fails if the
# example does not compile, needs a dependency the chapter does not name, or does not print
# the genuine document's VM.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
dir=$repo/target/readme-example
rm -rf "$dir" && mkdir -p "$dir/app/src" "$dir/elsewhere"
ln -s "$repo" "$dir/imds-attest"   # the clone, beside the project
block() { # the first fenced block of language $1 after the "# Library" heading
    awk -v lang="$1" '
        /^# Library/ { in_lib = 1 }
        in_lib && $0 == "```" lang { grab = 1; next }
        grab && /^```/ { exit }
        grab { print }' docs/src/library.md
}
block rust > "$dir/app/src/main.rs"
deps=$(block toml)
[ -s "$dir/app/src/main.rs" ] && [ -n "$deps" ] || { echo "docs/src/library.md: no library example found" >&2; exit 1; }
{
    printf '[package]\nname = "readme-example"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
    printf '%s\n' "$deps"
    printf '\n[workspace]\n'
} > "$dir/app/Cargo.toml"
cp Cargo.lock "$dir/app/Cargo.lock"   # the workspace's versions, so nothing new is resolved
# From a directory that is neither the clone nor the project: the path is the argument.
(cd "$dir/elsewhere" && CARGO_TARGET_DIR="$repo/target/readme-example-target" \
    cargo run --quiet --offline --manifest-path ../app/Cargo.toml -- \
    "$repo/testdata/real/taskcluster_2025_rsatls07.json") > "$dir/out.txt"
grep -q "ddc87bd2-3ebb-43dc-92a9-90b104cd9527" "$dir/out.txt" || { cat "$dir/out.txt" >&2; exit 1; }
echo "the book's library example: built and ran: $(cat "$dir/out.txt")"
