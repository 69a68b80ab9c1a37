"""examples/licence_server.py through Flask's test client."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import imds_attest
from conftest import REAL, REFERENCE_TIME, Sign

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "licence_server.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("licence_server", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["licence_server"] = module
    spec.loader.exec_module(module)
    return module


class AtReferenceTime:
    """The example's verifier with the test PKI's trust, at its documents' time, not now."""

    def __init__(self, verifier: imds_attest.Verifier) -> None:
        self.verifier = verifier

    def verify(self, body: bytes, **kwargs: Any) -> imds_attest.VerifiedDocument:
        return self.verifier.verify(body, at=REFERENCE_TIME, **kwargs)


def test_challenge_then_verify_grants_once(sign: Sign, monkeypatch: pytest.MonkeyPatch) -> None:
    server = load_example()
    client = server.app.test_client()
    nonce = client.post("/challenge").get_json()["nonce"]
    signed = sign(f"nonce={nonce}")
    body = (signed.dir / f"nonce-{nonce}.json").read_bytes()
    trusting = imds_attest.Verifier(roots=[signed.root], intermediates=[signed.intermediates])
    monkeypatch.setattr(server, "verifier", AtReferenceTime(trusting))
    granted = client.post("/verify", data=body)
    assert granted.status_code == 200, granted.get_json()
    assert granted.get_json() == {"licensed": True, "vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
                                  "rule": None}
    again = client.post("/verify", data=body)
    assert again.status_code == 403 and again.get_json()["kind"] == "nonce_already_used"


def test_a_document_without_our_nonce_is_refused() -> None:
    client = load_example().app.test_client()
    body = (REAL / "taskcluster_2025_rsatls07.json").read_bytes()
    refused = client.post("/verify", data=body)
    assert refused.status_code == 403
    assert refused.get_json()["kind"] in imds_attest.KINDS
    garbage = client.post("/verify", data=b"")
    assert garbage.status_code == 403 and garbage.get_json()["kind"] == "unrecognised_input"
