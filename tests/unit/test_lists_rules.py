"""Black and red list rules: the published catalogue, what evidence puts a subject on a list,
how long an entry holds, and the due process (objection, a second operator's decision,
removal)."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbureau.access.rules import PARTY_KINDS, RELYING_KINDS
from openbureau.catalogue.model import RECORD_TYPES, SEVERITIES, VIOLATION_CATEGORIES
from openbureau.catalogue.rules import add_months
from openbureau.lists.rules import (
    LISTS,
    MAX_TEXT,
    MEASURES,
    OPEN_STATES,
    OPERATOR_REASONS,
    PAID_BY,
    PENDING,
    REMOVAL_REASONS,
    STATES,
    cleared,
    decision_problem,
    ends_on,
    entry_ends_on,
    evidence_problem,
    measure_refusal,
    objection_ends_on,
    objection_problem,
    removal_problem,
    shown_status,
    standing_problem,
    term_months,
    text_problem,
)

DEFAULTERS = LISTS["judgment_defaulters"]
TAX = LISTS["major_tax_violators"]
A_GRADE = LISTS["a_grade_taxpayers"]

FINDING = {
    "court": "Shanghai No.1 Intermediate People's Court",
    "case_number": "(2025) Hu 01 Zhi 123",
    "ground": "refuses_with_ability",
    "finding_date": date(2025, 11, 3),
    "term_months": 24,
    "date_removed": None,
}
PENALTY = {
    "authority": "Shanghai Tax Bureau",
    "violation_category": "tax",
    "severity": "serious",
    "penalty_date": date(2025, 9, 1),
    "amount": 1_500_000_00,
    "currency": "CNY",
}

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
lists = st.sampled_from(sorted(LISTS))
# words that would aim a measure at someone other than the listed subject (SCOPE.md)
THIRD_PARTIES = ("famil", "child", "school", "relative", "spouse", "employee")


# -- the catalogue -------------------------------------------------------------------------


@pytest.mark.parametrize("list_id", sorted(LISTS))
def test_every_list_says_why_and_what(list_id):
    d = LISTS[list_id]
    assert d.list_id == list_id
    assert d.kind in ("black", "red")
    assert d.title.strip() and d.criteria.strip() and d.legal_basis.strip()
    assert d.measures, f"{list_id} names no measure"
    for m in d.measures:
        assert m.name.strip() and m.description.strip() and m.legal_basis.strip()
    assert len({m.name for m in d.measures}) == len(d.measures)
    assert 1 <= d.term_months <= d.max_term_months
    assert d.objection_days >= 0


@pytest.mark.parametrize("list_id", sorted(LISTS))
def test_black_lists_rest_on_records_red_lists_on_decisions(list_id):
    d = LISTS[list_id]
    if d.kind == "black":
        assert d.evidence, f"black list {list_id} names no qualifying record"
        assert not d.needs_decision
        assert d.objection_days > 0  # the subject is heard before a black listing
    else:
        assert d.evidence == ()
        assert d.needs_decision
        assert d.objection_days == 0  # 0: a red list only helps the subject


@pytest.mark.parametrize("list_id", sorted(LISTS))
def test_repair_comes_before_the_term_ends(list_id):
    d = LISTS[list_id]
    if d.repair_after_months is not None:
        assert 1 <= d.repair_after_months < d.term_months


def test_the_three_published_lists():
    assert {d.list_id: (d.kind, d.term_months, d.max_term_months) for d in LISTS.values()} == {
        "judgment_defaulters": ("black", 24, 60),
        "major_tax_violators": ("black", 36, 36),
        "a_grade_taxpayers": ("red", 12, 12),
    }
    assert DEFAULTERS.repair_after_months is None
    assert TAX.repair_after_months == 6
    assert A_GRADE.repair_after_months is None


EVIDENCE = [(d.list_id, e) for d in LISTS.values() for e in d.evidence]


@pytest.mark.parametrize(("list_id", "evidence"), EVIDENCE, ids=[i for i, _ in EVIDENCE])
def test_evidence_names_real_record_types_and_fields(list_id, evidence):
    assert evidence.record_type in RECORD_TYPES, (list_id, evidence.record_type)
    rt = RECORD_TYPES[evidence.record_type]
    fields = {f.name: f for f in rt.fields}
    for name, value in evidence.requires:
        assert name in fields, f"{list_id}: {rt.name} has no field {name}"
        if fields[name].codes:
            assert value in fields[name].codes, f"{list_id}: {value!r} is no code of {name}"
    if evidence.term_field is not None:
        assert evidence.term_field in fields
        assert fields[evidence.term_field].kind == "int"
    for name in evidence.cleared_by:
        assert name in fields, f"{list_id}: {rt.name} has no field {name}"
        assert not fields[name].required  # empty while the finding stands
    # a record type appears at most once per list (evidence_problem takes the first)
    assert sum(e.record_type == evidence.record_type for e in LISTS[list_id].evidence) == 1


def test_measures_collects_each_measure():
    named = {(d.list_id, m.name): m for d in LISTS.values() for m in d.measures}
    assert set(MEASURES) == {name for _, name in named}
    for (_, name), m in named.items():
        # a measure named on several lists is one and the same measure
        assert MEASURES[name] == m
    assert "public_procurement" in {m.name for m in DEFAULTERS.measures}
    assert "public_procurement" in {m.name for m in TAX.measures}


@pytest.mark.parametrize("name", sorted(MEASURES))
def test_no_measure_aims_at_third_parties(name):
    m = MEASURES[name]
    text = f"{m.name} {m.description}".lower()
    for word in THIRD_PARTIES:
        assert word not in text, f"measure {name} mentions {word!r}"


@pytest.mark.parametrize("name", sorted(MEASURES))
def test_each_measure_names_the_relying_parties_that_apply_it(name):
    kinds = MEASURES[name].party_kinds
    assert kinds and kinds <= RELYING_KINDS
    # a measure check is a look at the file: those who look only with the subject's
    # consent (employment, tenancy) apply no measure
    assert not kinds & {"employer", "landlord"}


@pytest.mark.parametrize("kind", sorted(PARTY_KINDS))
@pytest.mark.parametrize("name", sorted(MEASURES))
def test_only_the_measures_own_parties_and_operators_may_ask(name, kind):
    refusal = measure_refusal(MEASURES[name], kind)
    if kind == "operator" or kind in MEASURES[name].party_kinds:
        assert refusal is None
    else:
        assert refusal is not None
        assert kind in refusal and name in refusal
        assert all(k in refusal for k in MEASURES[name].party_kinds)


def test_paid_by_is_every_performance_link_of_the_lists():
    expected = {(*e.paid_by, e.link_field) for d in LISTS.values() for e in d.evidence if e.paid_by}
    assert set(PAID_BY) == expected
    assert ("court_judgment", "date_satisfied", "case_number") in PAID_BY


def test_states_and_reasons_hang_together():
    assert set(PENDING) <= set(OPEN_STATES) <= set(STATES)
    assert "listed" in OPEN_STATES and "listed" not in PENDING
    assert {"rejected", "removed", "ended"}.isdisjoint(OPEN_STATES)
    assert len(set(STATES)) == len(STATES)
    assert set(OPERATOR_REASONS) <= set(REMOVAL_REASONS)
    assert "evidence_deleted" in REMOVAL_REASONS
    assert "evidence_deleted" not in OPERATOR_REASONS  # a dispute's answer, never an operator
    assert all(text.strip() for text in REMOVAL_REASONS.values())


# -- evidence ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "record_type", "fields", "problem"),
    [
        (DEFAULTERS, "judgment_default_finding", FINDING, None),
        (DEFAULTERS, "judgment_default_finding", {**FINDING, "date_removed": None}, None),
        (DEFAULTERS, "judgment_default_finding", {"term_months": 24}, None),  # no date_removed
        (DEFAULTERS, "court_judgment", {"amount": 100}, "a court_judgment record cannot"),
        (DEFAULTERS, "administrative_penalty", PENALTY, "judgment_default_finding"),
        (
            DEFAULTERS,
            "judgment_default_finding",
            {**FINDING, "date_removed": date(2026, 1, 5)},
            "already satisfied or removed",
        ),
        (TAX, "administrative_penalty", PENALTY, None),
        (
            TAX,
            "administrative_penalty",
            {**PENALTY, "violation_category": "environment"},
            "violation_category is 'environment'; the list needs 'tax'",
        ),
        (
            TAX,
            "administrative_penalty",
            {**PENALTY, "severity": "general"},
            "severity is 'general'; the list needs 'serious'",
        ),
        (TAX, "administrative_penalty", {**PENALTY, "severity": "minor"}, "severity"),
        (
            TAX,
            "administrative_penalty",
            {k: v for k, v in PENALTY.items() if k != "severity"},
            "severity is None",
        ),
        (TAX, "judgment_default_finding", FINDING, "qualifying records: administrative_penalty"),
        (TAX, "tax_compliance", {"filed_on_time": False}, "cannot put a subject on"),
        (A_GRADE, "tax_compliance", {"filed_on_time": True}, "qualifying records: none"),
        (A_GRADE, "administrative_penalty", PENALTY, "a_grade_taxpayers"),
    ],
)
def test_evidence_problem(definition, record_type, fields, problem):
    found = evidence_problem(definition, record_type, fields)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@given(st.sampled_from(VIOLATION_CATEGORIES), st.sampled_from(SEVERITIES))
def test_only_a_serious_tax_penalty_qualifies(category, severity):
    fields = {**PENALTY, "violation_category": category, "severity": severity}
    found = evidence_problem(TAX, "administrative_penalty", fields)
    assert (found is None) == (category == "tax" and severity == "serious")
    if found is not None:
        # the message names the field that fails
        assert ("violation_category" if category != "tax" else "severity") in found


@pytest.mark.parametrize(
    ("definition", "record_type", "fields", "is_cleared"),
    [
        (DEFAULTERS, "judgment_default_finding", FINDING, False),
        (DEFAULTERS, "judgment_default_finding", {}, False),
        (
            DEFAULTERS,
            "judgment_default_finding",
            {**FINDING, "date_removed": date(2026, 1, 5)},
            True,
        ),
        (DEFAULTERS, "judgment_default_finding", {"date_removed": "2026-01-05"}, True),
        # a field that clears on one record type clears nothing on another
        (DEFAULTERS, "court_judgment", {"date_removed": date(2026, 1, 5)}, False),
        (DEFAULTERS, "court_judgment", {"date_satisfied": date(2026, 1, 5)}, False),
        # the tax list names no clearing field: a penalty is lifted by removal, not a field
        (TAX, "administrative_penalty", {**PENALTY, "date_removed": date(2026, 1, 5)}, False),
        (A_GRADE, "judgment_default_finding", {"date_removed": date(2026, 1, 5)}, False),
    ],
)
def test_cleared(definition, record_type, fields, is_cleared):
    assert cleared(definition, record_type, fields) is is_cleared


# -- the term ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "record_type", "fields", "months"),
    [
        (DEFAULTERS, "judgment_default_finding", {"term_months": 24}, 24),
        (DEFAULTERS, "judgment_default_finding", {"term_months": 6}, 6),  # the finding's own
        (DEFAULTERS, "judgment_default_finding", {"term_months": 1}, 1),
        (DEFAULTERS, "judgment_default_finding", {"term_months": 48}, 48),
        (DEFAULTERS, "judgment_default_finding", {"term_months": 60}, 60),
        (DEFAULTERS, "judgment_default_finding", {"term_months": 61}, 60),  # capped
        (DEFAULTERS, "judgment_default_finding", {"term_months": 10_000}, 60),
        # no usable term: the list's own
        (DEFAULTERS, "judgment_default_finding", {}, 24),
        (DEFAULTERS, "judgment_default_finding", {"term_months": None}, 24),
        (DEFAULTERS, "judgment_default_finding", {"term_months": 0}, 24),
        (DEFAULTERS, "judgment_default_finding", {"term_months": -5}, 24),
        (DEFAULTERS, "judgment_default_finding", {"term_months": True}, 24),  # a bool is no int
        (DEFAULTERS, "judgment_default_finding", {"term_months": False}, 24),
        (DEFAULTERS, "judgment_default_finding", {"term_months": "12"}, 24),
        (DEFAULTERS, "judgment_default_finding", {"term_months": 12.0}, 24),
        # another record type's term field is not read
        (DEFAULTERS, "court_judgment", {"term_months": 6}, 24),
        (DEFAULTERS, None, {"term_months": 6}, 24),
        # a list without a term field: its own term, whatever the record holds
        (TAX, "administrative_penalty", {**PENALTY, "term_months": 12}, 36),
        (TAX, "administrative_penalty", PENALTY, 36),
        (A_GRADE, None, {}, 12),
        (A_GRADE, None, {"term_months": 6}, 12),
    ],
)
def test_term_months(definition, record_type, fields, months):
    assert term_months(definition, record_type, fields) == months


@given(lists, st.one_of(st.integers(), st.booleans(), st.none()))
def test_the_term_is_never_longer_than_the_list_allows(list_id, term):
    d = LISTS[list_id]
    record_type = d.evidence[0].record_type if d.evidence else None
    months = term_months(d, record_type, {"term_months": term})
    assert 1 <= months <= d.max_term_months
    own = d.evidence and d.evidence[0].term_field == "term_months"
    if own and isinstance(term, int) and not isinstance(term, bool) and term > 0:
        assert months == min(term, d.max_term_months)
    else:
        assert months == d.term_months


@pytest.mark.parametrize(
    ("listed_on", "months", "ends"),
    [
        (date(2026, 3, 10), 24, date(2028, 3, 10)),
        (date(2026, 3, 10), 1, date(2026, 4, 10)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # clamped to the month's last day
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # a leap February
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),  # over a year's end
        (date(2026, 3, 10), 60, date(2031, 3, 10)),
    ],
)
def test_ends_on(listed_on, months, ends):
    assert ends_on(listed_on, months) == ends
    assert ends_on(listed_on, months) == add_months(listed_on, months)


@given(days, st.integers(1, 600))
def test_an_entry_holds_at_least_a_day(listed_on, months):
    ends = ends_on(listed_on, months)
    assert ends > listed_on
    # never more than a month's worth of days past the start per month
    assert (ends - listed_on).days <= 31 * months


@given(days, st.integers(1, 120), st.integers(1, 120))
def test_a_longer_term_never_ends_sooner(listed_on, a, b):
    short, long = sorted((a, b))
    assert ends_on(listed_on, short) <= ends_on(listed_on, long)


# -- what is shown -------------------------------------------------------------------------

ENDS = date(2028, 3, 10)


@pytest.mark.parametrize(
    ("status", "ends", "today", "shown"),
    [
        ("listed", ENDS, ENDS - timedelta(days=1), "listed"),  # the last day it holds
        ("listed", ENDS, ENDS, "ended"),  # ends_on is the first day it no longer holds
        ("listed", ENDS, ENDS + timedelta(days=400), "ended"),
        ("listed", ENDS, date(2026, 3, 10), "listed"),
        ("listed", None, date(2100, 1, 1), "listed"),
        ("proposed", None, date(2100, 1, 1), "proposed"),
        ("objected", None, date(2100, 1, 1), "objected"),
        ("rejected", None, date(2100, 1, 1), "rejected"),
        ("removed", ENDS, ENDS + timedelta(days=1), "removed"),  # removed stays removed
        ("removed", ENDS, ENDS - timedelta(days=1), "removed"),
        ("ended", ENDS, ENDS - timedelta(days=1), "ended"),  # stored as ended: shown so
    ],
)
def test_shown_status(status, ends, today, shown):
    assert shown_status(status, ends, today) == shown


@given(st.sampled_from(STATES), st.one_of(st.none(), days), days)
def test_only_a_listed_entry_past_its_term_ends(status, ends, today):
    shown = shown_status(status, ends, today)
    past = ends is not None and today >= ends
    if status == "listed":
        assert (shown == "ended") == past
        assert shown in ("listed", "ended")
    else:
        assert shown == status


# -- objection -----------------------------------------------------------------------------

PROPOSED = date(2026, 3, 1)
WINDOW = date(2026, 3, 16)


def test_the_objection_window():
    assert objection_ends_on(DEFAULTERS, PROPOSED) == WINDOW
    assert objection_ends_on(TAX, PROPOSED) == WINDOW
    # no window: the last day is the day of the proposal
    assert objection_ends_on(A_GRADE, PROPOSED) == PROPOSED
    assert objection_ends_on(DEFAULTERS, date(2026, 12, 20)) == date(2027, 1, 4)


@pytest.mark.parametrize(
    ("status", "today", "problem"),
    [
        ("proposed", PROPOSED, None),
        ("proposed", PROPOSED + timedelta(days=7), None),
        ("proposed", WINDOW, None),  # the last day counts
        ("proposed", WINDOW + timedelta(days=1), "the objection window closed on 2026-03-16"),
        ("proposed", WINDOW + timedelta(days=300), "closed"),
        ("objected", PROPOSED, "already objected"),
        ("objected", WINDOW + timedelta(days=1), "already objected"),
        ("listed", PROPOSED, "the entry is listed"),
        ("rejected", PROPOSED, "the entry is rejected"),
        ("removed", PROPOSED, "only while it is proposed"),
        ("ended", PROPOSED, "only while it is proposed"),
    ],
)
def test_objection_problem(status, today, problem):
    found = objection_problem(status, WINDOW, today)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@given(days, days)
def test_an_objection_is_refused_exactly_after_the_window(window_ends, today):
    found = objection_problem("proposed", window_ends, today)
    assert (found is not None) == (today > window_ends)


@given(lists, days, st.integers(0, 400))
def test_the_subject_may_object_until_the_window_closes(list_id, proposed_on, wait):
    d = LISTS[list_id]
    window = objection_ends_on(d, proposed_on)
    assert window >= proposed_on
    today = proposed_on + timedelta(days=wait)
    assert (objection_problem("proposed", window, today) is None) == (wait <= d.objection_days)


# -- decision ------------------------------------------------------------------------------


def decide(status, approve, today, *, proposer="p-bank", decider="p-bureau"):
    return decision_problem(
        status, approve, proposed_by_party=proposer, deciding_party=decider,
        window_ends=WINDOW, today=today,
    )  # fmt: skip


DURING = PROPOSED + timedelta(days=3)
AFTER = WINDOW + timedelta(days=1)


@pytest.mark.parametrize(
    ("status", "approve", "today", "same_party", "problem"),
    [
        # rejection: at any time while pending, by anyone
        ("proposed", False, PROPOSED, False, None),
        ("proposed", False, DURING, True, None),
        ("proposed", False, AFTER, False, None),
        ("objected", False, DURING, False, None),
        ("objected", False, AFTER, True, None),
        # approval: never by the proposer's party
        ("proposed", True, AFTER, True, "the proposer cannot approve its own proposal"),
        ("objected", True, AFTER, True, "the proposer cannot approve"),
        ("objected", True, DURING, True, "the proposer cannot approve"),
        # approval: not while the subject may still object
        ("proposed", True, PROPOSED, False, "the subject may object until 2026-03-16"),
        ("proposed", True, DURING, False, "may object until"),
        ("proposed", True, WINDOW, False, "may object until"),  # the window's last day
        ("proposed", True, AFTER, False, None),
        ("proposed", True, AFTER + timedelta(days=90), False, None),
        # an objection never shortens the window (anyone may lodge one for the subject)
        ("objected", True, DURING, False, "may object until"),
        ("objected", True, WINDOW, False, "may object until"),
        ("objected", True, AFTER, False, None),
        # only a pending entry is decided
        ("listed", True, AFTER, False, "the entry is listed"),
        ("listed", False, AFTER, False, "the entry is listed"),
        ("rejected", True, AFTER, False, "the entry is rejected"),
        ("rejected", False, AFTER, False, "the entry is rejected"),
        ("removed", False, AFTER, False, "the entry is removed"),
        ("ended", True, AFTER, False, "the entry is ended"),
    ],
)
def test_decision_problem(status, approve, today, same_party, problem):
    decider = "p-bank" if same_party else "p-bureau"
    found = decide(status, approve, today, decider=decider)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_a_red_list_entry_is_approved_from_the_day_after_its_proposal():
    # objection_days == 0 makes the window's last day the day of the proposal, on which the
    # subject may still object: approval waits until the next day
    window = objection_ends_on(A_GRADE, PROPOSED)
    kwargs = {"proposed_by_party": "p-tax", "deciding_party": "p-bureau", "window_ends": window}
    assert objection_problem("proposed", window, PROPOSED) is None
    assert decision_problem("proposed", True, today=PROPOSED, **kwargs) is not None
    assert decision_problem("proposed", True, today=PROPOSED + timedelta(days=1), **kwargs) is None


@given(days, days, st.sampled_from(PENDING), st.booleans(), st.booleans())
def test_when_a_pending_entry_may_be_decided(window_ends, today, status, approve, same_party):
    found = decision_problem(
        status, approve, proposed_by_party="p-a",
        deciding_party="p-a" if same_party else "p-b", window_ends=window_ends, today=today,
    )  # fmt: skip
    if not approve:
        assert found is None
    elif same_party:
        assert found is not None and "proposer" in found
    else:
        assert (found is None) == (today > window_ends)


@given(days, days, st.sampled_from([s for s in STATES if s not in PENDING]), st.booleans())
def test_a_decided_entry_is_not_decided_again(window_ends, today, status, approve):
    found = decision_problem(
        status, approve, proposed_by_party="p-a", deciding_party="p-b",
        window_ends=window_ends, today=today,
    )  # fmt: skip
    assert found is not None and f"the entry is {status}" in found


# -- removal -------------------------------------------------------------------------------

LISTED = date(2026, 4, 1)
TAX_ENDS = ends_on(LISTED, 36)
DEF_ENDS = ends_on(LISTED, 24)
REPAIRABLE = date(2026, 10, 1)  # six months after listing


@pytest.mark.parametrize(
    ("definition", "status", "reason", "today", "problem"),
    [
        (DEFAULTERS, "listed", "satisfied", LISTED, None),
        (DEFAULTERS, "listed", "revoked", LISTED + timedelta(days=30), None),
        (DEFAULTERS, "listed", "error", DEF_ENDS - timedelta(days=1), None),
        (TAX, "listed", "satisfied", LISTED, None),
        (TAX, "listed", "error", LISTED, None),
        (A_GRADE, "listed", "revoked", LISTED, None),
        # unknown reasons, and one an operator may not give
        (DEFAULTERS, "listed", "paid", LISTED, "unknown reason 'paid'"),
        (DEFAULTERS, "listed", "", LISTED, "unknown reason"),
        (DEFAULTERS, "listed", "evidence_deleted", LISTED, "unknown reason 'evidence_deleted'"),
        (TAX, "listed", "Satisfied", LISTED, "unknown reason"),
        # only a listed entry
        (DEFAULTERS, "proposed", "error", LISTED, "the entry is proposed"),
        (DEFAULTERS, "objected", "error", LISTED, "the entry is objected"),
        (DEFAULTERS, "rejected", "satisfied", LISTED, "the entry is rejected"),
        (DEFAULTERS, "removed", "satisfied", LISTED, "the entry is removed"),
        (DEFAULTERS, "ended", "satisfied", LISTED, "only a listed entry is removed"),
        # a listed entry past its term has ended by itself
        (DEFAULTERS, "listed", "satisfied", DEF_ENDS, "the entry is ended"),
        (TAX, "listed", "error", TAX_ENDS + timedelta(days=5), "the entry is ended"),
        # credit repair
        (DEFAULTERS, "listed", "repaired", date(2027, 4, 1), "allows no credit repair"),
        (A_GRADE, "listed", "repaired", LISTED, "a_grade_taxpayers allows no credit repair"),
        (TAX, "listed", "repaired", LISTED, "credit repair is possible from 2026-10-01"),
        (TAX, "listed", "repaired", REPAIRABLE - timedelta(days=1), "6 months after listing"),
        (TAX, "listed", "repaired", REPAIRABLE, None),
        (TAX, "listed", "repaired", REPAIRABLE + timedelta(days=200), None),
        (TAX, "listed", "repaired", TAX_ENDS - timedelta(days=1), None),
        (TAX, "listed", "repaired", TAX_ENDS, "the entry is ended"),
    ],
)
def test_removal_problem(definition, status, reason, today, problem):
    ends = DEF_ENDS if definition is DEFAULTERS else ends_on(LISTED, definition.term_months)
    listed_on = LISTED if status in ("listed", "removed", "ended") else None
    found = removal_problem(definition, status, reason, listed_on=listed_on, ends=ends, today=today)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_credit_repair_counts_whole_months_from_the_listing():
    # listed on the 31st: six months later is the last day of a shorter month
    listed_on = date(2026, 8, 31)
    ends = ends_on(listed_on, 36)
    earliest = date(2027, 2, 28)
    kwargs = {"listed_on": listed_on, "ends": ends}
    refused = removal_problem(TAX, "listed", "repaired", today=date(2027, 2, 27), **kwargs)
    assert refused is not None and "2027-02-28" in refused
    assert removal_problem(TAX, "listed", "repaired", today=earliest, **kwargs) is None


@given(days, st.integers(0, 2000), st.sampled_from(OPERATOR_REASONS))
def test_when_a_tax_entry_may_be_removed(listed_on, wait, reason):
    ends = ends_on(listed_on, TAX.term_months)
    today = listed_on + timedelta(days=wait)
    found = removal_problem(TAX, "listed", reason, listed_on=listed_on, ends=ends, today=today)
    if today >= ends:
        assert found is not None and "ended" in found
    elif reason == "repaired":
        assert (found is None) == (today >= add_months(listed_on, TAX.repair_after_months))
    else:
        assert found is None


# -- free text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("The judgment was paid in full on 3 March.", None),
        ("two lines\nand a\ttab", None),
        ("a form's\r\nline ends", None),
        ("x", None),
        ("x" * MAX_TEXT, None),
        ("", "the objection is empty"),
        ("   ", "empty"),
        ("\n\t \r\n", "empty"),
        ("x" * (MAX_TEXT + 1), f"is {MAX_TEXT + 1} characters long; at most {MAX_TEXT}"),
        ("bell\x07", "the objection holds control characters"),
        ("nul\x00byte", "control characters"),
        ("escape \x1b[31m", "control characters"),
        ("delete\x7f", "control characters"),
        ("汉字 and accents: é ü", None),
    ],
)
def test_text_problem(text, problem):
    found = text_problem("the objection", text)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_the_longest_text():
    assert MAX_TEXT == 2000


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r"),
        min_size=1,
        max_size=MAX_TEXT,
    )
)
def test_printable_text_is_taken_unless_blank(text):
    found = text_problem("the note", text)
    assert (found is None) == bool(text.strip())


# -- the entry's end, and whether the file still bears it out -------------------------------

PAID = (
    "court_judgment",
    {"case_number": FINDING["case_number"], "date_satisfied": date(2026, 1, 5)},
)
UNPAID = ("court_judgment", {"case_number": FINDING["case_number"], "date_satisfied": None})
OTHER_CASE_PAID = (
    "court_judgment",
    {"case_number": "(2019) other", "date_satisfied": date(2026, 1, 5)},
)


@pytest.mark.parametrize(
    ("definition", "record_type", "fields", "extra", "expected"),
    [
        # the term runs from the finding's own date, with its own term, not from listing
        (DEFAULTERS, "judgment_default_finding", FINDING, {}, date(2027, 11, 3)),
        (DEFAULTERS, "judgment_default_finding", {**FINDING, "term_months": 99}, {},
         date(2030, 11, 3)),  # capped at 60 months
        # never past the record's own end (its retention)
        (DEFAULTERS, "judgment_default_finding", FINDING,
         {"record_expires_on": date(2026, 6, 1)}, date(2026, 6, 1)),
        (TAX, "administrative_penalty", PENALTY, {}, date(2028, 9, 1)),
        (A_GRADE, None, {}, {"decision_date": date(2025, 12, 20)}, date(2026, 12, 20)),
    ],
)  # fmt: skip
def test_entry_ends_on(definition, record_type, fields, extra, expected):
    assert entry_ends_on(definition, record_type, fields, **extra) == expected


def test_an_entry_without_its_findings_date_has_no_end_and_is_refused():
    with pytest.raises(ValueError, match="finding_date"):
        entry_ends_on(DEFAULTERS, "judgment_default_finding", {**FINDING, "finding_date": None})


@pytest.mark.parametrize(
    ("record_type", "fields", "others", "expected"),
    [
        ("judgment_default_finding", FINDING, [], None),
        ("judgment_default_finding", FINDING, [UNPAID, OTHER_CASE_PAID], None),
        ("judgment_default_finding", FINDING, [PAID], "satisfied"),
        ("judgment_default_finding", {**FINDING, "date_removed": date(2026, 2, 1)}, [],
         "satisfied"),
        # corrected out of the criteria: the record no longer bears the entry out
        ("court_judgment", {"case_number": "x"}, [], "evidence_changed"),
    ],
)  # fmt: skip
def test_standing_problem_for_judgment_defaulters(record_type, fields, others, expected):
    found = standing_problem(DEFAULTERS, record_type, fields, others)
    assert (found[0] if found else None) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (PENALTY, None),
        ({**PENALTY, "severity": "general"}, "evidence_changed"),  # downgraded on appeal
        ({**PENALTY, "violation_category": "labour"}, "evidence_changed"),
    ],
)
def test_standing_problem_for_tax_violators(fields, expected):
    found = standing_problem(TAX, "administrative_penalty", fields, [])
    assert (found[0] if found else None) == expected
    if found:
        assert found[1]  # with the words that say why


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(1, 120))
def test_an_entry_never_outlives_its_findings_own_term(finding_date, months):
    fields = {**FINDING, "finding_date": finding_date, "term_months": months}
    ends = entry_ends_on(DEFAULTERS, "judgment_default_finding", fields)
    assert finding_date < ends <= ends_on(finding_date, 60)
    assert ends == ends_on(finding_date, min(months, 60))


@pytest.mark.parametrize(
    ("list_id", "kind", "name", "problem"),
    [
        ("judgment_defaulters", "organisation", "Zhao Min", None),
        ("major_tax_violators", "organisation", "Zhao Min", None),
        ("a_grade_taxpayers", "organisation", "Zhao Min", "does not publish"),
        ("judgment_defaulters", "person", "Zhao Min", "only an organisation"),
        ("judgment_defaulters", "organisation", None, "gives no legal representative"),
        ("judgment_defaulters", "organisation", "", "gives no legal representative"),
    ],
)
def test_only_an_organisations_entry_names_a_representative_where_the_law_does(
    list_id, kind, name, problem
):
    from openbureau.lists.rules import LISTS, representative_problem  # noqa: PLC0415

    found = representative_problem(LISTS[list_id], kind, name)
    assert (found is None) if problem is None else (problem in found)


def test_the_newest_profile_gives_the_representative():
    from openbureau.lists.rules import newest_representative  # noqa: PLC0415

    d1, d2 = date(2024, 1, 1), date(2025, 1, 1)
    assert newest_representative([]) is None
    assert newest_representative([(d1, None), (d2, "  ")]) is None
    assert newest_representative([(d1, "Old Name"), (d2, "New Name")]) == "New Name"
    # a newer profile that names nobody does not erase the name an older one gives
    assert newest_representative([(d1, "Old Name"), (d2, None)]) == "Old Name"
    assert newest_representative([(d2, " Padded ")]) == "Padded"


@given(
    st.lists(
        st.tuples(
            st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
            st.one_of(st.none(), st.text(max_size=12)),
        ),
        max_size=8,
    )
)
def test_the_representative_is_a_name_of_the_newest_profile_naming_one(profiles):
    from openbureau.lists.rules import newest_representative  # noqa: PLC0415

    found = newest_representative(profiles)
    named = [(on, n.strip()) for on, n in profiles if n and n.strip()]
    if not named:
        assert found is None
        return
    newest = max(on for on, _ in named)
    assert found in {n for on, n in named if on == newest}
    assert newest_representative(list(reversed(profiles))) == found  # order does not matter
