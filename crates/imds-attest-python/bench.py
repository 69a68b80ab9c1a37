"""Docs/s of four ways to verify the genuine documents of testdata/real/, each at its own time.

python crates/imds-attest-python/bench.py [--seconds S]

(a) imds_attest.Verifier.verify, one verifier reused, one thread;
(b) the same Rust verifier's warm path without Python (imds_attest._native._bench_rust_warm);
(c) what a Python author writes without us: asn1crypto to parse, cryptography to check the RSA
    signature and build the chain (cryptography.x509.verification), json for the claims;
    checked to give the verdicts (a) gives, on these documents and on a wrong nonce;
(d) `openssl smime -verify -noverify` in a subprocess: Microsoft's documented recipe (it checks
    the signature only: no chain, name, nonce or expiry).

Targets: (a) >= 0.8 x (b); (a) >= 10 x (c). A benchmark, not a test: nothing here fails on a
figure. On a shared machine the figures move with the other work on it.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, List, Tuple

from asn1crypto import cms  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.verification import PolicyBuilder, Store

import imds_attest
from imds_attest import _native

REPO = Path(__file__).resolve().parents[2]
Case = Tuple[bytes, str, datetime]


def cases() -> List[Case]:
    index = json.loads((REPO / "testdata/real/index.json").read_text())
    return [
        ((REPO / "testdata/real" / e["file"]).read_bytes(), e["nonce"],
         datetime.fromtimestamp(e["verify_at_epoch"], tz=timezone.utc))
        for e in index
    ]


def rate(run: Callable[[], int], seconds: float) -> float:
    """Documents per second of `run` (which returns how many it verified), for about `seconds`."""
    run()  # warm up: caches, imports, page faults
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += run()
    return done / (time.perf_counter() - start)


class PurePython:
    """The pure-Python verifier: the checks imds_attest makes that a careful author would write."""

    # IMDS names sha256WithRSAEncryption (1.2.840.113549.1.1.11) as its digest algorithm.
    HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512(),
              "1.2.840.113549.1.1.11": hashes.SHA256(), "1.2.840.113549.1.1.12": hashes.SHA384(),
              "1.2.840.113549.1.1.13": hashes.SHA512()}

    def __init__(self) -> None:
        certs = REPO / "certs" / "public"
        self.store = Store([c for p in sorted((certs / "roots").glob("*.pem"))
                            for c in x509.load_pem_x509_certificates(p.read_bytes())])
        self.intermediates = [c for p in sorted((certs / "intermediates").glob("*.pem"))
                              for c in x509.load_pem_x509_certificates(p.read_bytes())]

    def verify(self, body: bytes, nonce: str, at: datetime, skew: int = 300) -> str:
        envelope = json.loads(body)
        if envelope.get("encoding") != "pkcs7":
            raise ValueError("not pkcs7")
        info = cms.ContentInfo.load(base64.b64decode(envelope["signature"], validate=True))
        signed = info["content"]
        content: bytes = signed["encap_content_info"]["content"].native
        (signer,) = signed["signer_infos"]
        sid = signer["sid"].chosen
        certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"]]
        leaf = next(c for c in certs if c.serial_number == sid["serial_number"].native)
        digest = self.HASHES[signer["digest_algorithm"]["algorithm"].native]
        data = content
        if signer["signed_attrs"].native is not None:
            raise ValueError("signed attributes are not expected")
        key = leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
            raise ValueError("weak or non-RSA key")
        key.verify(signer["signature"].native, data, padding.PKCS1v15(), digest)
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = [n for n in names.get_values_for_type(x509.DNSName)
               if n == "metadata.azure.com" or n.endswith(".metadata.azure.com")]
        if not dns:
            raise ValueError("signer is not *.metadata.azure.com")
        verifier = PolicyBuilder().store(self.store).time(at).build_server_verifier(
            x509.DNSName(dns[0]))
        verifier.verify(leaf, [c for c in certs if c is not leaf] + self.intermediates)
        claims = json.loads(content)
        if claims["nonce"] != nonce:
            raise ValueError("nonce mismatch")
        stamp = claims["timeStamp"]
        created = datetime.strptime(stamp["createdOn"], "%m/%d/%y %H:%M:%S %z")
        expires = datetime.strptime(stamp["expiresOn"], "%m/%d/%y %H:%M:%S %z")
        margin = timedelta(seconds=skew)
        if not created - margin <= at < expires + margin:
            raise ValueError("document expired or not yet valid")
        vm_id: str = claims["vmId"]
        return vm_id


def openssl_smime(tmp: Path, body: bytes) -> bool:
    pem = tmp / "doc.pem"
    signature = json.loads(body)["signature"]
    lines = [signature[i:i + 64] for i in range(0, len(signature), 64)]
    pem.write_text("-----BEGIN PKCS7-----\n" + "\n".join(lines) + "\n-----END PKCS7-----\n")
    done = subprocess.run(["openssl", "smime", "-verify", "-noverify", "-inform", "pem",
                           "-in", str(pem)], capture_output=True)
    return done.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per method")
    seconds = parser.parse_args().seconds
    docs = cases()
    verifier = imds_attest.Verifier()
    pure = PurePython()

    # (c) gives (a)'s verdicts: every document accepted with the same vmId at its time,
    # refused with a wrong nonce and a day after it expired.
    for body, nonce, at in docs:
        assert pure.verify(body, nonce, at) == verifier.verify(body, nonce=nonce, at=at).vm_id
        for args in ((body, "wrong", at), (body, nonce, at + timedelta(days=1))):
            try:
                verifier.verify(args[0], nonce=args[1], at=args[2])
                raise AssertionError("imds_attest accepted")
            except imds_attest.Rejected:
                pass
            try:
                pure.verify(*args)
                raise AssertionError("the pure-Python verifier accepted")
            except ValueError:
                pass

    def python_reused() -> int:
        for body, nonce, at in docs:
            verifier.verify(body, nonce=nonce, at=at)
        return len(docs)

    rounds = 200

    def rust_warm() -> int:
        _native._bench_rust_warm(verifier, docs, rounds)
        return rounds * len(docs)

    def pure_python() -> int:
        for body, nonce, at in docs:
            pure.verify(body, nonce, at)
        return len(docs)

    with tempfile.TemporaryDirectory() as tmp:
        def smime() -> int:
            for body, _, _ in docs:
                assert openssl_smime(Path(tmp), body)
            return len(docs)

        # Interleaved short runs, the best of each kept: on a shared machine the load of the
        # moment then weighs on every method alike.
        runs: List[List[float]] = [[], [], [], []]
        for _ in range(5):
            for i, run in enumerate((python_reused, rust_warm, pure_python, smime)):
                runs[i].append(rate(run, seconds / 5))
        a, b, c, d = (max(r) for r in runs)

    print(f"documents: {len(docs)} genuine (testdata/real/), each at its own time; best of 5 "
          f"interleaved runs of {seconds / 5:g} s per method; Python {sys.version.split()[0]}")
    print(f"(a) Verifier.verify, reused, 1 thread   {a:10.0f} docs/s")
    print(f"(b) Rust warm path, no Python           {b:10.0f} docs/s")
    print(f"(c) asn1crypto + cryptography (pure Py) {c:10.0f} docs/s")
    print(f"(d) openssl smime -verify, subprocess   {d:10.0f} docs/s (signature only)")
    print(f"(a)/(b) = {a / b:.2f} (target >= 0.8: {'met' if a >= 0.8 * b else 'MISSED'})")
    print(f"(a)/(c) = {a / c:.1f} (target >= 10: {'met' if a >= 10 * c else 'MISSED'})")
    print(f"(a)/(d) = {a / d:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
