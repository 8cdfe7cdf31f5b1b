"""The subject report: everything the bureau holds about one subject, with sources, the
36-month payment grid of every account and the latest published score."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import select

from openbureau.bootstrap import Bureau
from openbureau.catalogue.model import CATALOGUE_VERSION, PILLARS, record_type
from openbureau.disputes.rules import withdrawn
from openbureau.features.rules import FEATURES_BY_NAME
from openbureau.reports import reads
from openbureau.reports.model import (
    AccountSummary,
    DisputeMark,
    FurnishedIdentity,
    FurnisherRef,
    InquiryView,
    Money,
    PillarScore,
    ReasonCode,
    RecordView,
    RefusalView,
    ScoreImprovement,
    ScorePublic,
    SubjectListing,
    SubjectReport,
    in_utc,
)
from openbureau.reports.rules import (
    InvoiceSummary,
    MonthlyStatus,
    dpd_grid,
    is_visible,
    record_expires_on,
    record_status,
    summarise_invoices,
    worst_bucket,
)
from openbureau.scoring import explain
from openbureau.scoring.artefact import ModelNotFound, model_row

log = logging.getLogger(__name__)

_DISPLAYED_IDENTITY = (
    "subject_kind", "given_name", "family_name", "org_name", "date_of_birth",
    "national_id_scheme", "national_id_masked", "address_line1", "address_line2", "city",
    "region", "postcode", "country",
)  # fmt: skip


class SubjectNotFound(LookupError):
    def __init__(self, subject_id: str) -> None:
        super().__init__(f"no subject {subject_id!r} in this bureau")
        self.subject_id = subject_id


class SubjectMerged(LookupError):
    """The id was merged into another subject; `merged_into` is the surviving id."""

    def __init__(self, subject_id: str, merged_into: str) -> None:
        super().__init__(f"subject {subject_id!r} was merged into {merged_into!r}")
        self.subject_id = subject_id
        self.merged_into = merged_into


class ScoreNotFound(LookupError):
    def __init__(self, subject_id: str) -> None:
        super().__init__(f"no score has been published for subject {subject_id!r} yet")
        self.subject_id = subject_id


def live_subject(conn, subject_id: str) -> dict[str, Any]:
    row = reads.subject_row(conn, subject_id)
    if row is None:
        raise SubjectNotFound(subject_id)
    if row["merged_into"]:
        raise SubjectMerged(subject_id, reads.surviving_subject(conn, subject_id))
    return row


def file_rows(engine, table, subject_id: str, *order_by) -> list[dict[str, Any]]:
    """The rows of `table` (a ledger table with a `subject_id`) that belong to the subject's
    file, ids merged into it included, in `order_by`. Raises SubjectNotFound, or
    SubjectMerged for an id merged into another."""
    with engine.connect() as conn:
        live_subject(conn, subject_id)
        ids = reads.subject_and_merged_ids(conn, subject_id)
        rows = conn.execute(select(table).where(table.c.subject_id.in_(ids)).order_by(*order_by))
        return [dict(r._mapping) for r in rows]


def get_score(bureau: Bureau, subject_id: str, as_of: date | None = None) -> ScorePublic:
    """The subject's newest published score on or before `as_of` (newest of all if None).
    Raises SubjectNotFound, SubjectMerged, or ScoreNotFound if none is published yet."""
    with bureau.ledger.connect() as conn:
        live_subject(conn, subject_id)
        row = reads.latest_score_row(conn, subject_id, as_of)
    if row is None:
        raise ScoreNotFound(subject_id)
    return _score_public(row)


def list_subjects(bureau: Bureau, as_of: date, limit: int = 10) -> list[SubjectListing]:
    """Up to `limit` current subjects (by id) with their newest score on or before `as_of`."""
    with bureau.ledger.connect() as conn:
        rows = reads.live_subject_rows(conn, limit)
        found = [(r, reads.latest_score_row(conn, r["subject_id"], as_of)) for r in rows]
    return [
        SubjectListing(
            subject_id=r["subject_id"],
            subject_kind=r["subject_kind"],
            score=_score_public(s) if s else None,
        )
        for r, s in found
    ]


def build_report(
    bureau: Bureau,
    subject_id: str,
    as_of: date | None = None,
    *,
    holder_view: bool = True,
    with_records: bool = True,
) -> SubjectReport:
    """The subject's report on `as_of`: the latest version of every record reported by then
    and not yet expired, grouped, with its source; the newest score on or before `as_of`.

    Without `as_of` (nothing here reads the clock) the report is as of the newest published
    score, else the newest record held. With `holder_view` (what the file's holder and an
    operator see) it also lists who looked at the file and what would raise the score; an
    inquiry's answer holds neither, so it is built without them (`inquiries` and
    `improvements` then empty). Without `with_records` (an inquiry whose purpose allows no
    part of the records, only the score) the lake is not read and every record part is
    empty; it needs `as_of` and no holder view. Raises SubjectNotFound or SubjectMerged."""
    if not with_records and (as_of is None or holder_view):
        raise ValueError("a report without records needs as_of and no holder view")
    with bureau.ledger.connect() as conn:
        subject = live_subject(conn, subject_id)
        furnisher_rows = reads.furnisher_rows(conn)
        score_row = reads.latest_score_row(conn, subject_id, as_of)
        inquiry_rows = reads.inquiry_rows(conn, subject_id) if holder_view else []
        refused_rows = reads.refused_rows(conn, subject_id) if holder_view else []
        artefact = _artefact_path(conn, score_row) if holder_view else None
    keys = reads.subject_identity_keys(bureau.lake, subject_id) if with_records else []
    if as_of is None:
        as_of = _default_as_of(bureau, keys, score_row, subject)
    held = reads.subject_records(bureau.lake, keys, as_of) if with_records else []
    held, disputed = _dispute_marks(bureau, held)
    shown = [r for r in held if is_visible(r["record_type"], r, as_of)]
    refs = {fid: _furnisher_ref(fid, furnisher_rows) for fid in {r["furnisher_id"] for r in held}}
    views = [_record_view(r, refs[r["furnisher_id"]], as_of, disputed) for r in shown]
    return SubjectReport(
        subject_id=subject_id,
        subject_kind=subject["subject_kind"],
        display_name=subject["display_name"],
        national_id_masked=subject["national_id_masked"],
        erased_at=subject.get("erased_at"),
        as_of=as_of,
        catalogue_version=CATALOGUE_VERSION,
        score=_score_public(score_row) if score_row else None,
        identities=_identities(shown, refs),
        accounts=_accounts(shown, refs, as_of, disputed),
        invoices=_invoices(shown, as_of, disputed),
        public_records=[v for v in views if v.public],
        tax_records=[v for v in views if v.record_type == "tax_compliance"],
        social_insurance_records=[v for v in views if v.record_type == "social_insurance"],
        records=views,
        expired_records=len(held) - len(shown),
        inquiries=[InquiryView(**row) for row in inquiry_rows],
        refused=[RefusalView(**row) for row in refused_rows],
        improvements=_improvements(bureau, score_row, artefact, keys, held, as_of),
    )


def _artefact_path(conn, score_row: dict | None) -> str | None:
    if score_row is None or not score_row["scorable"]:
        return None
    try:
        return model_row(conn, score_row["model_version"])["artefact_path"]
    except ModelNotFound:
        return None


def _improvements(
    bureau: Bureau, score_row, artefact: str | None, keys: list[str], held, as_of: date
) -> list[ScoreImprovement]:
    """What would raise the published score, from the subject's records as of its date."""
    if score_row is None or artefact is None:
        return []
    rows = held if score_row["as_of"] == as_of else None
    if rows is None:
        then = reads.subject_records(bureau.lake, keys, score_row["as_of"])
        rows, _ = _dispute_marks(bureau, then)
    try:
        found = explain.improvements(bureau, score_row, artefact, rows)
    except ModelNotFound:
        return []
    except (OSError, ValueError, KeyError):
        # a damaged artefact costs the suggestions, never the subject's right to the report
        log.exception("cannot read model %s for suggestions", score_row["model_version"])
        return []
    return [
        ScoreImprovement(
            code=FEATURES_BY_NAME[m.feature].code,
            feature=m.feature,
            pillar=FEATURES_BY_NAME[m.feature].pillar,
            text=m.sentence,
            current=m.current,
            direction=m.direction,
            target=m.target,
            points_gained=round(m.points_gained, 1),
            score_after=m.score_after,
        )
        for m in found
    ]


def _default_as_of(bureau: Bureau, keys: list[str], score_row, subject) -> date:
    if score_row is not None:
        return score_row["as_of"]
    everything = reads.subject_records(bureau.lake, keys, date.max)
    if everything:
        return max(r["reported_on"] for r in everything)
    return subject["created_at"].date()


def _furnisher_ref(furnisher_id: str, rows: dict[str, dict[str, Any]]) -> FurnisherRef:
    row = rows.get(furnisher_id)
    if row is None:
        return FurnisherRef(furnisher_id=furnisher_id, name=furnisher_id, kind=None)
    return FurnisherRef(furnisher_id=furnisher_id, name=row["name"], kind=row["kind"])


def _score_public(row: dict[str, Any]) -> ScorePublic:
    return ScorePublic(
        subject_id=row["subject_id"],
        as_of=row["as_of"],
        model_version=row["model_version"],
        scorable=row["scorable"],
        score=row["score"] if row["scorable"] else None,
        not_scorable_reason=None if row["scorable"] else row["not_scorable_reason"],
        pillars=[
            PillarScore(pillar=p, label=label, score=row[f"pillar_{p}"])
            for p, label in PILLARS.items()
        ],
        reasons=[_reason(r) for r in row["reasons"] or []],
        published_at=row["published_at"],
    )


def _reason(raw: Any) -> ReasonCode:
    """A reason as the scorer published it: {"code", "text", "pillar", "points_lost"} (a bare
    string is its text)."""
    if isinstance(raw, dict):
        code = raw.get("code")
        return ReasonCode(
            code=code,
            text=str(raw.get("text") or code or ""),
            pillar=raw.get("pillar"),
            points_lost=raw.get("points_lost"),
        )
    return ReasonCode(code=None, text=str(raw))


def without_deleted(bureau: Bureau, held: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`held` (a file's records) without the versions a dispute's answer deleted."""
    return _dispute_marks(bureau, held)[0]


def _dispute_marks(
    bureau: Bureau, held: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], DisputeMark]]:
    """`held` without the versions a dispute's answer deleted, and the open dispute of each
    record under dispute (disputes/rules.py)."""
    if not held:
        return held, {}
    with bureau.ledger.connect() as conn:
        found = reads.record_disputes(conn, {(r["furnisher_id"], r["record_id"]) for r in held})
    if not found:
        return held, {}
    kept = [
        r
        for r in held
        if not any(
            withdrawn(d["outcome"], _day(d["answered_at"]), r["reported_on"])
            for d in found.get((r["furnisher_id"], r["record_id"]), ())
        )
    ]
    marks = {
        key: DisputeMark(
            dispute_id=d["dispute_id"], opened_on=_day(d["opened_at"]), due_on=d["due_on"]
        )
        for key, ds in found.items()
        for d in ds
        if d["status"] == "open"
    }
    return kept, marks


def _invoices(
    shown: list[dict[str, Any]], as_of: date, disputed: dict[tuple[str, str], DisputeMark]
) -> InvoiceSummary:
    rows = [r for r in shown if r["record_type"] == "invoice_payment"]
    summary = summarise_invoices(rows, as_of)
    marked = sum((r["furnisher_id"], r["record_id"]) in disputed for r in rows)
    return replace(summary, under_dispute=marked) if marked else summary


def _day(moment: Any) -> date | None:
    """The UTC day of a ledger time (None stays None)."""
    return None if moment is None else in_utc(moment).date()


def _record_view(
    row: dict[str, Any],
    furnisher: FurnisherRef,
    as_of: date,
    disputed: dict[tuple[str, str], DisputeMark],
) -> RecordView:
    rt = record_type(row["record_type"])
    return RecordView(
        furnisher=furnisher,
        record_id=row["record_id"],
        version=row["version"] or 1,
        record_type=rt.name,
        record_type_description=rt.description,
        pillar=rt.pillar,
        reported_on=row["reported_on"],
        public=rt.public,
        expires_on=record_expires_on(rt.name, row),
        status=record_status(rt.name, row, as_of),
        fields={name: row[name] for name in rt.field_names if row.get(name) is not None},
        under_dispute=disputed.get((row["furnisher_id"], row["record_id"])),
    )


def _identities(rows: list[dict], refs: dict[str, FurnisherRef]) -> list[FurnishedIdentity]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["furnisher_id"], *(r[c] for c in _DISPLAYED_IDENTITY))].append(r)
    out = []
    for (furnisher_id, *values), members in groups.items():
        dates = [m["reported_on"] for m in members]
        out.append(
            FurnishedIdentity(
                furnisher=refs[furnisher_id],
                **dict(zip(_DISPLAYED_IDENTITY, values, strict=True)),
                first_reported_on=min(dates),
                last_reported_on=max(dates),
                records=len(members),
            )
        )
    return sorted(out, key=lambda i: (i.furnisher.name, i.first_reported_on))


def _money(amount: int | None, currency: str | None) -> Money | None:
    return None if amount is None else Money(amount_minor=amount, currency=currency)


def _month_order(row: dict) -> tuple:
    return (row["reporting_month"], row["reported_on"], row["version"] or 1)


def _accounts(
    rows: list[dict],
    refs: dict[str, FurnisherRef],
    as_of: date,
    disputed: dict[tuple[str, str], DisputeMark],
) -> list[AccountSummary]:
    by_account: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if r["record_type"] == "credit_account":
            by_account[(r["furnisher_id"], r["account_id"])].append(r)
    out = []
    for (furnisher_id, account_id), months in by_account.items():
        last = max(months, key=_month_order)
        grid = dpd_grid(
            [
                MonthlyStatus(
                    r["reporting_month"],
                    r["days_past_due"],
                    r["account_status"],
                    r["reported_on"],
                    r["version"] or 1,
                )
                for r in months
            ],
            as_of,
        )
        cur = last["currency"]
        out.append(
            AccountSummary(
                furnisher=refs[furnisher_id],
                account_id=account_id,
                account_type=last["account_type"],
                date_opened=last["date_opened"],
                currency=cur,
                latest_month=last["reporting_month"],
                latest_status=last["account_status"],
                latest_days_past_due=last["days_past_due"],
                balance=_money(last["balance"], cur),
                credit_limit=_money(last["credit_limit"], cur),
                amount_past_due=_money(last["amount_past_due"], cur),
                months_reported=len({r["reporting_month"] for r in months}),
                worst_bucket_36m=worst_bucket(grid),
                under_dispute=any((furnisher_id, r["record_id"]) in disputed for r in months),
                grid=grid,
            )
        )
    return sorted(out, key=lambda a: (a.furnisher.name, a.date_opened or date.min, a.account_id))
