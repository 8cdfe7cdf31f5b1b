"""Audit use cases: append an entry inside the caller's transaction, verify the chain by
streaming it, and sign or check a checkpoint (Ed25519)."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Table,
    delete,
    false,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.sql.dml import Insert

from openbureau.audit.groupcommit import group_for
from openbureau.audit.rules import (
    GENESIS,
    Anchor,
    AuditEntry,
    Checkpoint,
    InvalidCheckpoint,
    VerifyResult,
    canonical_json,
    checkpoint_message,
    entry_hash,
    parse_checkpoint,
    utc_iso,
    verify_chain,
)
from openbureau.storage.ledger import audit_log

#: Who reads through the API and pages until API keys land, and why.
ANONYMOUS_LOCAL = "anonymous-local"
VIEW_PURPOSE = "subject-or-operator-view"
#: Who runs the stages from the command line until operator keys land.
LOCAL_OPERATOR = "operator-local"

#: The checkpoint signing key's file name under `settings.keys_dir`.
SIGNING_KEY_FILE = "audit-ed25519.pem"

# One advisory-lock key for the whole log, derived from its name so it collides with no one.
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"openbureau.audit_log").digest()[:8], "big", signed=True)
_STREAM_ROWS = 10_000
# Built once, so each is compiled once per engine and then served from the cache.
_INSERT = insert(audit_log)
_TAIL = select(audit_log.c.seq, audit_log.c.entry_hash).order_by(audit_log.c.seq.desc()).limit(1)
_TAKE_WRITE_LOCK = delete(audit_log).where(false())
_ADVISORY_LOCK = select(func.pg_advisory_xact_lock(literal(_LOCK_KEY, BigInteger)))
_TEXT_LIMITS = {"actor": 200, "action": 64, "subject_id": 24, "purpose": 100}


class ChainBroken(RuntimeError):
    """The chain does not verify, so there is nothing honest to sign."""

    def __init__(self, result: VerifyResult) -> None:
        super().__init__(
            f"the audit chain is broken at seq {result.first_broken}: {result.reason}"
            f" ({result.detail})"
        )
        self.result = result


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    subject_id: str | None = None,
    purpose: str | None = None,
    payload: Mapping[str, Any],
    occurred_at: datetime,
) -> AuditEntry:
    """Append one entry in the caller's transaction: it commits or rolls back with the change
    it records. Returns the entry as stored.

    Appends are serialised (SQLite: the database write lock, taken here if the transaction
    does not hold it yet; PostgreSQL: a transaction-scoped advisory lock), so seqs stay
    gapless and each entry chains to the one committed before it. The lock is held until the
    caller's transaction ends: append last in a long transaction. Raises ValueError for a
    naive `occurred_at`, an empty or over-long text field, or a payload without a single JSON
    form (see `canonical_json`)."""
    draft = _draft(actor, action, subject_id, purpose, payload, occurred_at)
    return _chain(conn, [draft])[0]


#: An entry checked and ready to chain: (moment, actor, action, subject_id, purpose, text).
_Draft = tuple[datetime, str, str, str | None, str | None, str]


def _draft(
    actor: str,
    action: str,
    subject_id: str | None,
    purpose: str | None,
    payload: Mapping[str, Any],
    occurred_at: datetime,
) -> _Draft:
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at needs a time zone")
    fields = {"actor": actor, "action": action, "subject_id": subject_id, "purpose": purpose}
    for name, value in fields.items():
        if value is not None and not 0 < len(value) <= _TEXT_LIMITS[name]:
            raise ValueError(f"{name} must be 1 to {_TEXT_LIMITS[name]} characters: {value!r}")
    text = canonical_json(payload).decode("utf-8")
    return (occurred_at.astimezone(UTC), actor, action, subject_id, purpose, text)


def _chain(conn: Connection, drafts: Sequence[_Draft]) -> list[AuditEntry]:
    """Chain `drafts` after the last entry, under the append lock, in one insert."""
    _serialise_appends(conn)
    last = conn.execute(_TAIL).first()
    seq, prev = (last.seq, last.entry_hash) if last is not None else (0, GENESIS)
    chained = []
    for moment, actor, action, subject_id, purpose, text in drafts:
        seq += 1
        digest = entry_hash(prev, seq, utc_iso(moment), actor, action, subject_id, purpose, text)
        chained.append(
            AuditEntry(seq, moment, actor, action, subject_id, purpose, text, prev, digest)
        )
        prev = digest
    rows = [vars(entry) for entry in chained]
    # one row as a plain execute: the executemany path costs ~40 us more per call
    conn.execute(_INSERT, rows[0] if len(rows) == 1 else rows)
    return chained


@dataclass(frozen=True)
class Entry:
    """An audit entry to append with `commit_with_audit` (the fields of `append`)."""

    actor: str
    action: str
    payload: Mapping[str, Any]
    occurred_at: datetime
    subject_id: str | None = None
    purpose: str | None = None


@dataclass(frozen=True)
class _Writes:
    """One caller's share of a group transaction: rows to insert, then entries to chain."""

    rows: tuple[tuple[Table, dict[str, Any]], ...]
    drafts: tuple[_Draft, ...]


@functools.cache
def _insert_into(table: Table) -> Insert:
    return insert(table)  # one statement per table, compiled once per engine


def _write_group(conn: Connection, works: Sequence[_Writes]) -> None:
    """Insert every caller's rows (one executemany per table, in the order the tables first
    appear), then chain every caller's entries in one append."""
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for work in works:
        for table, row in work.rows:
            by_table.setdefault(table, []).append(row)
    for table, rows in by_table.items():
        conn.execute(_insert_into(table), rows[0] if len(rows) == 1 else rows)
    drafts = [draft for work in works for draft in work.drafts]
    if drafts:
        _chain(conn, drafts)


def commit_with_audit(
    engine: Engine, rows: Sequence[tuple[Table, Mapping[str, Any]]], entries: Sequence[Entry]
) -> None:
    """Insert `rows` (table, values) and append `entries`, all committed before this returns,
    in one transaction shared with the work other threads submit at the same time (group
    commit: one lock wait and one commit for all of them). Raises ValueError for an entry
    `append` would refuse (before anything is written), AuditNotRecorded if the commit failed
    (nothing of this call is then written)."""
    drafts = tuple(
        _draft(e.actor, e.action, e.subject_id, e.purpose, e.payload, e.occurred_at)
        for e in entries
    )
    work = _Writes(tuple((table, dict(values)) for table, values in rows), drafts)
    if work.rows or work.drafts:
        group_for(engine, _write_group).submit(work)


def lock_chain(conn: Connection) -> None:
    """Take the append lock now, at the start of the caller's transaction. A transaction
    that changes rows other writers also change and then appends (list entries) takes it
    first, so that every such writer takes the two in one order: chain, then rows (on
    PostgreSQL, the other order deadlocks against a transaction that appends first)."""
    _serialise_appends(conn)


def _serialise_appends(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(_ADVISORY_LOCK)
    elif dialect == "sqlite":
        # pysqlite begins its (deferred) transaction at the first write and runs reads before
        # it outside any transaction: a write that changes nothing takes the write lock (with
        # the busy timeout) before the tail is read, as BEGIN IMMEDIATE would.
        conn.execute(_TAKE_WRITE_LOCK)
    # elsewhere the primary key still refuses a second entry with the same seq


def record_reads(
    engine: Engine,
    *,
    action: str,
    subject_ids: Iterable[str],
    actor: str,
    purpose: str,
    payload: Mapping[str, Any],
    occurred_at: datetime,
) -> None:
    """One entry per subject whose file was read, committed before this returns (in one
    transaction with the entries of reads made at the same time by other threads). Raises
    ValueError for an entry `append` would refuse, AuditNotRecorded if the commit failed."""
    entries = [Entry(actor, action, payload, occurred_at, s, purpose) for s in subject_ids]
    commit_with_audit(engine, [], entries)


def verify(engine: Engine, *, checkpoint: Anchor | None = None) -> VerifyResult:
    """Verify the whole chain, streamed in seq order a few thousand rows at a time (constant
    memory however long the log); with `checkpoint`, it must also still hold that entry."""
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=_STREAM_ROWS).execute(
            select(audit_log).order_by(audit_log.c.seq)
        )
        return verify_chain(rows, checkpoint=checkpoint)


# --- checkpoints -------------------------------------------------------------------------


def public_key_path(private_key_path: Path) -> Path:
    """Where the public half of a signing key lives: `NAME.pem` -> `NAME.pub.pem`."""
    private_key_path = Path(private_key_path)
    return private_key_path.with_name(private_key_path.name.removesuffix(".pem") + ".pub.pem")


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signing_key(private_key_path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in `private_key_path`, made on first use (mode 0600, in a 0700
    folder) with its public half beside it (see `public_key_path`)."""
    path = Path(private_key_path)
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
    else:
        key = _create_key(path)
    public = public_key_path(path)
    if not public.exists():
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        tmp = public.with_name(f".{public.name}.tmp-{os.getpid()}")
        tmp.write_bytes(pem)
        os.replace(tmp, public)
    return key


def _create_key(path: Path) -> Ed25519PrivateKey:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Written whole under a temporary name, then linked into place: a process that races us
    # either wins (and we use its key) or finds a complete file, never a half-written one.
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    except FileExistsError:
        return signing_key(path)
    finally:
        tmp.unlink(missing_ok=True)
    return key


def sign_checkpoint(
    engine: Engine, private_key_path: Path, *, signed_at: datetime | None = None
) -> Checkpoint:
    """Verify the chain, then sign its last entry (seq and hash). Publish the result, or keep
    it away from the bureau: a later `audit verify --checkpoint` shows whether the log still
    holds that entry. Raises ChainBroken when the chain does not verify."""
    key = signing_key(private_key_path)
    result = verify(engine)
    if not result.ok:
        raise ChainBroken(result)
    when = utc_iso(signed_at or datetime.now(UTC))
    kid = key_id(key.public_key())
    message = checkpoint_message(result.head_seq, result.head_hash, when, kid)
    signature = base64.b64encode(key.sign(message)).decode("ascii")
    return Checkpoint(result.head_seq, result.head_hash, when, kid, signature)


def verify_checkpoint(checkpoint_json: str | bytes, public_key_pem: bytes) -> Checkpoint:
    """The checkpoint in `checkpoint_json` if it is well formed and signed by the key in
    `public_key_pem`; otherwise InvalidCheckpoint. (Whether the log still holds the entry it
    names is `verify(engine, checkpoint=result.anchor)`.)"""
    checkpoint = parse_checkpoint(checkpoint_json)
    try:
        public = serialization.load_pem_public_key(public_key_pem)
    except ValueError as exc:
        raise InvalidCheckpoint(f"not a PEM public key: {exc}") from None
    if not isinstance(public, Ed25519PublicKey):
        raise InvalidCheckpoint("the public key is not an Ed25519 key")
    if checkpoint.key_id != key_id(public):
        raise InvalidCheckpoint(
            f"the checkpoint was signed by key {checkpoint.key_id}, not by {key_id(public)}"
        )
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        public.verify(signature, checkpoint.message())
    except (InvalidSignature, binascii.Error):
        raise InvalidCheckpoint("the signature does not match the checkpoint") from None
    return checkpoint
