"""Pure audit-chain rules: canonical JSON, the hash of an entry, and verification of a chain.

No database, no files, no clock. Entry `seq` n (from 1, no gaps) carries `prev_hash`, the
`entry_hash` of entry n-1 (GENESIS for entry 1), and `entry_hash`, the SHA-256 of the canonical
JSON of all its fields (see `entry_hash`). Changing, removing or reordering any entry breaks
the chain at that entry or the next; removing entries from the end, or rewriting the whole
tail, is caught only against a checkpoint (a signed `Anchor`) taken earlier."""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Protocol, TypeAlias

#: The `prev_hash` of the first entry.
GENESIS = "0" * 64

#: Version of the hashed form; a different form gets a different number.
HASH_FORMAT = 1

HASH_MISMATCH = "hash mismatch"
SEQUENCE_GAP = "sequence gap"
PREVIOUS_HASH_MISMATCH = "previous-hash mismatch"
OUT_OF_ORDER = "out of order"
CHECKPOINT_MISMATCH = "checkpoint mismatch"

JSONValue: TypeAlias = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]


def _plain(obj: object, where: str) -> JSONValue:
    """`obj` as plain JSON values; raise TypeError/ValueError for what has no single form."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"{where}: {obj!r} has no JSON form")
        return obj
    if isinstance(obj, datetime):  # before date: a datetime is a date
        if obj.tzinfo is None:
            raise ValueError(f"{where}: a datetime needs a time zone")
        return utc_iso(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Mapping):
        out: dict[str, JSONValue] = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: key {key!r} is not a string")
            out[key] = _plain(value, f"{where}.{key}")
        return out
    if isinstance(obj, list | tuple):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(f"{where}: a {type(obj).__name__} has no canonical JSON form")


def canonical_json(obj: object) -> bytes:
    """The one byte form of `obj`: UTF-8 JSON, keys sorted, no whitespace.

    Dates become ISO 8601 (datetimes in UTC, `...T12:00:00.000000Z`; a naive datetime is
    refused); tuples become lists. Raises ValueError for NaN or infinity and for text that is
    not valid Unicode, TypeError for non-string keys and for types without a JSON form."""
    plain = _plain(obj, "$")
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def utc_iso(moment: datetime) -> str:
    """`moment` in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`. A naive moment is taken to be UTC
    already: SQLite keeps no zone, and the bureau stores every moment in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    prev_hash: str,
    seq: int,
    occurred_at_iso: str,
    actor: str,
    action: str,
    subject_id: str | None,
    purpose: str | None,
    payload: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON of every field of an entry, `prev_hash` included.

    `payload` is the stored text (itself canonical JSON), hashed as a string so that any
    change to the stored bytes shows."""
    body = {
        "v": HASH_FORMAT,
        "prev_hash": prev_hash,
        "seq": seq,
        "occurred_at": occurred_at_iso,
        "actor": actor,
        "action": action,
        "subject_id": subject_id,
        "purpose": purpose,
        "payload": payload,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


class EntryView(Protocol):
    """What verification reads of an entry (a ledger row or an `AuditEntry`)."""

    @property
    def seq(self) -> int: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def subject_id(self) -> str | None: ...
    @property
    def purpose(self) -> str | None: ...
    @property
    def payload(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def entry_hash(self) -> str: ...


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    subject_id: str | None
    purpose: str | None
    payload: str
    prev_hash: str
    entry_hash: str


def hash_of(entry: EntryView) -> str:
    """The hash `entry` should carry, recomputed from its other fields."""
    return entry_hash(
        entry.prev_hash,
        entry.seq,
        utc_iso(entry.occurred_at),
        entry.actor,
        entry.action,
        entry.subject_id,
        entry.purpose,
        entry.payload,
    )


@dataclass(frozen=True)
class Anchor:
    """A point of the chain known from elsewhere (a signed checkpoint): entry `seq` has
    `entry_hash`."""

    seq: int
    entry_hash: str


@dataclass(frozen=True)
class VerifyResult:
    """`checked` entries were found intact, from seq 1 to `head_seq` (hash `head_hash`).
    When not ok, `first_broken` is the seq of the first entry that breaks the chain (for a
    checkpoint the chain no longer reaches, the checkpoint's seq), `reason` one of the
    reason constants and `detail` a sentence for people."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_broken: int | None = None
    reason: str | None = None
    detail: str | None = None


def verify_chain(entries: Iterable[EntryView], *, checkpoint: Anchor | None = None) -> VerifyResult:
    """Check `entries`, in the order given, as a chain from seq 1; stop at the first break.

    Reads the entries once and keeps none of them, so a chain of any length verifies in
    constant memory. With `checkpoint`, the chain must also reach the checkpoint's seq with
    the checkpoint's hash."""
    checked, head_seq, head_hash = 0, 0, GENESIS

    def broken(seq: int, reason: str, detail: str) -> VerifyResult:
        return VerifyResult(False, checked, head_seq, head_hash, seq, reason, detail)

    for entry in entries:
        seq = entry.seq
        if seq <= head_seq:
            return broken(seq, OUT_OF_ORDER, f"seq {seq} comes after seq {head_seq}")
        if seq != head_seq + 1:
            return broken(seq, SEQUENCE_GAP, f"expected seq {head_seq + 1}, found seq {seq}")
        if entry.prev_hash != head_hash:
            return broken(
                seq,
                PREVIOUS_HASH_MISMATCH,
                f"seq {seq} names {entry.prev_hash!r} as the previous hash, not {head_hash!r}",
            )
        if hash_of(entry) != entry.entry_hash:
            return broken(seq, HASH_MISMATCH, f"seq {seq} does not hash to its entry_hash")
        if checkpoint is not None and seq == checkpoint.seq:
            if entry.entry_hash != checkpoint.entry_hash:
                return broken(
                    seq, CHECKPOINT_MISMATCH, f"seq {seq} differs from the signed checkpoint"
                )
        checked, head_seq, head_hash = checked + 1, seq, entry.entry_hash
    if checkpoint is not None and checkpoint.seq > head_seq:
        return broken(
            checkpoint.seq,
            CHECKPOINT_MISMATCH,
            f"the chain ends at seq {head_seq}, before the checkpoint's seq {checkpoint.seq}",
        )
    return VerifyResult(True, checked, head_seq, head_hash)


#: What a checkpoint signs besides the anchor: the kind of document and the algorithm.
CHECKPOINT_TYPE = "openbureau.audit.checkpoint"
CHECKPOINT_ALGORITHM = "ed25519"


def checkpoint_message(seq: int, entry_hash: str, signed_at_iso: str, key_id: str) -> bytes:
    """The bytes a checkpoint's signature covers: the canonical JSON of its fields."""
    return canonical_json(
        {
            "type": CHECKPOINT_TYPE,
            "algorithm": CHECKPOINT_ALGORITHM,
            "seq": seq,
            "entry_hash": entry_hash,
            "signed_at": signed_at_iso,
            "key_id": key_id,
        }
    )


class InvalidCheckpoint(ValueError):
    """A checkpoint that is malformed, or whose signature does not hold."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the chain, when signed, ended at entry `seq` with hash
    `entry_hash`. `signature` is the base64 Ed25519 signature of `message()`; `key_id` the
    first 16 hex digits of the SHA-256 of the raw public key."""

    seq: int
    entry_hash: str
    signed_at: str
    key_id: str
    signature: str
    algorithm: str = CHECKPOINT_ALGORITHM
    type: str = CHECKPOINT_TYPE

    def message(self) -> bytes:
        return checkpoint_message(self.seq, self.entry_hash, self.signed_at, self.key_id)

    @property
    def anchor(self) -> Anchor:
        return Anchor(self.seq, self.entry_hash)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


_CHECKPOINT_TEXT_FIELDS = ("entry_hash", "signed_at", "key_id", "signature")


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """The checkpoint in `text` (its signature not yet checked); InvalidCheckpoint when it is
    not exactly a checkpoint's fields with the right types."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidCheckpoint(f"a checkpoint is JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidCheckpoint("a checkpoint is a JSON object")
    expected = set(Checkpoint.__dataclass_fields__)
    if set(data) != expected:
        raise InvalidCheckpoint(f"a checkpoint has exactly the fields {sorted(expected)}")
    seq = data["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise InvalidCheckpoint("seq must be a whole number, 0 or more")
    for name in _CHECKPOINT_TEXT_FIELDS:
        if not isinstance(data[name], str):
            raise InvalidCheckpoint(f"{name} must be text")
    if (data["type"], data["algorithm"]) != (CHECKPOINT_TYPE, CHECKPOINT_ALGORITHM):
        raise InvalidCheckpoint(
            f"not an {CHECKPOINT_TYPE} signed with {CHECKPOINT_ALGORITHM}: "
            f"{data['type']!r}, {data['algorithm']!r}"
        )
    return Checkpoint(**data)
