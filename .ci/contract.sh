#!/usr/bin/env bash
# The licence service against its own OpenAPI document (as GET /openapi.json serves it):
# `imds-attest serve` trusting an IMDS emulator's PKI, with [auth]; a genuine round trip
# whose 200 must match the document's schema; then schemathesis (pinned, with its
# dependencies, in crates/imds-attest-service/requirements-contract.txt) on every operation,
# with the stateful link from a challenge to a verify. Any 5xx, status, header, content type
# or body outside the document, or dropped connection fails the run. Loopback only; bounded
# (100 examples an operation: under a minute on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

py=target/contract-venv
if [ ! -x "$py/bin/st" ]; then
    python3 -m venv "$py"
fi
"$py/bin/pip" install --quiet --disable-pip-version-check \
    -r crates/imds-attest-service/requirements-contract.txt
cargo build --locked --quiet -p imds-attest-cli -p imds-emulator

work=$(mktemp -d) # 0700: the emulator refuses a PKI folder others may write
pids=()
cleanup() {
    local status=$?
    # A failure's cause is often in the service's log: show its end before it goes.
    if [ "$status" -ne 0 ] && [ -s "$work/service.log" ]; then
        echo "== the service's log, last 40 lines" >&2
        tail -n 40 "$work/service.log" >&2
    fi
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Waits up to 60 s for `pattern` in `file`, and prints the first http://ADDR after it.
address_in() {
    local file=$1 pattern=$2 i
    for i in $(seq 600); do
        if grep -q "$pattern" "$file" 2>/dev/null; then
            grep -o "$pattern http://[0-9.:]*" "$file" | head -1 | grep -o 'http://[0-9.:]*'
            return
        fi
        sleep 0.1
    done
    echo "no \"$pattern\" in $file after 60 s:" >&2
    cat "$file" >&2
    return 1
}

target/debug/imds-emulator --pki-dir "$work/pki" --listen 127.0.0.1:0 >"$work/emulator.log" 2>&1 &
pids+=($!)
emulator=$(address_in "$work/emulator.log" "listening on")

token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" >"$work/tokens.txt"
cat >"$work/service.toml" <<EOF
listen = "127.0.0.1:0"
[store]
url = "memory:"
[trust]
roots = ["pki/root.pem"]
intermediates = ["pki/intermediate.pem"]
[auth]
tokens_file = "tokens.txt"
EOF
target/debug/imds-attest serve --config "$work/service.toml" 2>"$work/service.log" &
pids+=($!)
service=$(address_in "$work/service.log" "listening on")
echo "emulator $emulator, service $service"

# A genuine round trip first: the 200 schemathesis cannot reach (it has no document IMDS
# signed) must match the document too.
"$py/bin/python" - "$service" "$emulator" "$token" "$work/openapi.json" <<'EOF'
import json, sys, urllib.request
import jsonschema_rs

service, emulator, token, schema_file = sys.argv[1:]
auth = {"Authorization": f"Bearer {token}"}
def call(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, json.loads(response.read())
doc = call(f"{service}/openapi.json")[1]
# What schemathesis reads: from a file, since it skips the operation at the URL it loaded
# the document from, and GET /openapi.json is one of the operations to test.
with open(schema_file, "w") as f:
    json.dump(doc, f)
def check(name, value):
    schema = dict(doc, **{"$ref": f"#/components/schemas/{name}"})
    jsonschema_rs.validator_for(schema).validate(value)
status, challenge = call(f"{service}/v1/challenges", b"", auth)
assert status == 201, status
check("Challenge", challenge)
imds = urllib.request.Request(
    f"{emulator}/metadata/attested/document?api-version=2023-07-01&nonce={challenge['nonce']}",
    headers={"Metadata": "true"},
)
with urllib.request.urlopen(imds, timeout=20) as response:
    document = response.read()
status, verified = call(f"{service}/v1/verify", document, auth)
assert status == 200 and verified["redeemed"] is True, (status, verified)
check("Verified", verified)
print("a genuine document: 200, as documented")
EOF

# From target/contract, where schemathesis keeps its crash cache (`st replay ID` there) and
# its JUnit report: nothing is left outside target/.
repo=$PWD
mkdir -p target/contract
(cd target/contract && "$repo/$py/bin/st" --config-file "$repo/crates/imds-attest-service/schemathesis.toml" \
    run "$work/openapi.json" \
    --url "$service" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --max-examples 100 \
    --seed 23 \
    --generation-database none \
    --request-timeout 15 \
    --no-color \
    --report junit --report-dir .)

echo "== contract: passed in $(($(date +%s) - start)) s"
