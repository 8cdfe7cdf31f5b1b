"""Black and red lists, pure: the published lists (criteria, legal basis, term, measures),
what evidence puts a subject on one, and the due process an entry goes through.

A list entry is never made by a model or a job. An operator proposes it, citing the finding
it rests on: for a black list, an adjudicated record shown in the subject's file (a court's
judgment-default finding, a serious tax penalty); for a red list, an authority's decision.
The subject is told at once and may object until the objection window closes. A second
operator, never the proposer, then approves or rejects it, having read any objection. An
approved entry holds for a fixed term and then ends by itself; it is removed early when the
finding is satisfied or revoked, or, where the list allows credit repair, after its minimum
term. Removal can only help the subject, so it needs one operator and no waiting; a batch
that reports the finding satisfied removes it in the batch's own transaction.

Relying parties ask whether a measure may apply to a subject; the answer cites the list and
the law. A measure binds only the listed subject (SCOPE.md: no measures against third
parties): the catalogue below leaves out, on purpose, every measure the source regulations
aim at a debtor's family (such as the schooling of a defaulter's children). Where the law
publishes an organisation's entry with its legal representative's name, the entry may carry
that name, taken from the organisation's own file (`representative_problem`); it is a name
on the organisation's entry, linked to no person's file, and nothing follows from it for
that person (SCOPE.md: no score by association)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from openbureau import freetext
from openbureau.catalogue.rules import add_months

#: Stored states of an entry. `listed` is shown as `ended` once its term is over.
STATES = ("proposed", "objected", "listed", "rejected", "removed", "ended")
#: States in which an entry is still on its way to the list or on it.
PENDING = ("proposed", "objected")
OPEN_STATES = (*PENDING, "listed")

#: Why an entry leaves a list before its term ends.
REMOVAL_REASONS: dict[str, str] = {
    "satisfied": "The finding was satisfied (the judgment paid, the obligation performed).",
    "revoked": "The finding was revoked, set aside or overturned.",
    "repaired": "Credit repair: the subject corrected its conduct after the minimum term.",
    "evidence_deleted": "The record the entry rests on was deleted (a dispute's answer).",
    "evidence_changed": "The subject's file no longer shows a qualifying finding for the entry "
    "to rest on (the record corrected, moved to another file, or past its end).",
    "error": "The entry was made in error.",
}
#: Reasons an operator may give (the evidence_ reasons come from the bureau's own checks).
OPERATOR_REASONS = ("satisfied", "revoked", "repaired", "error")

#: Longest objection, grounds or note accepted.
MAX_TEXT = 2000


@dataclass(frozen=True)
class Measure:
    """What a relying party may do to (or for) a listed subject, the law that lets it, and
    the kinds of relying party that apply it: the only ones who may ask whether it applies
    (besides the bureau's operators). A check is a look at the subject's file, so an employer
    or a landlord, who may look only with the subject's consent, cannot learn of a listing
    by asking about a measure it has no part in."""

    name: str
    description: str
    legal_basis: str
    party_kinds: frozenset[str]


@dataclass(frozen=True)
class Evidence:
    """A record type that may put a subject on a list, and the field values it must hold.

    The entry's term runs from the finding's own date (`start_field`), not from the day it
    was listed: a finding made long ago lists nobody for long, and one whose term is over
    lists nobody. `term_field` names a field holding the finding's own term in months (the
    entry takes it, capped by the list's longest term); `cleared_by` names the fields whose
    value means the finding is satisfied or lifted. `paid_by` (record type, field) names
    another record of the same furnisher, joined on `link_field`, whose field set means the
    obligation behind the finding is performed (a default finding's judgment paid)."""

    record_type: str
    #: The field holding the date the finding was made: the entry's term runs from it.
    start_field: str
    requires: tuple[tuple[str, str], ...] = ()
    term_field: str | None = None
    cleared_by: tuple[str, ...] = ()
    paid_by: tuple[str, str] | None = None
    link_field: str | None = None


#: The subject kind whose entries may name a legal representative.
ORGANISATION = "organisation"


def representative_problem(
    definition: ListDefinition, subject_kind: str, name: str | None
) -> str | None:
    """Why an entry of a subject of `subject_kind` cannot name `name` (the legal
    representative its file gives, None if it gives none) on `definition`, or None."""
    if not definition.names_representative:
        return f"{definition.list_id} does not publish a legal representative"
    if subject_kind != ORGANISATION:
        return "only an organisation's entry names its legal representative"
    if not name:
        return (
            "the organisation's file gives no legal representative (its furnishers' profiles "
            "name none)"
        )
    return None


def newest_representative(profiles: Iterable[tuple[date, str | None]]) -> str | None:
    """The legal representative the newest profile naming one gives: (reported_on, name)
    pairs; None if none names one. Of two reported the same day, the name that sorts first
    (a fixed choice, not an arbitrary one)."""
    named = [(on, name.strip()) for on, name in profiles if name and name.strip()]
    if not named:
        return None
    newest = max(on for on, _ in named)
    return min(name for on, name in named if on == newest)


@dataclass(frozen=True)
class ListDefinition:
    list_id: str
    kind: Literal["black", "red"]
    title: str
    criteria: str
    legal_basis: str
    #: For a black list, the records that qualify; a red list rests on an authority's decision.
    evidence: tuple[Evidence, ...]
    term_months: int
    max_term_months: int
    #: Days the subject has to object after being told; 0 (a red list): only the day of the
    #: proposal, so a second operator may approve from the next day.
    objection_days: int
    #: Months on the list before credit repair may remove an entry; None: no repair.
    repair_after_months: int | None
    measures: tuple[Measure, ...]
    #: The law publishes an organisation's legal representative with its entry (the name
    #: only: no measure and no score of that person follows from it).
    names_representative: bool = False

    @property
    def needs_decision(self) -> bool:
        """A red list entry cites an authority's decision instead of a record."""
        return not self.evidence


_PROCUREMENT = Measure(
    "public_procurement",
    "Excluded from bidding for government procurement contracts while listed.",
    "Government Procurement Law art.22(1)(5): a supplier has no record of major illegal "
    "conduct in its business in the three years before it bids.",
    frozenset({"authority"}),  # the procuring public body
)

LISTS: dict[str, ListDefinition] = {
    d.list_id: d
    for d in (
        ListDefinition(
            list_id="judgment_defaulters",
            kind="black",
            # SPC Provisions (2017) art.6: a legal person's entry gives the name of its legal
            # representative or person in charge
            names_representative=True,
            title="Judgment defaulters",
            criteria="A court found that the subject, a judgment debtor able to perform, "
            "refuses to (or evades, obstructs, or declared false assets), and that finding "
            "stands unremoved.",
            legal_basis="SPC Provisions on Publishing the List of Judgment Defaulters (2017) "
            "arts.1-2, 6, 10; SPC Provisions on Restricting High Consumption of Judgment "
            "Debtors (2015).",
            evidence=(
                Evidence(
                    "judgment_default_finding",
                    "finding_date",
                    term_field="term_months",
                    cleared_by=("date_removed",),
                    # SPC Provisions (2017) art.10: removed once the judgment is performed
                    paid_by=("court_judgment", "date_satisfied"),
                    link_field="case_number",
                ),
            ),
            term_months=24,
            max_term_months=60,
            objection_days=15,
            repair_after_months=None,  # leaves on performance (satisfied), not by repair
            measures=(
                Measure(
                    "premium_travel",
                    "No air travel, sleeper berths or first-class rail seats paid for by the "
                    "listed subject.",
                    "SPC Provisions on Restricting High Consumption of Judgment Debtors (2015) "
                    "art.3(1).",
                    frozenset({"service_provider"}),  # airlines, railways
                ),
                Measure(
                    "luxury_spending",
                    "No spending at star-rated hotels, night clubs or golf courses by the "
                    "listed subject.",
                    "SPC Provisions on Restricting High Consumption of Judgment Debtors (2015) "
                    "art.3(2).",
                    frozenset({"service_provider"}),  # hotels, clubs
                ),
                Measure(
                    "property_purchase",
                    "No purchase, building or luxury refurbishment of real estate by the "
                    "listed subject.",
                    "SPC Provisions on Restricting High Consumption of Judgment Debtors (2015) "
                    "art.3(3)-(4).",
                    # sellers and builders, the property registry, a lender financing it
                    frozenset({"service_provider", "authority", "lender"}),
                ),
                _PROCUREMENT,
            ),
        ),
        ListDefinition(
            list_id="major_tax_violators",
            kind="black",
            # the STA Measures (2021) publish a case with the organisation's legal
            # representative or person in charge
            names_representative=True,
            title="Major tax violation cases",
            criteria="A final administrative penalty of serious severity for a tax violation "
            "(evasion, refusal to pay, fraudulent invoices) decided by a tax authority.",
            legal_basis="STA Measures for Publishing Information on Major Tax Violation and "
            "Dishonesty Cases (2021); Tax Collection Administration Law art.45.",
            evidence=(
                Evidence(
                    "administrative_penalty",
                    "penalty_date",
                    requires=(("violation_category", "tax"), ("severity", "serious")),
                ),
            ),
            term_months=36,
            max_term_months=36,
            objection_days=15,
            repair_after_months=6,
            measures=(
                _PROCUREMENT,
                Measure(
                    "invoice_supply_limit",
                    "VAT invoices supplied to the listed subject in limited numbers, on "
                    "application.",
                    "STA Measures for Publishing Information on Major Tax Violation and "
                    "Dishonesty Cases (2021); Tax Collection Administration Law art.45.",
                    frozenset({"authority"}),  # the tax office
                ),
            ),
        ),
        ListDefinition(
            list_id="a_grade_taxpayers",
            kind="red",
            title="A-grade taxpayers",
            criteria="A tax authority rated the subject's tax credit A for the latest "
            "evaluation year.",
            legal_basis="STA Measures for Tax Credit Management (2014) arts.28-29.",
            evidence=(),
            term_months=12,
            max_term_months=12,
            objection_days=0,
            repair_after_months=None,
            measures=(
                Measure(
                    "expedited_tax_services",
                    "Invoices supplied as needed and tax matters handled through a green channel.",
                    "STA Measures for Tax Credit Management (2014) art.29.",
                    frozenset({"authority"}),  # the tax office
                ),
            ),
        ),
    )
}

#: Every measure any list names, by name (a measure may appear on several lists).
MEASURES: dict[str, Measure] = {m.name: m for d in LISTS.values() for m in d.measures}


#: (record type, field, link field) of the records whose field set in a new version says the
#: obligation behind a cited finding is performed (joined to the finding on the link field).
PAID_BY: tuple[tuple[str, str, str], ...] = tuple(
    sorted(
        {
            (*e.paid_by, e.link_field)
            for d in LISTS.values()
            for e in d.evidence
            if e.paid_by is not None and e.link_field is not None
        }
    )
)


def link_value(
    definition: ListDefinition, record_type: str, fields: Mapping[str, object]
) -> str | None:
    """The value that joins a cited record to the records that would show it performed (a
    finding's case number), or None."""
    rule = next((e for e in definition.evidence if e.record_type == record_type), None)
    if rule is None or rule.link_field is None:
        return None
    value = fields.get(rule.link_field)
    return value if isinstance(value, str) else None


def performed(
    definition: ListDefinition,
    record_type: str,
    fields: Mapping[str, object],
    others: Iterable[tuple[str, Mapping[str, object]]],
) -> bool:
    """Whether one of `others` (the same furnisher's records in the file, as record type and
    fields) shows the obligation behind the cited record performed: a default finding's
    judgment (same case number) paid."""
    rule = next((e for e in definition.evidence if e.record_type == record_type), None)
    link = link_value(definition, record_type, fields)
    if rule is None or rule.paid_by is None or rule.link_field is None or link is None:
        return False
    paid_type, paid_field = rule.paid_by
    return any(
        kind == paid_type
        and other.get(rule.link_field) == link
        and other.get(paid_field) is not None
        for kind, other in others
    )


def measure_refusal(measure: Measure, party_kind: str) -> str | None:
    """Why a party of `party_kind` may not ask whether `measure` applies, or None. Operators
    may ask about any measure (a dispute or an objection may turn on it)."""
    if party_kind == "operator" or party_kind in measure.party_kinds:
        return None
    who = ", ".join(sorted(measure.party_kinds))
    return (
        f"a party of kind {party_kind} does not apply the measure {measure.name} and may not "
        f"ask about it (only: {who})"
    )


def objection_ends_on(definition: ListDefinition, proposed_on: date) -> date:
    """The last day the subject may object (the day of the proposal when no window)."""
    return proposed_on + timedelta(days=definition.objection_days)


def evidence_problem(
    definition: ListDefinition, record_type: str, fields: Mapping[str, object]
) -> str | None:
    """Why a record cannot put a subject on the list, or None when it qualifies."""
    rule = next((e for e in definition.evidence if e.record_type == record_type), None)
    if rule is None:
        allowed = ", ".join(e.record_type for e in definition.evidence) or "none"
        return (
            f"a {record_type} record cannot put a subject on {definition.list_id} "
            f"(qualifying records: {allowed})"
        )
    for field, value in rule.requires:
        if fields.get(field) != value:
            return f"the record's {field} is {fields.get(field)!r}; the list needs {value!r}"
    if cleared(definition, record_type, fields):
        return "the finding is already satisfied or removed"
    return None


def cleared(definition: ListDefinition, record_type: str, fields: Mapping[str, object]) -> bool:
    """Whether the record says its finding is satisfied or lifted (a cleared_by field set)."""
    return any(
        fields.get(name) is not None
        for e in definition.evidence
        if e.record_type == record_type
        for name in e.cleared_by
    )


def term_months(
    definition: ListDefinition, record_type: str | None, fields: Mapping[str, object]
) -> int:
    """How long an approved entry holds: the finding's own term where it names one, else the
    list's; never longer than the list's longest term."""
    months = definition.term_months
    rule = next((e for e in definition.evidence if e.record_type == record_type), None)
    if rule is not None and rule.term_field is not None:
        value = fields.get(rule.term_field)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            months = value
    return min(months, definition.max_term_months)


def ends_on(start: date, months: int) -> date:
    """The first day an entry whose finding dates from `start` no longer holds."""
    return add_months(start, months)


def entry_ends_on(
    definition: ListDefinition,
    record_type: str | None,
    fields: Mapping[str, object],
    *,
    decision_date: date | None = None,
    record_expires_on: date | None = None,
) -> date:
    """The first day the entry no longer holds: its term counted from the finding's own date
    (a red list's: the decision's), and never past the day the cited record itself stops
    being shown (its retention)."""
    rule = next((e for e in definition.evidence if e.record_type == record_type), None)
    start = fields.get(rule.start_field) if rule is not None else decision_date
    if not isinstance(start, date):
        raise ValueError(f"the finding has no {rule.start_field if rule else 'date'}")
    ends = ends_on(start, term_months(definition, record_type, fields))
    return min(ends, record_expires_on) if record_expires_on is not None else ends


def standing_problem(
    definition: ListDefinition,
    record_type: str,
    fields: Mapping[str, object],
    others: Iterable[tuple[str, Mapping[str, object]]],
) -> tuple[str, str] | None:
    """Why an entry can no longer rest on the record as the file shows it now, as (removal
    reason, words), or None while it stands: `satisfied` when the finding is lifted or its
    obligation performed, `evidence_changed` when the record no longer meets the criteria."""
    if cleared(definition, record_type, fields):
        return "satisfied", "the finding is lifted"
    if performed(definition, record_type, fields, others):
        return "satisfied", "the obligation behind the finding is performed (its judgment paid)"
    problem = evidence_problem(definition, record_type, fields)
    if problem:
        return "evidence_changed", problem
    return None


def shown_status(status: str, ends: date | None, today: date) -> str:
    """The state shown on `today`: a listed entry whose term is over has ended."""
    if status == "listed" and ends is not None and today >= ends:
        return "ended"
    return status


def objection_problem(status: str, window_ends: date, today: date) -> str | None:
    """Why the subject cannot object now, or None."""
    if status == "objected":
        return "the subject has already objected; the objection awaits review"
    if status != "proposed":
        return f"the entry is {status}: objections are taken only while it is proposed"
    if today > window_ends:
        return f"the objection window closed on {window_ends.isoformat()}"
    return None


def decision_problem(
    status: str,
    approve: bool,
    *,
    proposed_by_party: str,
    deciding_party: str,
    window_ends: date,
    today: date,
) -> str | None:
    """Why the entry cannot be decided so now, or None. Approval needs a second person (not
    the proposer's party) and the objection window closed, whether or not the subject has
    objected already (an objection adds the duty to read it; it never shortens the window).
    Rejection may come at any time."""
    if status not in PENDING:
        return f"the entry is {status}: only a proposed entry is decided"
    if not approve:
        return None
    if deciding_party == proposed_by_party:
        return "the proposer cannot approve its own proposal: a second operator decides"
    if today <= window_ends:
        return f"the subject may object until {window_ends.isoformat()}; decide after that day"
    return None


def removal_problem(
    definition: ListDefinition,
    status: str,
    reason: str,
    *,
    listed_on: date | None,
    ends: date | None,
    today: date,
) -> str | None:
    """Why an operator cannot remove the entry for `reason` now, or None."""
    if reason not in OPERATOR_REASONS:
        return f"unknown reason {reason!r}; known: {', '.join(OPERATOR_REASONS)}"
    shown = shown_status(status, ends, today)
    if shown != "listed":
        return f"the entry is {shown}: only a listed entry is removed"
    if reason == "repaired":
        if definition.repair_after_months is None:
            return (
                f"{definition.list_id} allows no credit repair: an entry leaves it when the "
                "finding is satisfied or revoked, or at the end of its term"
            )
        assert listed_on is not None
        earliest = add_months(listed_on, definition.repair_after_months)
        if today < earliest:
            return (
                f"credit repair is possible from {earliest.isoformat()} "
                f"({definition.repair_after_months} months after listing)"
            )
    return None


def text_problem(what: str, text: str) -> str | None:
    """Why free text (grounds, an objection, a note) cannot be taken, or None."""
    return freetext.problem(what, text, MAX_TEXT)
