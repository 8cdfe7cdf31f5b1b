"""The outbox: notices owed to subjects (one per inquiry: alert on every pull), kept until a
delivery channel marks them delivered."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from openbureau.audit import service as audit
from openbureau.storage.ledger import outbox


def notice_row(
    subject_id: str, kind: str, body: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The outbox row of a new notice (a fresh id), to insert in the caller's transaction."""
    notice_id = "n" + secrets.token_hex(12)
    return {
        "notice_id": notice_id,
        "subject_id": subject_id,
        "kind": kind,
        "body": dict(body),
        "created_at": now,
    }


def list_notices(engine: Engine, *, pending_only: bool = True) -> list[dict[str, Any]]:
    query = select(outbox).order_by(outbox.c.created_at, outbox.c.notice_id)
    if pending_only:
        query = query.where(outbox.c.delivered_at.is_(None))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def mark_delivered(
    engine: Engine, notice_ids: Iterable[str], *, actor: str, now: datetime
) -> list[str]:
    """Mark notices delivered (audited); returns the ids that were pending. Raises KeyError
    naming the first id the outbox does not hold, changing nothing."""
    ids = list(dict.fromkeys(notice_ids))
    with engine.begin() as conn:
        rows = {
            r.notice_id: r for r in conn.execute(select(outbox).where(outbox.c.notice_id.in_(ids)))
        }
        missing = [i for i in ids if i not in rows]
        if missing:
            raise KeyError(missing[0])
        pending = [i for i in ids if rows[i].delivered_at is None]
        for notice_id in pending:
            conn.execute(
                update(outbox).where(outbox.c.notice_id == notice_id).values(delivered_at=now)
            )
            audit.append(
                conn,
                actor=actor,
                action="notice.delivered",
                subject_id=rows[notice_id].subject_id,
                purpose="subject-notice",
                payload={"notice_id": notice_id, "kind": rows[notice_id].kind},
                occurred_at=now,
            )
    return pending
