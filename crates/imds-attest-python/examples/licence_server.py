"""A licence server: hand out a challenge, then grant a licence to the VM whose attested
document carries it. Run: IMDS_ATTEST_STORE=sqlite:/var/lib/licence/state.db flask --app
licence_server run. The VM asks IMDS for /metadata/attested/document?nonce=<challenge>."""

from __future__ import annotations

import os
from typing import Any, Dict, Tuple

from flask import Flask, request

import imds_attest

app = Flask(__name__)
# One verifier and one store for the process: thread-safe, and the verifier caches signers.
verifier = imds_attest.Verifier(policy=os.environ.get("IMDS_ATTEST_POLICY"))
challenges = imds_attest.Challenges(os.environ.get("IMDS_ATTEST_STORE", "memory:"))


@app.post("/challenge")
def challenge() -> Dict[str, Any]:
    return {"nonce": challenges.issue(ttl=300)}


@app.post("/verify")
def verify() -> Tuple[Dict[str, Any], int]:
    try:
        doc = verifier.verify(request.get_data(), challenges=challenges)
    except imds_attest.StoreUnavailable as e:
        return {"licensed": False, "kind": e.kind}, 503
    except imds_attest.Rejected as e:
        return {"licensed": False, "kind": e.kind, "message": e.message}, 403
    return {"licensed": True, "vmId": doc.vm_id, "rule": doc.rule}, 200
