"""Every file of testdata/malformed/ gets the kind testdata/malformed/expected.json says, the
same file the Rust test (crates/imds-attest/tests/malformed.rs) reads."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

import imds_attest
from conftest import MALFORMED, REFERENCE_TIME, Sign

EXPECTED: Dict[str, List[Dict[str, Any]]] = json.loads((MALFORMED / "expected.json").read_text())


@pytest.mark.parametrize("case", EXPECTED["structure"], ids=lambda c: c["file"])
def test_rejects_each_malformed_structure_with_its_kind(case: Dict[str, Any]) -> None:
    body = (MALFORMED / case["file"]).read_bytes()
    with pytest.raises(imds_attest.Rejected) as e:
        imds_attest.verify(body, dangerous_any_nonce=True, at=REFERENCE_TIME)
    assert e.value.kind == case["kind"]
    assert case["message"] in e.value.message


def test_rejects_each_malformed_signed_content_with_its_kind(sign: Sign) -> None:
    cases = EXPECTED["content"]
    signed = sign(*(str(MALFORMED / c["file"]) for c in cases))
    verifier = imds_attest.Verifier(roots=[signed.root], intermediates=[signed.intermediates])
    for case in cases:
        body = (signed.dir / f"{case['file']}.der").read_bytes()
        with pytest.raises(imds_attest.Rejected) as e:
            verifier.verify(body, nonce="nonce-1", at=REFERENCE_TIME)
        assert e.value.kind == case["kind"], case["file"]
        assert case["message"] in e.value.message, case["file"]


def test_every_malformed_file_is_in_expected_json() -> None:
    named = {c["file"] for cases in EXPECTED.values() if isinstance(cases, list) for c in cases}
    files = {p.name for p in MALFORMED.iterdir()
             if p.suffix != ".about" and p.name not in ("make.py", "README.md", "expected.json")}
    assert files == named
