"""Single-use nonces through memory:, sqlite: (a real file) and a real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

import imds_attest
from conftest import REFERENCE_TIME, RedisServer, Sign


def redeem_once(url: str, sign: Sign) -> None:
    challenges = imds_attest.Challenges(url)
    nonce = challenges.issue(ttl=300)
    assert len(nonce) == 32 and nonce.isalnum()
    signed = sign(f"nonce={nonce}")
    body = (signed.dir / f"nonce-{nonce}.json").read_bytes()
    verifier = imds_attest.Verifier(roots=[signed.root], intermediates=[signed.intermediates])
    # The nonce is redeemed at the verification time: the test PKI's documents are valid only
    # around its reference time, and the nonce was issued now, so it has not expired then.
    doc = verifier.verify(body, challenges=challenges, at=REFERENCE_TIME)
    assert doc.nonce == nonce and doc.redeemed and doc.nonce_checked
    with pytest.raises(imds_attest.Rejected) as e:
        verifier.verify(body, challenges=challenges, at=REFERENCE_TIME)
    assert e.value.kind == "nonce_already_used"
    # A nonce this store never issued.
    other = sign("nonce=neverissued")
    with pytest.raises(imds_attest.Rejected) as e:
        imds_attest.verify((other.dir / "nonce-neverissued.json").read_bytes(),
                           challenges=challenges, at=REFERENCE_TIME,
                           roots=[other.root], intermediates=[other.intermediates])
    assert e.value.kind == "nonce_unknown"


def test_memory_store_redeems_a_nonce_once(sign: Sign) -> None:
    redeem_once("memory:", sign)


def test_sqlite_store_redeems_a_nonce_once(sign: Sign, tmp_path: Path) -> None:
    redeem_once(f"sqlite:{tmp_path / 'state.db'}", sign)
    assert (tmp_path / "state.db").exists()


def test_redis_store_redeems_a_nonce_once(sign: Sign, redis_server: RedisServer) -> None:
    redeem_once(redis_server.url, sign)


def test_unreachable_redis_is_store_unavailable(sign: Sign, redis_server: RedisServer) -> None:
    challenges = imds_attest.Challenges(redis_server.url + "?timeout_ms=500")
    nonce = challenges.issue()
    signed = sign(f"nonce={nonce}")
    redis_server.stop()
    with pytest.raises(imds_attest.StoreUnavailable) as e:
        imds_attest.verify((signed.dir / f"nonce-{nonce}.json").read_bytes(),
                           challenges=challenges, at=REFERENCE_TIME,
                           roots=[signed.root], intermediates=[signed.intermediates])
    assert e.value.kind == "store_unavailable"
    assert isinstance(e.value, imds_attest.Rejected)
    # Issuing writes nothing: this process, which has read the store's key, still issues; a
    # process that has not cannot.
    assert len(challenges.issue(ttl=60)) == 32
    with pytest.raises(imds_attest.StoreUnavailable):
        imds_attest.Challenges(redis_server.url + "?timeout_ms=500").issue(ttl=60)


def test_bad_store_urls_and_ttls_are_value_errors() -> None:
    with pytest.raises(imds_attest.ConfigError) as caught:
        imds_attest.Challenges("postgres://db")
    # A ValueError still, with the kind the CLI and the service give an unparsable store URL.
    assert isinstance(caught.value, ValueError)
    assert caught.value.kind == "store_url"
    challenges = imds_attest.Challenges("memory:")
    for ttl in (0, -1, 2**63, 2**64):
        with pytest.raises(ValueError):
            challenges.issue(ttl=ttl)
    with pytest.raises(TypeError):
        challenges.issue(ttl="300")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        imds_attest.Challenges(b"memory:")  # type: ignore[arg-type]
