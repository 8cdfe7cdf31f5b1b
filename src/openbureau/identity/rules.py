"""Pure normalisation and keying rules for the deterministic first matcher.

Keys are built so that two identities share a key only on strong evidence: the same validated
national-ID token, or the same normalised name and the same date of birth."""

from __future__ import annotations

import re
import unicodedata

#: Legal-form words dropped from organisation names before comparison.
ORG_SUFFIXES: tuple[str, ...] = (
    "co ltd",
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
