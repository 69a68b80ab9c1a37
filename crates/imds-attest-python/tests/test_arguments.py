"""Bad arguments are ValueError, TypeError or OSError; no input reaches a Rust panic."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict

import pytest

import imds_attest
from conftest import MALFORMED, REAL, REFERENCE_TIME

BODY = (REAL / "taskcluster_2025_rsatls07.json").read_bytes()
AT = datetime(2025, 11, 19, 12, 53, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"nonce": "x", "dangerous_any_nonce": True},
        {"nonce": "x", "challenges": imds_attest.Challenges("memory:")},
        {"dangerous_any_nonce": False},
    ],
    ids=["none", "nonce-and-any", "nonce-and-challenges", "any-false"],
)
def test_exactly_one_nonce_check_is_required(kwargs: Dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        imds_attest.verify(BODY, at=AT, **kwargs)


def test_naive_datetime_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="naive"):
        imds_attest.verify(BODY, nonce="20251119-185330", at=datetime(2025, 11, 19, 12, 53, 30))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"at": "2025-11-19T12:53:30Z"}, TypeError),
        ({"at": 1763556810}, TypeError),
        ({"skew": -1}, ValueError),
        ({"skew": 2**63}, ValueError),
        ({"skew": 2**32}, ValueError),
        ({"skew": 1.5}, TypeError),
        ({"skew": True}, TypeError),
        ({"max_age": -5}, ValueError),
        ({"max_age": 10**30}, ValueError),
        ({"clouds": "public"}, TypeError),
        ({"clouds": ["mars"]}, ValueError),
        ({"clouds": [1]}, TypeError),
        ({"roots": "root.pem"}, TypeError),
        ({"roots": [b"root.pem"]}, TypeError),
        ({"roots": ["/nonexistent/root.pem"]}, OSError),
        ({"intermediates": ["/nonexistent/ca.pem"]}, OSError),
        ({"roots": [str(MALFORMED / "README.md")]}, ValueError),
        ({"policy": "/nonexistent/rules.toml"}, OSError),
        ({"policy": str(MALFORMED / "README.md")}, ValueError),
        ({"nonce": 5}, TypeError),
        ({"challenges": "memory:"}, TypeError),
        ({"dangerous_any_nonce": 1}, TypeError),
    ],
)
def test_bad_arguments(kwargs: Dict[str, Any], error: type) -> None:
    if not {"nonce", "challenges", "dangerous_any_nonce"} & kwargs.keys():
        kwargs["nonce"] = "20251119-185330"
    kwargs.setdefault("at", AT)
    with pytest.raises(error):
        imds_attest.verify(BODY, **kwargs)


@pytest.mark.parametrize(
    "kwargs, kind, unreadable",
    [
        ({"roots": ["/nonexistent/root.pem"]}, "trust_file", True),
        ({"intermediates": ["/nonexistent/ca.pem"]}, "trust_file", True),
        ({"roots": [str(MALFORMED / "README.md")]}, "trust_file", False),
        ({"roots": ["/dev/zero"]}, "trust_file", False),
        ({"policy": "/nonexistent/rules.toml"}, "rules_file", True),
        ({"policy": str(MALFORMED / "README.md")}, "rules_file", False),
    ],
)
def test_bad_files_have_the_kind_every_face_gives_them(
    kwargs: Dict[str, Any], kind: str, unreadable: bool
) -> None:
    # The kinds of the CLI's `verify --json` and the service's startup error for the same file.
    with pytest.raises(imds_attest.ConfigError) as caught:
        imds_attest.Verifier(**kwargs)
    assert caught.value.kind == kind
    assert kind in imds_attest.CONFIG_KINDS
    assert isinstance(caught.value, imds_attest.UnreadableFile) == unreadable
    assert str(caught.value).startswith(f"{kind}: ")


@pytest.mark.parametrize("body", [None, 5, bytearray(b"x"), ["a"], memoryview(b"x")])
def test_body_must_be_bytes_or_str(body: Any) -> None:
    with pytest.raises(TypeError):
        imds_attest.verify(body, dangerous_any_nonce=True)


def test_no_input_raises_a_panic() -> None:
    """Random and mutated bytes, every malformed file, extreme times and sizes: each is a
    verdict or a Python error, never PanicException (a BaseException, not an Exception)."""
    rng = random.Random(15)
    bodies = [p.read_bytes() for p in sorted(MALFORMED.iterdir()) if p.is_file()]
    bodies += [BODY, BODY.decode().encode("utf-16"), b"\x00" * 70_000, b"{" * 100_000,
               b"-----BEGIN PKCS7-----\n" + b"A" * 5000, "é\u202e\U0001F600".encode(), b"\xff\xfe"]
    for _ in range(300):
        b = bytearray(rng.choice(bodies[:10] + [BODY]))
        for _ in range(rng.randint(1, 8)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        bodies.append(bytes(b))
        bodies.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))))
    times = [AT, REFERENCE_TIME, datetime.max.replace(tzinfo=timezone.utc),
             datetime.min.replace(tzinfo=timezone.utc),
             datetime.max.replace(tzinfo=timezone(timedelta(hours=-23, minutes=-59))),
             datetime.min.replace(tzinfo=timezone(timedelta(hours=23, minutes=59)))]
    verifiers = [imds_attest.Verifier(), imds_attest.Verifier(skew=2**32 - 1, max_age=0),
                 imds_attest.Verifier(skew=0, max_age=2**32 - 1, clouds=["usgov", "china"])]
    outcomes = 0
    for i, body in enumerate(bodies):
        for at in times if i < 60 else times[:1]:
            verifier = verifiers[i % len(verifiers)]
            for kwargs in ({"nonce": "20251119-185330"}, {"dangerous_any_nonce": True}):
                try:
                    verifier.verify(body, at=at, **kwargs)
                except (imds_attest.Rejected, ValueError):
                    pass
                outcomes += 1
            try:
                imds_attest.verify(body.decode("latin-1"), nonce="\x00" * 10_000, at=at)
            except (imds_attest.Rejected, ValueError):
                pass
    assert outcomes > 1000
    with pytest.raises(imds_attest.Rejected):
        imds_attest.verify(b"A" * (64 << 20), dangerous_any_nonce=True)


def test_pathlike_paths_are_accepted(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[allow]]\nname = "ours"\nsubscription_id = ["8a205152-b25a-417f-a676-80465535a6c9"]\n')
    doc = imds_attest.Verifier(policy=rules).verify(BODY, nonce="20251119-185330", at=AT)
    assert doc.rule == "ours"


def test_the_package_has_a_version_and_no_leaked_helpers() -> None:
    parts = imds_attest.__version__.split(".")
    assert len(parts) >= 3 and all(p.isdigit() for p in parts[:2]), imds_attest.__version__
    names = dir(imds_attest)
    assert "FrozenSet" not in names and "annotations" not in names, names
