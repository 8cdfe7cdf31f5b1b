"""Dispute rules, pure: when a furnisher's answer is due, what a late answer owes the subject,
and which answers a dispute may be given.

A subject contests one record of its file. From that moment the record is shown "under
dispute" to everyone who sees it (the subject, operators, relying parties whose purpose shows
records) and goes to its furnisher, who must answer within `ANSWER_DAYS` days:

- `verified`: the furnisher checked the record and it stands as furnished;
- `corrected`: the furnisher sends the corrected record as a higher version in a batch (the
  report shows the newest version, as for any correction);
- `unverifiable`: the furnisher cannot verify it, so it is deleted: left out of every report
  and score from that moment, and removed from storage by the next purge.

A subject may also contest a whole account (a loan or card that is not theirs, or reported
wrongly throughout): one dispute is opened for each of the account's records shown in the file
and not already under dispute, together, in a group named by the first one's id. The group is
one complaint: the furnisher answers it once (answering any of its disputes answers all that
are open, with one outcome and note), and a late answer owes compensation once, carried by
the group's first dispute (`carries_compensation`).

An answer after the due date owes the subject compensation for every day of delay
(`COMPENSATION_PER_DAY_MINOR`, the Reserve Bank of India's rule for credit information
companies: Rs 100 a calendar day once a complaint is unresolved after 30 days); a dispute
still open after the due date owes it up to the day asked about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from openbureau import freetext

#: Days a furnisher has to answer (SCOPE.md; FCRA section 611; the RBI's 30 days).
ANSWER_DAYS = 30
#: Compensation for each day an answer is late, in minor units of COMPENSATION_CURRENCY.
COMPENSATION_PER_DAY_MINOR = 100_00
COMPENSATION_CURRENCY = "INR"

OUTCOMES: dict[str, str] = {
    "verified": "The furnisher verified the record; it stands as furnished.",
    "corrected": "The furnisher corrected the record; the corrected version replaces it.",
    "unverifiable": "The furnisher could not verify the record; it is deleted.",
}
#: The outcome that deletes the record.
DELETES = "unverifiable"
#: The record type whose records make up an account (one a month), disputed whole.
ACCOUNT_RECORD_TYPE = "credit_account"

#: Longest reason a subject may give, and longest note a furnisher may answer with.
MAX_TEXT = 1000
#: What a reason or note becomes once the subject's file is emptied (identity/erasure.py).
ERASED_TEXT = freetext.ERASED


def due_on(opened_on: date) -> date:
    """The last day the furnisher's answer is on time."""
    return opened_on + timedelta(days=ANSWER_DAYS)


def days_late(due: date, answered_on: date | None, on: date) -> int:
    """Days of delay past `due` (the dispute's stored due date): up to the answer, or up to
    `on` while unanswered; never negative."""
    end = answered_on if answered_on is not None else on
    return max(0, (end - due).days)


@dataclass(frozen=True)
class Compensation:
    days_late: int
    amount_minor: int
    currency: str = COMPENSATION_CURRENCY


def compensation(due: date, answered_on: date | None, on: date) -> Compensation:
    late = days_late(due, answered_on, on)
    return Compensation(late, late * COMPENSATION_PER_DAY_MINOR)


def carries_compensation(dispute_id: str, group_id: str | None) -> bool:
    """Whether a late answer to this dispute owes compensation: a dispute of one record, or
    the first dispute of an account's group (the group is one complaint)."""
    return group_id is None or group_id == dispute_id


def text_problem(what: str, text: str) -> str | None:
    """Why a reason or note cannot be taken, or None."""
    return freetext.problem(what, text, MAX_TEXT, ": say what is wrong with the record")


def answer_problem(status: str, outcome: str) -> str | None:
    """Why a dispute in `status` cannot be given `outcome`, or None."""
    if outcome not in OUTCOMES:
        return f"unknown outcome {outcome!r}; known: {', '.join(OUTCOMES)}"
    if status != "open":
        return "the dispute is already answered; open a new one to contest the record again"
    return None


def withdrawn(outcome: str | None, answered_on: date | None, reported_on: date) -> bool:
    """Whether a stored version of a disputed record is deleted by the dispute's answer: the
    furnisher could not verify it, and it was reported on or before that answer (a version
    the furnisher reports afterwards is a new furnishing, shown and open to a new dispute)."""
    return outcome == DELETES and answered_on is not None and reported_on <= answered_on
