"""Find the subject an inquiry names by identity columns. This is the only place inquiries
touch the matcher: it looks up the keys the matcher issued (`subject_keys`), so re-pointing it
at another matcher means changing `find_subject` alone.

Precision first, as in the matcher: a national ID (a firm's registration number) decides
when the bureau knows it; a person's folded name and birth date are used otherwise, and never
reach a subject that carries another ID. A firm is found by its registration number only: the
matcher issues no name key for firms (a trading name with a postcode names too many). Two
candidates are "not found", not a guess."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select

from openbureau.catalogue.identifiers import compact, token
from openbureau.identity.rules import person_key, person_name_key, token_key
from openbureau.reports.reads import surviving_subject
from openbureau.storage.ledger import subject_keys, subjects


@dataclass(frozen=True)
class IdentityQuery:
    """Who the relying party asks about, as its own records name them."""

    subject_kind: str  # person | organisation
    given_name: str | None = None
    family_name: str | None = None
    org_name: str | None = None
    date_of_birth: date | None = None
    national_id_scheme: str | None = None
    national_id: str | None = None  # raw: validated, turned into a token, then dropped
    country: str | None = None
    postcode: str | None = None


def identity_keys(query: IdentityQuery, token_secret: bytes) -> tuple[str | None, list[str]]:
    """(the national-ID key, the name keys) the matcher would have issued for this identity.
    Raises InvalidIdentifier for a national ID that fails its scheme."""
    id_key = None
    if query.national_id and query.national_id_scheme:
        scheme = query.national_id_scheme
        id_key = token_key(scheme, token(token_secret, scheme, compact(scheme, query.national_id)))
    names: list[str] = []
    if query.subject_kind == "person":  # the one name key the matcher issues (publish._keys)
        name = person_name_key(query.given_name, query.family_name)
        if name and query.date_of_birth:
            names.append(person_key(name, query.date_of_birth.isoformat()))
    return id_key, names


def find_subject(engine: Engine, query: IdentityQuery, token_secret: bytes) -> str | None:
    """The one current subject `query` names, or None (no match, or more than one)."""
    id_key, names = identity_keys(query, token_secret)
    with engine.connect() as conn:
        if id_key is not None:
            found = _subjects_for(conn, [id_key])
            if found:
                return found.pop() if len(found) == 1 else None
        by_name = _subjects_for(conn, names)
        if len(by_name) != 1:
            return None
        (subject_id,) = by_name
        if id_key is not None:
            # the ID given is unknown here: a subject known by another ID is someone else
            masked = conn.execute(
                select(subjects.c.national_id_masked).where(subjects.c.subject_id == subject_id)
            ).scalar()
            if masked:
                return None
        return subject_id


def _subjects_for(conn, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    rows = conn.execute(
        select(subject_keys.c.subject_id).where(subject_keys.c.key.in_(keys))
    ).scalars()
    return {surviving_subject(conn, s) for s in rows}
