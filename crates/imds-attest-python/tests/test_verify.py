"""Genuine documents at their time and today, the attributes, and to_dict() against the CLI."""

from __future__ import annotations

import json
import os
import shlex
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest

import imds_attest
from conftest import REPO, Real, real_documents

REALS = real_documents()
CLI_CASES = REPO / "crates" / "imds-attest-cli" / "tests" / "cmd"


@pytest.mark.parametrize("real", REALS, ids=[r.name for r in REALS])
def test_every_real_document_verifies_at_its_time_with_builtin_trust(real: Real) -> None:
    doc = imds_attest.verify(real.body, nonce=real.nonce, at=real.at)
    assert doc.vm_id == real.vm_id
    assert doc.nonce == real.nonce
    assert doc.cloud == "public"
    assert doc.signer.sha256 == real.leaf_sha256
    assert doc.nonce_checked and not doc.redeemed
    assert 3 <= len(doc.chain) <= 4
    assert doc.created_on.tzinfo is not None and doc.created_on.utcoffset() == timedelta(0)
    assert doc.created_on <= real.at < doc.expires_on


@pytest.mark.parametrize("real", REALS, ids=[r.name for r in REALS])
def test_every_real_document_is_rejected_now_as_expired(real: Real) -> None:
    # As crates/imds-attest/tests/real_documents.rs: today the document's own time is
    # reported first; with a skew keeping its window open, the expired chain.
    with pytest.raises(imds_attest.Rejected) as e:
        imds_attest.verify(real.body, nonce=real.nonce)
    assert e.value.kind == "document_expired"
    assert "expired" in e.value.message
    lenient = imds_attest.Verifier(skew=4000 * 86400)
    with pytest.raises(imds_attest.Rejected) as e:
        lenient.verify(real.body, nonce=real.nonce)
    assert e.value.kind == "certificate_expired"


def test_str_body_and_every_attribute() -> None:
    real = next(r for r in REALS if r.name == "taskcluster_2025_rsatls07")
    doc = imds_attest.verify(real.body.decode(), nonce=real.nonce, at=real.at, clouds=["public"],
                             skew=300, max_age=None)
    assert doc.vm_id == "ddc87bd2-3ebb-43dc-92a9-90b104cd9527"
    assert doc.subscription_id == "8a205152-b25a-417f-a676-80465535a6c9"
    assert doc.sku == "" and doc.license_type == ""
    assert doc.plan is None  # IMDS's empty plan of a non-Marketplace image
    assert doc.created_on == datetime(2025, 11, 19, 12, 53, 30, tzinfo=timezone.utc)
    assert doc.expires_on == datetime(2025, 11, 19, 18, 53, 30, tzinfo=timezone.utc)
    assert doc.region == "eastus" and doc.rule is None
    assert doc.signer.subject.startswith("CN=metadata.azure.com")
    assert doc.signer.issuer == "CN=Microsoft Azure RSA TLS Issuing CA 07,O=Microsoft Corporation,C=US"
    assert doc.signer.serial == "33029F2C3970136ECBC41156950000029F2C39"
    assert doc.signer.not_after == datetime(2026, 4, 23, 13, 58, 46, tzinfo=timezone.utc)
    assert doc.signer.dns_names == ["eastus.metadata.azure.com", "metadata.azure.com"]
    assert doc.chain[-1] == "CN=Microsoft RSA Root Certificate Authority 2017,O=Microsoft Corporation,C=US"
    assert "ddc87bd2" in repr(doc) and "eastus" in repr(doc)
    # A timezone other than UTC names the same instant.
    later = real.at.astimezone(timezone(timedelta(hours=-8)))
    assert imds_attest.verify(real.body, nonce=real.nonce, at=later).vm_id == doc.vm_id


def test_kinds_are_the_rust_enum_s_names() -> None:
    # kinds.md is the kind table the Rust tests keep in step with ErrorKind.
    table = (REPO / "crates" / "imds-attest" / "src" / "error" / "kinds.md").read_text()
    for kind in imds_attest.KINDS:
        assert f"`{kind}`" in table, kind
    assert "document_expired" in imds_attest.KINDS and len(imds_attest.KINDS) >= 40


def cli_verify_cases() -> List[Path]:
    """The CLI's snapshot cases of `verify --json` over a file, with options verify() takes."""
    out = []
    for path in sorted(CLI_CASES.glob("verify-*-json.toml")):
        case = tomllib.loads(path.read_text())
        args: List[str] = case.get("args", [])
        if case.get("stdin") or "stdin" in case or any(a.startswith("--store") for a in args):
            continue
        files = [a for a in args[1:] if a.startswith("testdata/")]
        if not all((REPO / f).exists() for f in files):
            continue  # the CLI's unreadable-file case: no body to give verify()
        if all(a in KNOWN or not a.startswith("--") for a in args) and len(args) > 2:
            out.append(path)
    return out


KNOWN = {"--nonce", "--at", "--policy", "--root", "--intermediate", "--cloud", "--skew",
         "--max-age", "--any-nonce", "--json"}


@pytest.mark.parametrize("case", cli_verify_cases(), ids=lambda p: p.stem)
def test_to_dict_and_kinds_match_the_cli_json(case: Path) -> None:
    spec = tomllib.loads(case.read_text())
    args: List[str] = list(spec["args"])
    assert args.pop(0) == "verify"
    kwargs: Dict[str, Any] = {}
    body = b""
    while args:
        a = args.pop(0)
        if a == "--json":
            continue
        if a == "--any-nonce":
            kwargs["dangerous_any_nonce"] = True
        elif a == "--nonce":
            kwargs["nonce"] = args.pop(0)
        elif a == "--at":
            kwargs["at"] = datetime.fromisoformat(args.pop(0).replace("Z", "+00:00"))
        elif a == "--policy":
            kwargs["policy"] = str(REPO / args.pop(0))
        elif a in ("--root", "--intermediate", "--cloud"):
            key = {"--root": "roots", "--intermediate": "intermediates", "--cloud": "clouds"}[a]
            value = args.pop(0)
            kwargs.setdefault(key, []).append(value if a == "--cloud" else str(REPO / value))
        elif a in ("--skew", "--max-age"):
            kwargs[a[2:].replace("-", "_")] = int(args.pop(0))
        else:
            body = (REPO / a).read_bytes()
    # trycmd writes backslashes as slashes in its snapshots: JSON's \" is written /".
    expected = json.loads(spec["stdout"].replace('/"', '\\"'))
    try:
        doc = imds_attest.verify(body, **kwargs)
    except imds_attest.Rejected as e:
        assert expected["verified"] is False, f"{shlex.join(spec['args'])}: {e}"
        assert e.kind == expected["error"]["kind"]
        # The same message, except the advice the CLI words in its own flags (--root).
        assert os.path.commonprefix([e.message, expected["error"]["message"]])[40:]
    except ValueError as e:
        # What the CLI reports as a usage error or a bad rules file is a bad argument here.
        assert expected["error"]["kind"] in ("usage", "rules_file", "trust_file"), e
    else:
        # The CLI's verdict adds the trust sources its own options named (--root, the trust
        # directory): a field of that face, which these keyword arguments have no counterpart
        # for. The cases here use the built-in trust, so that is exactly what it must say.
        assert expected.pop("trust") == [
            {"source": "builtin_roots"},
            {"source": "builtin_intermediates"},
        ]
        assert doc.to_dict() == expected
