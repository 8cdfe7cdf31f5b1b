"""Test helper: register a party and give it a key in one call."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from openbureau.access.service import add_party, create_key

ACTOR = "test-setup"


def issue_key(
    engine: Engine,
    party_id: str,
    kind: str,
    role: str,
    *,
    furnisher_id: str | None = None,
    subject_id: str | None = None,
) -> str:
    """A new key (its full text) for a party registered now unless it exists already."""
    now = datetime.now(UTC)
    from openbureau.access.service import list_parties  # noqa: PLC0415

    if party_id not in {p["party_id"] for p in list_parties(engine)}:
        add_party(
            engine,
            party_id,
            kind,
            f"{party_id} Ltd",
            furnisher_id=furnisher_id,
            subject_id=subject_id,
            actor=ACTOR,
            now=now,
        )
    return create_key(engine, party_id, role, actor=ACTOR, now=now).text


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def issue_keys(engine: Engine, parties: dict[str, tuple[str, str, dict]]) -> dict[str, str]:
    """A key for each party of `parties` (party id: (kind, role, links)), by party id."""
    return {
        p: issue_key(engine, p, kind, role, **links) for p, (kind, role, links) in parties.items()
    }
