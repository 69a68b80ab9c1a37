"""Shared fixtures: the repository's test data, the test PKI's signer, a real redis-server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

REPO = Path(__file__).resolve().parents[3]
REAL = REPO / "testdata" / "real"
MALFORMED = REPO / "testdata" / "malformed"
#: The test PKI's reference time: its documents are created then, its leaf valid around it.
REFERENCE_TIME = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Real:
    """A genuine document of testdata/real/ (index.json): its bytes, nonce and time."""

    name: str
    body: bytes
    nonce: str
    vm_id: str
    leaf_sha256: str
    at: datetime


def real_documents() -> List[Real]:
    index = json.loads((REAL / "index.json").read_text())
    return [
        Real(
            name=entry["name"],
            body=(REAL / entry["file"]).read_bytes(),
            nonce=entry["nonce"],
            vm_id=entry["vmId"],
            leaf_sha256=entry["leaf_sha256"],
            at=datetime.fromtimestamp(entry["verify_at_epoch"], tz=timezone.utc),
        )
        for entry in index
    ]


@dataclass(frozen=True)
class Signed:
    """What the test PKI's `sign` example wrote: the trust files and the signed documents."""

    dir: Path
    root: Path
    intermediates: Path


Sign = Callable[..., Signed]


@pytest.fixture(scope="session")
def sign() -> Iterator[Sign]:
    """Signs with a fresh test PKI (crates/imds-attest-testpki/examples/sign.rs): each call
    takes files to sign and ``nonce=N`` strings, and returns where it wrote them."""
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("cargo is needed to sign test documents with the test PKI")
    # Built once, then run directly: cargo run would take the lock on every call.
    subprocess.run(
        [cargo, "build", "--quiet", "--locked", "-p", "imds-attest-testpki", "--example", "sign"],
        cwd=REPO,
        check=True,
    )
    target = Path(
        json.loads(
            subprocess.run(
                [cargo, "metadata", "--format-version=1", "--no-deps", "--locked"],
                cwd=REPO,
                check=True,
                capture_output=True,
            ).stdout
        )["target_directory"]
    )
    binary = target / "debug" / "examples" / "sign"
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1_000_000))

        def run(*items: str) -> Signed:
            out = Path(tmp) / str(next(counter))
            subprocess.run([str(binary), str(out), *items], check=True)
            return Signed(out, out / "root.pem", out / "intermediates.pem")

        yield run


class RedisServer:
    """A real redis-server on a free loopback port, in its own directory."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir",
             str(directory), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start listening")
                time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """As crates/imds-attest-store/tests/common/redis_server.rs: a missing redis-server skips
    the test, except under CI=true, where it fails."""
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is missing and CI=true: install it (apt-get install redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    try:
        yield server
    finally:
        server.stop()
