"""A subject's score and full report, as JSON.

These are the API's hottest routes, so they are `async def` and run their blocking part
(ledger reads and the audit append) in one worker thread each: a plain `def` route costs
FastAPI's sync wrapper on top of the same thread hop. They answer with the model serialised
once by pydantic (the declared response model still documents and shapes the answer)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from openbureau.api.deps import AsOfDep, BureauDep, ReaderDep, SubjectId
from openbureau.api.problems import SUBJECT_PROBLEMS
from openbureau.api.schemas import ReportPublic, ScorePublic
from openbureau.reports.service import build_report, get_score

router = APIRouter(prefix="/v1/subjects", tags=["subjects"], responses=SUBJECT_PROBLEMS)


def _json(model: ScorePublic | ReportPublic) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


@router.get(
    "/{subject_id}/score",
    name="subject_score",
    summary="The subject's latest score",
    response_model=ScorePublic,
)
async def read_score(
    subject_id: SubjectId, bureau: BureauDep, as_of: AsOfDep, reader: ReaderDep
) -> Response:
    """The newest score published on or before `as_of`: 300-900, the sub-score of each
    pillar and the key reasons that hold it down, or "not scorable" with its reason.
    Every read is written to the audit log."""

    def read() -> ScorePublic:
        score = get_score(bureau, subject_id, as_of)
        reader.record("score.read", [subject_id], as_of=as_of, channel="api")
        return score

    return _json(await run_in_threadpool(read))


@router.get(
    "/{subject_id}/report",
    name="subject_report",
    summary="The subject's full report",
    response_model=ReportPublic,
)
async def read_report(
    subject_id: SubjectId, bureau: BureauDep, as_of: AsOfDep, reader: ReaderDep
) -> Response:
    """Everything the bureau holds about the subject on `as_of`: identity as each source
    furnished it (national ids masked), every record with its source and expiry, accounts
    with their 36-month payment grid, public and tax records, and the latest score.
    Every read is written to the audit log."""

    def read() -> ReportPublic:
        report = build_report(bureau, subject_id, as_of)
        reader.record("report.read", [subject_id], as_of=as_of, channel="api")
        return report

    return _json(await run_in_threadpool(read))
