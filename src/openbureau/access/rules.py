"""Pure access rules: kinds of party, roles, the scopes each role holds, and API key text.

No database, no clock. A party is someone the bureau deals with; a key gives one party one
role; a role is a fixed set of scopes; a route names the scope it needs. Scopes ending in
`:own` allow the action only on the caller's own file (a subject's key)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

#: Kinds of party, and what each is.
PARTY_KINDS: dict[str, str] = {
    "furnisher": "A licensed data furnisher that only sends records (court, tax office, ...)",
    "lender": "A bank or other lender asking about an applicant or a borrower",
    "landlord": "A landlord or letting agent asking about a prospective tenant",
    "insurer": "An insurer underwriting a policy",
    "employer": "An employer screening a candidate (with the candidate's consent)",
    "authority": "A court or public authority acting under an order",
    "service_provider": "A seller a list's measure governs (an airline, a railway, a hotel, "
    "a property seller), asking only whether that measure applies",
    "operator": "Bureau staff running the bureau, disputes and notices",
    "auditor": "An auditor checking the audit chain",
    "subject": "A person or organisation in the file, serving themselves",
}

#: Party kinds that ask about subjects (relying parties).
RELYING_KINDS = frozenset(
    {"lender", "landlord", "insurer", "employer", "authority", "service_provider"}
)

#: Every scope a route may require, with what it allows.
SCOPES: dict[str, str] = {
    "batches:submit": "upload furnisher files for the key's own furnisher",
    "inquiries:make": "make inquiries with a permissible purpose",
    "inquiries:make:own": "make an inquiry about one's own file (purpose own_request)",
    "files:read": "read any subject's score and report (audited)",
    "files:read:own": "read one's own score and report",
    "consents:manage": "record and revoke consents on a signed form",
    "consents:manage:own": "grant and revoke consent over one's own file",
    "audit:verify": "verify the audit chain",
    "disputes:open": "dispute a record of any subject's file (on the subject's behalf)",
    "disputes:open:own": "dispute a record of one's own file",
    "disputes:answer": "list and answer the disputes of the key's furnisher's records",
    "lists:manage": "propose list entries, decide them (not one's own) and remove them",
    "lists:object": "object to a list entry of any subject's file (on the subject's behalf)",
    "lists:object:own": "object to a list entry of one's own file",
    "lists:check": "ask whether a list's measure may apply to a subject (recorded, told)",
}

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "furnisher": frozenset({"batches:submit", "disputes:answer"}),
    "inquirer": frozenset({"inquiries:make", "lists:check"}),
    "subject": frozenset(
        {
            "files:read:own",
            "consents:manage:own",
            "inquiries:make:own",
            "disputes:open:own",
            "lists:object:own",
        }
    ),  # fmt: skip
    # an operator answers for any furnisher: it records a furnisher's written answer
    "operator": frozenset(
        {
            "files:read",
            "consents:manage",
            "audit:verify",
            "disputes:open",
            "disputes:answer",
            "lists:manage",
            "lists:object",
            "lists:check",
        }
    ),  # fmt: skip
    "auditor": frozenset({"audit:verify"}),
}
ROLES = tuple(ROLE_SCOPES)

#: A key as shown once to its holder: prefix, key id, secret.
KEY_PREFIX = "obk"
_KEY_TEXT = re.compile(r"obk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_PARTY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Caller:
    """Who is calling, as established by a valid, unrevoked key."""

    party_id: str
    party_kind: str
    key_id: str
    role: str
    furnisher_id: str | None = None
    subject_id: str | None = None
    party_name: str | None = None
    #: For a subject's key: every id of its file (the surviving id and each id merged into
    #: it), so that the key still opens its file after a merge, under any of its ids.
    file_ids: frozenset[str] = frozenset()

    def owns(self, subject_id: str | None) -> bool:
        """Whether `subject_id` names the caller's own file (a subject's key)."""
        return subject_id is not None and (
            subject_id == self.subject_id or subject_id in self.file_ids
        )

    @property
    def actor(self) -> str:
        """How the audit chain names this caller: the party and the key it used."""
        return f"party:{self.party_id}/key:{self.key_id}"


def permits(role: str, scope: str, *, owns: bool = False) -> bool:
    """Whether `role` holds `scope`; `owns` says the action is on the caller's own file, where
    the scope's `:own` variant is enough. Unknown roles and scopes permit nothing."""
    held = ROLE_SCOPES.get(role, frozenset())
    return scope in held or (owns and f"{scope}:own" in held)


def party_id_problem(party_id: str) -> str | None:
    if not _PARTY_ID.fullmatch(party_id):
        return (
            f"invalid party id {party_id!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return None


def party_problem(kind: str, furnisher_id: str | None, subject_id: str | None) -> str | None:
    """Why a party of `kind` with these links cannot be registered, or None."""
    if kind not in PARTY_KINDS:
        return f"unknown party kind {kind!r}; known: {', '.join(PARTY_KINDS)}"
    if kind == "subject" and not subject_id:
        return "a party of kind subject must name its subject (--subject)"
    if kind != "subject" and subject_id:
        return f"only a party of kind subject names a subject, not a {kind}"
    if kind == "furnisher" and not furnisher_id:
        return "a party of kind furnisher must name its registered furnisher (--furnisher)"
    if furnisher_id and kind not in RELYING_KINDS | {"furnisher"}:
        return f"a {kind} cannot also be a furnisher"
    return None


def role_problem(role: str, kind: str, furnisher_id: str | None) -> str | None:
    """Why a party of `kind` may not hold `role`, or None.

    furnisher: parties linked to a registered furnisher; inquirer: relying parties;
    subject, operator, auditor: parties of that same kind."""
    if role not in ROLE_SCOPES:
        return f"unknown role {role!r}; known: {', '.join(ROLES)}"
    allowed = {
        "furnisher": furnisher_id is not None,
        "inquirer": kind in RELYING_KINDS,
        "subject": kind == "subject",
        "operator": kind == "operator",
        "auditor": kind == "auditor",
    }[role]
    if not allowed:
        return f"a party of kind {kind} cannot hold the {role} role"
    return None


def key_text(key_id: str, secret: str) -> str:
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def parse_key(text: str) -> tuple[str, str] | None:
    """(key id, secret) of a presented key, or None when it is not shaped like one."""
    found = _KEY_TEXT.fullmatch(text.strip())
    return (found[1], found[2]) if found else None


def secret_hash(secret: str) -> str:
    """What the ledger keeps of a secret. Plain SHA-256 is enough here: the secret is 256
    random bits, so neither guessing nor precomputed tables can invert the hash, and a slow
    password hash would only add milliseconds to every request."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()
