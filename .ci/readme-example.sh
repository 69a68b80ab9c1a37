#!/usr/bin/env bash
# The book's library example (docs/src/library.md), built and run as a user's program: its ```rust block as
# src/main.rs, with exactly the [dependencies] its ```toml block names (imds-attest pointed at
# this checkout), in a crate outside the workspace. Fails if the example does not compile,
# needs a dependency the chapter does not name, or does not print the genuine document's VM.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
dir=target/readme-example
rm -rf "$dir" && mkdir -p "$dir/src"
block() { # the first fenced block of language $1 after the "# Library" heading
    awk -v lang="$1" '
        /^# Library/ { in_lib = 1 }
        in_lib && $0 == "```" lang { grab = 1; next }
        grab && /^```/ { exit }
        grab { print }' docs/src/library.md
}
block rust > "$dir/src/main.rs"
deps=$(block toml)
[ -s "$dir/src/main.rs" ] && [ -n "$deps" ] || { echo "docs/src/library.md: no library example found" >&2; exit 1; }
{
    printf '[package]\nname = "readme-example"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
    printf '%s\n' "$deps"
    printf '\n[patch.crates-io]\nimds-attest = { path = "%s/crates/imds-attest" }\n\n[workspace]\n' "$repo"
} > "$dir/Cargo.toml"
cp Cargo.lock "$dir/Cargo.lock"   # the workspace's versions, so nothing new is resolved
# Run from the checkout's root, where the example's relative path to the document resolves.
CARGO_TARGET_DIR="$repo/target/readme-example-target" \
    cargo run --quiet --offline --manifest-path "$dir/Cargo.toml" > "$dir/out.txt"
grep -q "ddc87bd2-3ebb-43dc-92a9-90b104cd9527" "$dir/out.txt" || { cat "$dir/out.txt" >&2; exit 1; }
echo "the book's library example: built and ran: $(cat "$dir/out.txt")"
