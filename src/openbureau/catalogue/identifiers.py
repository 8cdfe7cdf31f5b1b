"""National identifier schemes: validation (python-stdnum), keyed tokens and masked forms.

The raw number never leaves this module's callers' hands: the lake and the ledger keep only
`token` (HMAC-SHA256 under the bureau's key) and `mask` (a display form)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from types import ModuleType

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError
from stdnum.in_ import aadhaar, gstin, pan


@dataclass(frozen=True)
class Scheme:
    code: str
    subject_kind: str
    module: ModuleType
    keep_head: int
    keep_tail: int
    description: str


SCHEMES: dict[str, Scheme] = {
    s.code: s
    for s in (
        Scheme("CN-RIC", "person", ric, 4, 4, "China Resident Identity Card number (18 chars)"),
        Scheme("CN-USCC", "organisation", uscc, 4, 4, "China Unified Social Credit Code"),
        Scheme("IN-PAN", "person", pan, 0, 5, "India Permanent Account Number"),
        Scheme("IN-AADHAAR", "person", aadhaar, 0, 4, "India Aadhaar number (token only)"),
        Scheme(
            "IN-GSTIN",
            "organisation",
            gstin,
            2,
            3,
            "India Goods and Services Tax Identification Number (15 chars: state code, the "
            "holder's PAN, entity number, check character)",
        ),
    )
}


class InvalidIdentifier(ValueError):
    """The identifier fails its scheme's format or checksum; `rule` names which."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def compact(scheme: str, value: str) -> str:
    """The validated, compact form of `value`; raises InvalidIdentifier."""
    try:
        sch = SCHEMES[scheme]
    except KeyError:
        raise InvalidIdentifier("unknown_scheme", f"unknown identifier scheme {scheme!r}") from None
    try:
        return sch.module.validate(value)
    except ValidationError as exc:
        rule = "checksum" if "checksum" in type(exc).__name__.lower() else "format"
        raise InvalidIdentifier(rule, f"{scheme}: {exc.message}") from None


def token(key: bytes, scheme: str, compact_value: str) -> str:
    """Keyed token of a validated identifier: equal inputs give equal tokens under one key."""
    msg = f"{scheme}:{compact_value}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]


def mask(scheme: str, compact_value: str) -> str:
    """Display form that shows only the scheme's allowed head and tail characters."""
    sch = SCHEMES[scheme]
    n = len(compact_value)
    head = min(sch.keep_head, n)
    tail = min(sch.keep_tail, n - head)
    return compact_value[:head] + "*" * (n - head - tail) + compact_value[n - tail :]
