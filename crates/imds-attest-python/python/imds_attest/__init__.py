"""Verify Azure IMDS attested documents with the Rust imds-attest verifier.

Every verdict comes from the Rust ``Verifier``: this package converts arguments and results and
raises :class:`Rejected` with the same kind names as the ``imds-attest`` CLI's JSON.
"""

# No `from __future__ import annotations` or `typing` import: both would stay in the package's
# namespace (dir(imds_attest)); frozenset[str] needs neither from Python 3.9.

__all__ = [
    "CONFIG_KINDS",
    "KINDS",
    "Challenges",
    "ConfigError",
    "Error",
    "Plan",
    "Rejected",
    "Signer",
    "StoreUnavailable",
    "UnreadableFile",
    "VerifiedDocument",
    "Verifier",
    "__version__",
    "verify",
]


class Error(Exception):
    """The base of every exception this package raises itself."""


class _Kinded(Error):
    """An error with a stable kind name (``kind``) and what was wrong (``message``)."""

    kind: str
    message: str

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(kind, message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class Rejected(_Kinded):
    """The document (or the verification) was refused.

    ``kind`` is the stable snake_case name of the reason (one of :data:`KINDS`, the names of the
    Rust ``ErrorKind`` and of the CLI's JSON); ``message`` says what was wrong.
    """


class StoreUnavailable(Rejected):
    """The challenge store could not answer: refused, never accepted (kind ``store_unavailable``)."""


class ConfigError(_Kinded, ValueError):
    """A trust file, a rules file or a store URL cannot be used.

    ``kind`` is ``trust_file``, ``rules_file`` or ``store_url`` (one of :data:`CONFIG_KINDS`),
    the same name the ``imds-attest`` CLI's JSON and the service's startup error give the same
    mistake; ``message`` names the file (and, for rules, the line) and what is wrong.
    """


class UnreadableFile(ConfigError, OSError):
    """A trust or rules file could not be read (missing, no permission, too large)."""


# Imported after the exceptions: the extension looks them up here when it raises.
from ._native import (  # noqa: E402
    CONFIG_KINDS as _CONFIG_KINDS,
    KINDS as _KINDS,
    Challenges,
    Plan,
    Signer,
    VerifiedDocument,
    Verifier,
    __version__,
    verify,
)

#: Every kind name a :class:`Rejected` can carry, taken from the Rust ``ErrorKind`` enum.
KINDS: frozenset[str] = frozenset(_KINDS)

#: Every kind name a :class:`ConfigError` can carry.
CONFIG_KINDS: frozenset[str] = frozenset(_CONFIG_KINDS)
