"""Access use cases: register parties, create, list and revoke their keys, and authenticate a
presented key. Every change is written to the audit chain in the same transaction."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from openbureau.access.rules import (
    Caller,
    key_text,
    parse_key,
    party_id_problem,
    party_problem,
    role_problem,
    secret_hash,
)
from openbureau.audit import service as audit
from openbureau.reports.reads import subject_and_merged_ids, subject_row, surviving_subject
from openbureau.storage.ledger import api_keys, furnishers, parties, subjects

_KEY_COLUMNS = (
    api_keys.c.key_id, api_keys.c.role, api_keys.c.secret_hash, parties.c.party_id,
    parties.c.kind, parties.c.furnisher_id, parties.c.subject_id, parties.c.name,
)  # fmt: skip
_FIND_KEY = (
    select(*_KEY_COLUMNS)
    .join(parties, parties.c.party_id == api_keys.c.party_id)
    .where(api_keys.c.revoked_at.is_(None))
)


class AccessError(ValueError):
    """A party or key request that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class NewKey:
    """A key just created. `text` is the only copy of the secret: show it once."""

    key_id: str
    party_id: str
    role: str
    text: str


def add_party(
    engine: Engine,
    party_id: str,
    kind: str,
    name: str,
    *,
    furnisher_id: str | None = None,
    subject_id: str | None = None,
    actor: str,
    now: datetime,
) -> None:
    """Register a party. Raises AccessError for a bad id, kind or link, a furnisher or subject
    the ledger does not hold, or an id already taken."""
    problem = party_id_problem(party_id) or party_problem(kind, furnisher_id, subject_id)
    if problem is None and not name.strip():
        problem = "a party needs a name"
    if problem:
        raise AccessError(problem)
    with engine.begin() as conn:
        if conn.execute(select(parties.c.party_id).where(parties.c.party_id == party_id)).first():
            raise AccessError(f"party {party_id} is already registered")
        if (
            furnisher_id
            and not conn.execute(
                select(furnishers.c.furnisher_id).where(furnishers.c.furnisher_id == furnisher_id)
            ).first()
        ):
            raise AccessError(f"no registered furnisher {furnisher_id!r}")
        if (
            subject_id
            and not conn.execute(
                select(subjects.c.subject_id)
                .where(subjects.c.subject_id == subject_id)
                .where(subjects.c.merged_into.is_(None))
            ).first()
        ):
            raise AccessError(f"no current subject {subject_id!r}")
        row = {
            "party_id": party_id,
            "kind": kind,
            "name": name.strip(),
            "furnisher_id": furnisher_id,
            "subject_id": subject_id,
        }
        conn.execute(insert(parties).values(**row, created_at=now))
        audit.append(
            conn,
            actor=actor,
            action="party.add",
            subject_id=subject_id,
            purpose="access-administration",
            payload=row,
            occurred_at=now,
        )


def list_parties(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(parties).order_by(parties.c.party_id))
        return [dict(r._mapping) for r in rows]


def create_key(engine: Engine, party_id: str, role: str, *, actor: str, now: datetime) -> NewKey:
    """A new random key for `party_id` in `role`; the ledger keeps only its hash. Raises
    AccessError for an unknown party or a role its kind may not hold."""
    with engine.begin() as conn:
        party = conn.execute(select(parties).where(parties.c.party_id == party_id)).first()
        if party is None:
            raise AccessError(f"no party {party_id!r} (register it with `parties add`)")
        problem = role_problem(role, party.kind, party.furnisher_id)
        if problem:
            raise AccessError(problem)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        conn.execute(
            insert(api_keys).values(
                key_id=key_id,
                party_id=party_id,
                role=role,
                secret_hash=secret_hash(secret),
                created_at=now,
            )
        )
        audit.append(
            conn,
            actor=actor,
            action="key.create",
            purpose="access-administration",
            payload={"key_id": key_id, "party_id": party_id, "role": role},
            occurred_at=now,
        )
    return NewKey(key_id, party_id, role, key_text(key_id, secret))


def revoke_key(engine: Engine, key_id: str, *, actor: str, now: datetime) -> bool:
    """Revoke a key at once. False when it was revoked already; AccessError when unknown."""
    with engine.begin() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        if row is None:
            raise AccessError(f"no key {key_id!r}")
        if row.revoked_at is not None:
            return False
        conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(revoked_at=now))
        audit.append(
            conn,
            actor=actor,
            action="key.revoke",
            purpose="access-administration",
            payload={"key_id": key_id, "party_id": row.party_id, "role": row.role},
            occurred_at=now,
        )
    forget_checked_keys()  # once committed: a lookup now sees the revocation
    return True


def list_keys(engine: Engine) -> list[dict]:
    """Every key with its party and role, revoked ones included; never a hash."""
    columns = [c for c in api_keys.c if c.name != "secret_hash"]
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).order_by(api_keys.c.party_id, api_keys.c.created_at))
        return [dict(r._mapping) for r in rows]


def authenticate(engine: Engine, presented: str) -> Caller | None:
    """The caller a presented key stands for, or None when it is malformed, unknown, revoked
    or its secret does not match (the caller learns no more than that)."""
    parsed = parse_key(presented)
    if parsed is None:
        return None
    key_id, secret = parsed
    with engine.connect() as conn:
        row = conn.execute(_FIND_KEY.where(api_keys.c.key_id == key_id)).first()
        if row is None or not hmac.compare_digest(row.secret_hash, secret_hash(secret)):
            return None
        subject_id, file_ids = row.subject_id, frozenset()
        if subject_id is not None and subject_row(conn, subject_id) is not None:
            # the party's file now: a resolve may have merged its id into another since
            file_ids = frozenset(subject_and_merged_ids(conn, subject_id))
            subject_id = surviving_subject(conn, subject_id)
    return Caller(
        party_id=row.party_id,
        party_kind=row.kind,
        key_id=row.key_id,
        role=row.role,
        furnisher_id=row.furnisher_id,
        subject_id=subject_id,
        party_name=row.name,
        file_ids=file_ids,
    )


class KeyCache:
    """The callers of keys checked in the last `ttl` seconds, so that a busy server does not
    look every request's key up in the ledger (the lookup costs more than a score read).

    Only valid keys are kept, by the SHA-256 of the whole presented key (never the key
    itself), at most `max_entries` of them (all are dropped when full: a flood of distinct
    valid keys only costs lookups). `forget_checked_keys` empties every cache in the process
    at once; a key revoked by another process is trusted here for up to `ttl` more seconds."""

    def __init__(
        self, ttl: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[bytes, tuple[float, Caller]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by clear(): a lookup begun before it is not kept
        with _caches_lock:
            _caches.add(self)

    def get(self, presented: str) -> Caller | None:
        """The cached caller of `presented`, or None when it must be checked in the ledger."""
        if self.ttl <= 0:
            return None
        found = self._entries.get(_digest(presented))
        if found is None or found[0] <= self.clock():
            return None
        return found[1]

    def put(self, presented: str, caller: Caller, generation: int | None = None) -> None:
        """Keep `caller` for `presented`, unless the cache was cleared since `generation`
        (`generation()` read before the lookup began)."""
        if self.ttl <= 0:
            return
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[_digest(presented)] = (self.clock() + self.ttl, caller)

    def generation(self) -> int:
        return self._generation

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation += 1

    def check(self, engine: Engine, presented: str) -> Caller | None:
        """`authenticate` in the ledger, keeping a valid key's caller (a cache miss)."""
        generation = self.generation()
        caller = authenticate(engine, presented)
        if caller is not None:
            self.put(presented, caller, generation)
        return caller

    def authenticate(self, engine: Engine, presented: str) -> Caller | None:
        """`authenticate`, answered from the cache when the key was checked recently."""
        return self.get(presented) or self.check(engine, presented)


_caches: weakref.WeakSet[KeyCache] = weakref.WeakSet()
_caches_lock = threading.Lock()


def _digest(presented: str) -> bytes:
    return hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()


def forget_checked_keys() -> None:
    """Empty every key cache in this process (a key was revoked)."""
    with _caches_lock:
        caches = list(_caches)
    for cache in caches:
        cache.clear()
