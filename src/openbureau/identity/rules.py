"""Pure identity rules: name normalisation, the ledger's subject keys, and the mixed-file
guard (which identities may never share a subject, and clustering that obeys it)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Legal-form words dropped from organisation names before comparison.
ORG_SUFFIXES: tuple[str, ...] = (
    "co ltd",
    "p ltd",
    "p limited",
    "pvt limited",
    "l l p",
    "company limited",
    "co limited",
    "pvt ltd",
    "private limited",
    "pvt",
    "private",
    "ltd",
    "limited",
    "llp",
    "inc",
    "llc",
    "corp",
    "corporation",
    "company",
    "co",
    "group",
    "有限责任公司",
    "股份有限公司",
    "有限公司",
    "集团",
)

_NON_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")
_CJK_SUFFIX = re.compile("(" + "|".join(s for s in ORG_SUFFIXES if not s.isascii()) + ")$")


def fold(text: str | None) -> str:
    """Lower case, accents removed, punctuation to single spaces."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", stripped.lower()).strip()


def person_name_key(given: str | None, family: str | None) -> str:
    """Name words folded and sorted, so "Zhang Wei" and "Wei Zhang" agree."""
    words = (fold(given) + " " + fold(family)).split()
    return " ".join(sorted(words))


def org_name_key(name: str | None) -> str:
    """Organisation name folded with its legal-form suffixes removed."""
    text = fold(name)
    text = _CJK_SUFFIX.sub("", text).strip()
    words = text.split()
    changed = True
    while changed and words:
        changed = False
        for suffix in ORG_SUFFIXES:
            parts = suffix.split()
            if len(words) > len(parts) and words[-len(parts) :] == parts:
                words = words[: -len(parts)]
                changed = True
                break
    return " ".join(words)


def token_key(scheme: str, token: str) -> str:
    return f"tok:{scheme}:{token}"


def person_key(name_key: str, date_of_birth: str) -> str:
    return f"nd:{name_key}|{date_of_birth}"


def org_key(name_key: str, country: str | None) -> str:
    return f"org:{name_key}|{country or ''}"


# --- the mixed-file guard -----------------------------------------------------------------


def dobs_compatible(a: str | None, b: str | None) -> bool:
    """Two reported dates of birth (ISO 'YYYY-MM-DD') can belong to one person: either is
    missing, they are equal, day and month are exchanged, or they differ by one typo (one digit
    changed, or two adjacent digits exchanged)."""
    if not a or not b or a == b:
        return True
    if len(a) != 10 or len(b) != 10:
        return False
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return True
    diff = [i for i in range(10) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


@dataclass
class _Group:
    members: list[int]
    tokens: dict[str, str]  # scheme -> the one token this group holds
    dobs: set[str]


def _compatible(a: _Group, b: _Group) -> bool:
    for scheme, token in a.tokens.items():
        if b.tokens.get(scheme, token) != token:
            return False
    return all(dobs_compatible(x, y) for x in a.dobs for y in b.dobs)


def guarded_clusters(
    tokens: list[dict[str, str]],
    dobs: list[str | None],
    edges: list[tuple[int, int, float]],
    cannot_link: set[tuple[int, int]] = frozenset(),  # type: ignore[assignment]
) -> list[int]:
    """Cluster nodes 0..n-1 along `edges` (i, j, probability), strongest first, joining two
    clusters only if the result holds at most one token per identifier scheme, only dates of
    birth pairwise compatible (`dobs_compatible`), and no pair in `cannot_link` (operators'
    "different" decisions, as (min, max) node pairs). Returns each node's cluster label (the
    smallest node index in its cluster).

    This is what makes a mixed file impossible by construction: whatever the scores say, no
    cluster ever holds two valid IDs of one scheme or two irreconcilable birth dates."""
    n = len(dobs)
    parent = list(range(n))
    groups: dict[int, _Group] = {
        i: _Group([i], dict(tokens[i]), {dobs[i]} if dobs[i] else set()) for i in range(n)
    }

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    forbidden: dict[int, set[int]] = {}
    for i, j in cannot_link:
        forbidden.setdefault(i, set()).add(j)
        forbidden.setdefault(j, set()).add(i)

    for i, j, _p in sorted(edges, key=lambda e: -e[2]):
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        gi, gj = groups[ri], groups[rj]
        if not _compatible(gi, gj):
            continue
        if forbidden and any(find(k) == rj for m in gi.members for k in forbidden.get(m, ())):
            continue
        if len(gi.members) < len(gj.members):
            ri, rj, gi, gj = rj, ri, gj, gi
        parent[rj] = ri
        gi.members.extend(gj.members)
        gi.tokens.update(gj.tokens)
        gi.dobs |= gj.dobs
        del groups[rj]
    label = [0] * n
    for group in groups.values():
        low = min(group.members)
        for m in group.members:
            label[m] = low
    return label
