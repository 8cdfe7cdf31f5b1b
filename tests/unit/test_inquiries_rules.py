"""Pure inquiry rules: purposes, hard or soft, consent validity, the hard-inquiry window."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbureau.inquiries.rules import (
    PURPOSES,
    SECTIONS,
    Consent,
    consent_grant_problem,
    consent_refusal,
    count_hard,
    hard_window,
    is_hard,
    purpose_refusal,
)

#: The published table (docs/access.md): purpose -> (hard, needs consent, who, sections).
EXPECTED = {
    "credit_application": (True, False, {"lender"},
                           {"score", "reasons", "identities", "accounts", "invoices",
                            "public_records"}),
    "account_review": (False, False, {"lender"}, {"score", "reasons", "accounts"}),
    "collection": (False, False, {"lender"}, {"identities", "accounts"}),
    "employment": (False, True, {"employer"}, {"public_records"}),
    "tenancy": (False, True, {"landlord"}, {"score", "reasons", "invoices", "public_records"}),
    "insurance_underwriting": (False, False, {"insurer"}, {"score", "reasons"}),
    "court_order": (False, False, {"authority"}, set(SECTIONS)),
    "own_request": (False, False, {"subject"}, set(SECTIONS)),
}  # fmt: skip


@pytest.mark.parametrize("purpose", sorted(EXPECTED))
def test_the_purpose_table(purpose):
    p = PURPOSES[purpose]
    assert (p.hard, p.needs_consent, set(p.party_kinds), set(p.sections)) == EXPECTED[purpose]


def test_the_fixed_list_of_purposes():
    assert set(PURPOSES) == set(EXPECTED)


def test_only_a_credit_application_is_hard():
    assert [p for p in PURPOSES if is_hard(p)] == ["credit_application"]


@pytest.mark.parametrize(
    ("purpose", "kind", "problem"),
    [
        ("credit_application", "lender", None),
        (
            "credit_application",
            "landlord",
            "a party of kind landlord may not inquire for credit_application (only: lender)",
        ),
        ("tenancy", "landlord", None),
        ("employment", "lender", "(only: employer)"),
        ("court_order", "authority", None),
        ("court_order", "lender", "(only: authority)"),
        ("own_request", "subject", None),
        ("own_request", "lender", "(only: subject)"),
        ("marketing", "lender", "unknown purpose 'marketing'"),
    ],
)
def test_purpose_refusal(purpose, kind, problem):
    found = purpose_refusal(purpose, kind)
    assert found is None if problem is None else problem in found


ON = date(2026, 3, 1)
REVOKED = datetime(2026, 2, 10, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("consents", "reason"),
    [
        ([Consent("c1", "emp-1", "employment", date(2026, 3, 1))], None),
        ([Consent("c1", "emp-1", "employment", date(2027, 1, 1))], None),
        ([], "employment needs the subject's consent, and emp-1 holds none for it"),
        ([Consent("c1", "emp-2", "employment", date(2027, 1, 1))], "holds none"),
        ([Consent("c1", "emp-1", "tenancy", date(2027, 1, 1))], "holds none"),
        (
            [Consent("c1", "emp-1", "employment", date(2026, 2, 28))],
            "the subject's consent c1 for employment by emp-1 expired on 2026-02-28",
        ),
        (
            [Consent("c1", "emp-1", "employment", date(2027, 1, 1), REVOKED)],
            "the subject revoked consent c1 for employment by emp-1 on 2026-02-10",
        ),
        (  # a fresh consent after a revoked one holds
            [
                Consent("c1", "emp-1", "employment", date(2027, 1, 1), REVOKED),
                Consent("c2", "emp-1", "employment", date(2026, 6, 1)),
            ],
            None,
        ),
    ],
)
def test_consent_refusal(consents, reason):
    found = consent_refusal(consents, "emp-1", "employment", ON)
    assert found is None if reason is None else reason in found


_consents = st.lists(
    st.builds(
        Consent,
        st.sampled_from(["c1", "c2", "c3"]),
        st.sampled_from(["emp-1", "emp-2"]),
        st.sampled_from(["employment", "tenancy"]),
        st.dates(date(2025, 1, 1), date(2027, 12, 31)),
        st.none() | st.just(REVOKED),
    ),
    max_size=6,
)


@given(_consents, st.dates(date(2025, 1, 1), date(2027, 12, 31)))
def test_consent_holds_exactly_when_one_live_matching_consent_covers_the_day(consents, on):
    live = any(
        c.party_id == "emp-1" and c.purpose == "employment" and c.revoked_at is None
        and on <= c.valid_until
        for c in consents
    )  # fmt: skip
    assert (consent_refusal(consents, "emp-1", "employment", on) is None) is live


@given(_consents, st.dates(date(2025, 1, 1), date(2027, 12, 31)))
def test_consent_to_others_never_lets_a_party_in(consents, on):
    others = [c for c in consents if c.party_id != "emp-1"]
    assert consent_refusal(others, "emp-1", "employment", on) is not None


TODAY = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("purpose", "kind", "until", "problem"),
    [
        ("employment", "employer", date(2026, 7, 1), None),
        ("tenancy", "landlord", date(2027, 1, 15), None),
        ("tenancy", "landlord", date(2027, 1, 16), "at most 12 months"),
        ("tenancy", "landlord", date(2026, 1, 14), "in the past"),
        ("credit_application", "lender", date(2026, 7, 1), "does not rest on consent"),
        ("employment", "landlord", date(2026, 7, 1), "(only: employer)"),
    ],
)
def test_consent_grant_problem(purpose, kind, until, problem):
    found = consent_grant_problem(purpose, kind, until, TODAY)
    assert found is None if problem is None else problem in found


def test_hard_window_is_the_twelve_months_up_to_the_date():
    assert hard_window(date(2026, 2, 28)) == (date(2025, 2, 28), date(2026, 2, 28))
    inquiries = [
        (date(2025, 2, 28), True),  # exactly 12 months before: out
        (date(2025, 3, 1), True),
        (date(2026, 2, 28), True),
        (date(2026, 3, 1), True),  # after the date: out
        (date(2025, 6, 1), False),  # soft never counts
    ]
    assert count_hard(inquiries, date(2026, 2, 28)) == 2


@given(st.lists(st.tuples(st.dates(date(2024, 1, 1), date(2027, 1, 1)), st.booleans())),
       st.dates(date(2025, 1, 1), date(2026, 12, 31)))  # fmt: skip
def test_soft_inquiries_never_count(inquiries, as_of):
    hard_only = [(d, h) for d, h in inquiries if h]
    assert count_hard(inquiries, as_of) == count_hard(hard_only, as_of)
    assert count_hard([(d, False) for d, _ in inquiries], as_of) == 0
    later = as_of + timedelta(days=400)
    assert count_hard([(later, True)], as_of) == 0


@pytest.mark.parametrize(
    ("revoked_at", "day"),
    [
        (datetime(2026, 1, 31, 20, 0), "2026-01-31"),  # SQLite: UTC without its zone
        (datetime(2026, 1, 31, 20, 0, tzinfo=UTC), "2026-01-31"),
        # PostgreSQL in a session zone east of UTC: the same instant, the UTC day
        (datetime(2026, 2, 1, 4, 0, tzinfo=timezone(timedelta(hours=8))), "2026-01-31"),
    ],
)
def test_a_revocation_is_dated_by_its_utc_day(revoked_at, day):
    from openbureau.inquiries.rules import Consent, consent_refusal  # noqa: PLC0415

    revoked = Consent("c1", "emp-1", "employment", date(2026, 6, 30), revoked_at)
    reason = consent_refusal([revoked], "emp-1", "employment", date(2026, 2, 2))
    assert reason is not None and reason.endswith(f"on {day}")
