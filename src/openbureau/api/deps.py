"""Request dependencies as `Annotated` aliases: the bureau, the report date, a subject id,
the caller (established by an API key), and the reader (who reads a file, and why: every
read is written to the audit chain)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.templating import Jinja2Templates

from openbureau.access.rules import Caller, permits
from openbureau.access.service import KeyCache
from openbureau.api.schemas import SUBJECT_ID_PATTERN
from openbureau.audit.service import record_reads
from openbureau.bootstrap import Bureau

#: The cookie that carries an operator's key for the console pages (see web/pages.py).
CONSOLE_COOKIE = "openbureau_console"
#: Why an operator reads a file through the API or the console (purposes of relying parties
#: are inquiries/rules.py's; a subject reading its own file reads for its own request).
OPERATOR_PURPOSE = "operator-view"
OWN_PURPOSE = "own_request"

# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, one thread hop each, which cost more than the work. The key check is `async`
# too: a key checked in the last few seconds is answered from the process's cache
# (`access.service.KeyCache`), and only a miss goes to a worker thread to read the ledger.


async def get_bureau(request: Request) -> Bureau:
    return request.app.state.bureau


async def get_as_of(
    request: Request,
    as_of: Annotated[
        date | None,
        Query(
            description="Report date (ISO 8601); default today. Records reported later, "
            "and scores computed later, are left out."
        ),
    ] = None,
) -> date:
    return as_of or request.app.state.today()


async def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


@dataclass(frozen=True)
class Reader:
    """Who is reading people's files, and why."""

    bureau: Bureau
    actor: str
    purpose: str

    def record(self, action: str, subject_ids: list[str], **details: Any) -> None:
        """Write one audit entry per subject read, before the response goes out: a read
        that cannot be recorded is not served."""
        record_reads(
            self.bureau.ledger,
            action=action,
            subject_ids=subject_ids,
            actor=self.actor,
            purpose=self.purpose,
            payload=details,
            occurred_at=datetime.now(UTC),
        )


class NotAuthenticated(Exception):
    """No key, or a key that is not valid: 401."""


class Forbidden(Exception):
    """A valid key whose role does not allow the request: 403, with the reason."""


class ConsoleLoginRequired(Exception):
    """A console page asked for without an operator key: the page handler sends to /login."""


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `openbureau keys create`: `Authorization: Bearer obk_...`.",
)


async def get_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        raise NotAuthenticated("this route needs an API key: Authorization: Bearer obk_...")
    keys: KeyCache = request.app.state.keys
    presented = credentials.credentials
    caller = keys.get(presented)
    if caller is None:  # a miss: read the ledger in a worker thread
        caller = await run_in_threadpool(keys.check, request.app.state.bureau.ledger, presented)
    if caller is None:
        raise NotAuthenticated("the API key is not valid (malformed, unknown or revoked)")
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def require(scope: str):
    """A dependency that passes the caller on when its role holds `scope` (not an `:own`
    variant: routes about one subject use `get_file_reader`)."""

    async def check(caller: CallerDep) -> Caller:
        if not permits(caller.role, scope):
            raise Forbidden(f"the {caller.role} role may not {_ACTIONS.get(scope, scope)}")
        return caller

    return check


_ACTIONS = {
    "batches:submit": "upload furnisher files",
    "inquiries:make": "make inquiries",
    "files:read": "read subjects' files",
    "consents:manage": "manage consents",
    "audit:verify": "verify the audit chain",
    "disputes:open": "open disputes",
    "disputes:answer": "answer disputes",
    "lists:manage": "manage list entries",
    "lists:object": "object to list entries",
    "lists:check": "check measures",
}


def authorize_subject(caller: Caller, scope: str, subject_id: str) -> None:
    """Raise Forbidden unless the caller may act under `scope` on `subject_id`'s file: with
    the scope itself, or with its `:own` variant on the caller's own file."""
    if not permits(caller.role, scope, owns=caller.owns(subject_id)):
        action = _ACTIONS.get(scope, scope)
        raise Forbidden(f"the {caller.role} role may not {action} other than its own")


async def get_file_reader(
    request: Request,
    subject_id: Annotated[str, Path(pattern=SUBJECT_ID_PATTERN)],
    caller: CallerDep,
) -> Reader:
    """The reader of `subject_id`'s file: an operator, or the subject itself."""
    authorize_subject(caller, "files:read", subject_id)
    purpose = OPERATOR_PURPOSE if caller.role == "operator" else OWN_PURPOSE
    return Reader(request.app.state.bureau, caller.actor, purpose)


def get_console_reader(request: Request) -> Reader:
    """The operator at the console: a key in the console cookie or an Authorization header,
    held by an operator. Anyone else is sent to the login page."""
    presented = request.cookies.get(CONSOLE_COOKIE)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        presented = header[7:]
    keys: KeyCache = request.app.state.keys
    caller = keys.authenticate(request.app.state.bureau.ledger, presented) if presented else None
    if caller is None or caller.role != "operator":
        raise ConsoleLoginRequired()
    return Reader(request.app.state.bureau, caller.actor, OPERATOR_PURPOSE)


BureauDep = Annotated[Bureau, Depends(get_bureau)]
ReaderDep = Annotated[Reader, Depends(get_file_reader)]
ConsoleReaderDep = Annotated[Reader, Depends(get_console_reader)]
AsOfDep = Annotated[date, Depends(get_as_of)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
SubjectId = Annotated[
    str,
    Path(
        pattern=SUBJECT_ID_PATTERN,
        description="The subject's id in this bureau.",
        examples=["S000001"],
    ),
]
