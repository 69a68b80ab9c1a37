# Type stubs of the extension module (src/lib.rs); the package re-exports these names.
import os
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

_Path = Union[str, "os.PathLike[str]"]

__version__: str
KINDS: Tuple[str, ...]
CONFIG_KINDS: Tuple[str, ...]

class Plan:
    @property
    def name(self) -> str: ...
    @property
    def product(self) -> str: ...
    @property
    def publisher(self) -> str: ...

class Signer:
    @property
    def subject(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def serial(self) -> str: ...
    @property
    def not_before(self) -> datetime: ...
    @property
    def not_after(self) -> datetime: ...
    @property
    def sha256(self) -> str: ...
    @property
    def dns_names(self) -> List[str]: ...

class VerifiedDocument:
    @property
    def vm_id(self) -> str: ...
    @property
    def subscription_id(self) -> Optional[str]: ...
    @property
    def sku(self) -> Optional[str]: ...
    @property
    def license_type(self) -> Optional[str]: ...
    @property
    def plan(self) -> Optional[Plan]: ...
    @property
    def nonce(self) -> str: ...
    @property
    def nonce_checked(self) -> bool: ...
    @property
    def redeemed(self) -> bool: ...
    @property
    def created_on(self) -> datetime: ...
    @property
    def expires_on(self) -> datetime: ...
    @property
    def cloud(self) -> str: ...
    @property
    def region(self) -> Optional[str]: ...
    @property
    def rule(self) -> Optional[str]: ...
    @property
    def signer(self) -> Signer: ...
    @property
    def chain(self) -> List[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

class Challenges:
    def __init__(self, url: str) -> None: ...
    @property
    def url(self) -> str: ...
    def issue(self, *, ttl: Optional[int] = None) -> str: ...

class Verifier:
    def __init__(
        self,
        *,
        policy: Optional[_Path] = None,
        clouds: Optional[Iterable[str]] = None,
        skew: Optional[int] = None,
        max_age: Optional[int] = None,
        roots: Optional[Iterable[_Path]] = None,
        intermediates: Optional[Iterable[_Path]] = None,
    ) -> None: ...
    def verify(
        self,
        body: Union[bytes, str],
        *,
        nonce: Optional[str] = None,
        challenges: Optional[Challenges] = None,
        dangerous_any_nonce: bool = False,
        at: Optional[datetime] = None,
    ) -> VerifiedDocument: ...

def verify(
    body: Union[bytes, str],
    *,
    nonce: Optional[str] = None,
    challenges: Optional[Challenges] = None,
    dangerous_any_nonce: bool = False,
    at: Optional[datetime] = None,
    policy: Optional[_Path] = None,
    clouds: Optional[Iterable[str]] = None,
    skew: Optional[int] = None,
    max_age: Optional[int] = None,
    roots: Optional[Iterable[_Path]] = None,
    intermediates: Optional[Iterable[_Path]] = None,
) -> VerifiedDocument: ...

def _bench_rust_warm(
    verifier: Verifier, cases: List[Tuple[bytes, str, datetime]], rounds: int
) -> float: ...
