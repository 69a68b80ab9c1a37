"""Eight threads verifying at once through one Verifier give the verdicts one thread gives."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import List, Optional, Tuple

import imds_attest
from conftest import MALFORMED, real_documents


def verdict(verifier: imds_attest.Verifier, case: Tuple[bytes, str, Optional[datetime]]) -> str:
    body, nonce, at = case
    try:
        return verifier.verify(body, nonce=nonce, at=at).vm_id
    except imds_attest.Rejected as e:
        return e.kind


def test_eight_threads_give_the_same_verdicts() -> None:
    cases: List[Tuple[bytes, str, Optional[datetime]]] = []
    for real in real_documents():
        cases += [(real.body, real.nonce, real.at), (real.body, "wrong", real.at),
                  (real.body, real.nonce, None)]
    cases += [(p.read_bytes(), "x", None) for p in sorted(MALFORMED.glob("*.bin"))]
    expected = [verdict(imds_attest.Verifier(), c) for c in cases]
    assert len(set(expected)) > 5
    shared = imds_attest.Verifier()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            got = list(pool.map(lambda c: verdict(shared, c), cases * 8))
            assert got == expected * 8
