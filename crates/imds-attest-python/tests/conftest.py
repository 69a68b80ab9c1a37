"""Shared fixtures: the repository's test data, the test PKI's signer, a real redis-server."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
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


def cargo_example(package: str, name: str, features: tuple[str, ...] = ()) -> Path:
    """Builds an example of one of the workspace's crates, once, and returns its binary: run
    directly, as cargo run would take the build lock on every call."""
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail(f"cargo is needed to build the {name} example of {package}")
    flags = ["--features", ",".join(features)] if features else []
    subprocess.run(
        [cargo, "build", "--quiet", "--locked", "-p", package, *flags, "--example", name],
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
    return target / "debug" / "examples" / name


@pytest.fixture(scope="session")
def sign() -> Iterator[Sign]:
    """Signs with a fresh test PKI (crates/imds-attest-testpki/examples/sign.rs): each call
    takes files to sign and ``nonce=N`` strings, and returns where it wrote them."""
    binary = cargo_example("imds-attest-testpki", "sign")
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1_000_000))

        def run(*items: str) -> Signed:
            out = Path(tmp) / str(next(counter))
            subprocess.run([str(binary), str(out), *items], check=True)
            return Signed(out, out / "root.pem", out / "intermediates.pem")

        yield run


class RedisServer:
    """A real redis-server on a free loopback port, started by the Rust tests' own harness
    (crates/imds-attest-testpki/examples/redis_server.rs), which keeps it until its standard
    input closes."""

    def __init__(self, harness: subprocess.Popen[str], url: str) -> None:
        self.harness = harness
        self.url = url

    def stop(self) -> None:
        """Stops redis-server and returns once it is gone."""
        if self.harness.stdin is not None and not self.harness.stdin.closed:
            self.harness.stdin.close()
        if self.harness.wait(timeout=30) != 0:
            raise RuntimeError(f"the redis harness exited with status {self.harness.returncode}")


@pytest.fixture(scope="session")
def redis_harness() -> Path:
    return cargo_example("imds-attest-testpki", "redis_server", features=("kit",))


@pytest.fixture
def redis_server(redis_harness: Path) -> Iterator[RedisServer]:
    """As every Rust test that needs Redis: a missing redis-server skips the test, except
    under CI=true, where it fails (the harness decides, and says so)."""
    harness = subprocess.Popen(
        [str(redis_harness)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert harness.stdout is not None
    line = harness.stdout.readline().strip()
    if line.startswith("skipped:"):
        harness.communicate()
        pytest.skip(line.removeprefix("skipped:").strip())
    if not line.startswith("redis://"):
        harness.kill()
        harness.communicate()
        pytest.fail(
            f"the redis harness did not start redis-server (exit {harness.returncode}):"
            " see its standard error above"
        )
    server = RedisServer(harness, line)
    try:
        yield server
    finally:
        server.stop()
