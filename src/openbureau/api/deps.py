"""Request dependencies as `Annotated` aliases: the bureau, the report date, a subject id,
and the reader (who reads a file, and why: every read is written to the audit chain)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from starlette.templating import Jinja2Templates

from openbureau.api.schemas import SUBJECT_ID_PATTERN
from openbureau.audit.service import ANONYMOUS_LOCAL, VIEW_PURPOSE, record_reads
from openbureau.bootstrap import Bureau

# The dependencies below do no I/O, so they are `async def`: FastAPI runs a plain `def`
# dependency in the thread pool, one thread hop each, which cost more than the work.


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


async def get_reader(request: Request) -> Reader:
    # Until API keys land every reader is the same anonymous, local one.
    return Reader(request.app.state.bureau, ANONYMOUS_LOCAL, VIEW_PURPOSE)


BureauDep = Annotated[Bureau, Depends(get_bureau)]
ReaderDep = Annotated[Reader, Depends(get_reader)]
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
