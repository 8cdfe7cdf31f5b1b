"""Features and outcomes on a tiny hand-built lake, with every expected value worked by hand.

as_of = 2024-07-31: last 12 months = reporting months 2023-08..2024-07, 24 = 2022-08..,
36 = 2021-08..; credit retention (84 months) starts after 2017-07-31. A month is reported on
the 5th of the next month unless said otherwise, so July 2024 is not yet known at as_of.
"""

from __future__ import annotations

import math
from datetime import date

import ibis
import pytest

from factories import LakeBuilder, make_bureau
from openbureau.catalogue.rules import add_months
from openbureau.features.jobs import build_features, latest_records, outcomes, without_withdrawn
from openbureau.features.rules import FEATURES, NEVER_DELINQUENT_MONTHS
from openbureau.storage.lake import read_links, read_records

AS_OF = date(2024, 7, 31)


def _months(first: date, last: date):
    m = first
    while m <= last:
        yield m
        m = add_months(m, 1)


def _subject_a(lake: LakeBuilder) -> None:
    """A person with five accounts (two identity variants) and six invoices."""
    lake.subject("A", keys=2)
    late = {date(2024, 3, 1): 30, date(2023, 3, 1): 60, date(2022, 3, 1): 90}
    for m in _months(date(2022, 1, 1), date(2024, 8, 1)):
        if m == date(2024, 5, 1):  # hardship: not a delinquency
            lake.credit_month(
                "A",
                "acc1",
                m,
                days_past_due=90,
                status="hardship",
                date_opened=date(2021, 12, 15),
                record_id="a1-hardship",
            )
        elif m == date(2024, 7, 1):  # reported 2024-08-05: after as_of
            lake.credit_month("A", "acc1", m, days_past_due=120, date_opened=date(2021, 12, 15))
        elif m == date(2024, 6, 1):  # v1 superseded by v2, both known at as_of
            lake.credit_month(
                "A", "acc1", m, balance=90_000, record_id="a1-jun", date_opened=date(2021, 12, 15)
            )
            lake.credit_month(
                "A",
                "acc1",
                m,
                balance=40_000,
                record_id="a1-jun",
                version=2,
                reported_on=date(2024, 7, 20),
                date_opened=date(2021, 12, 15),
            )
        elif m == date(2024, 2, 1):  # v2 reported after as_of: not yet known
            lake.credit_month("A", "acc1", m, record_id="a1-feb", date_opened=date(2021, 12, 15))
            lake.credit_month(
                "A",
                "acc1",
                m,
                days_past_due=150,
                record_id="a1-feb",
                version=2,
                reported_on=date(2024, 9, 1),
                date_opened=date(2021, 12, 15),
            )
        else:
            lake.credit_month(
                "A", "acc1", m, days_past_due=late.get(m, 0), date_opened=date(2021, 12, 15)
            )
    for m in _months(date(2024, 2, 1), date(2024, 6, 1)):
        lake.credit_month(
            "A",
            "acc2",
            m,
            balance=200_000,
            credit_limit=300_000,
            account_type="personal_loan",
            date_opened=date(2024, 2, 10),
            key=1,
        )
    for m in _months(date(2019, 5, 1), date(2023, 12, 1)):
        closed = m == date(2023, 12, 1)
        lake.credit_month(
            "A",
            "acc3",
            m,
            status="closed" if closed else "current",
            balance=0 if closed else 10_000,
            credit_limit=50_000,
            date_opened=date(2019, 5, 1),
        )
    for m in _months(date(2017, 1, 1), date(2017, 5, 1)):  # beyond 84 months: unused
        lake.credit_month(
            "A", "acc4", m, days_past_due=180, status="written_off", date_opened=date(2016, 1, 1)
        )
    for m in (date(2022, 10, 1), date(2022, 11, 1)):
        lake.credit_month(
            "A",
            "acc5",
            m,
            status="settled",
            balance=0,
            account_type="personal_loan",
            date_opened=date(2022, 6, 1),
        )
    invoices = [
        (date(2023, 5, 20), date(2023, 6, 30)),  # late, but before the last 12 months
        (date(2024, 1, 20), date(2024, 1, 25)),  # paid late
        (date(2024, 2, 20), date(2024, 2, 20)),  # on time
        (date(2024, 6, 20), date(2024, 8, 1)),  # paid after as_of: unpaid at as_of
        (date(2024, 7, 20), None),  # unpaid and past due
        (date(2024, 8, 20), None),  # due after as_of
    ]
    for due, paid in invoices:
        lake.record(
            "A",
            "invoice_payment",
            add_months(due, 0).replace(day=21),
            furnisher_id="util-1",
            invoice_kind="electricity",
            due_date=due,
            paid_date=paid,
            amount=1_000,
            currency="CNY",
        )


def _subject_b(lake: LakeBuilder) -> None:
    """An organisation with court, bankruptcy, penalty, tax and social insurance records
    only."""
    lake.subject("B", kind="organisation")

    def court(record_type: str, when: date, **values) -> None:
        lake.record(
            "B", record_type, when, furnisher_id="court-1", court="C", case_number="X", **values
        )

    court(
        "court_judgment",
        date(2022, 1, 10),
        judgment_date=date(2022, 1, 10),
        amount=500_000,
        currency="CNY",
    )
    court(
        "court_judgment",
        date(2023, 1, 10),
        judgment_date=date(2023, 1, 10),
        amount=300_000,
        currency="CNY",
        date_satisfied=date(2023, 6, 1),
    )
    court(
        "court_judgment",
        date(2024, 3, 5),
        judgment_date=date(2024, 3, 1),
        amount=100_000,
        currency="CNY",
        date_satisfied=date(2024, 9, 1),
    )
    court(
        "court_judgment",
        date(2016, 1, 10),
        judgment_date=date(2016, 1, 10),
        amount=900_000,
        currency="CNY",
    )  # beyond retention
    for found, term, removed in [
        (date(2023, 1, 15), 24, None),  # in force
        (date(2022, 1, 15), 12, None),  # term ended 2023-01-15
        (date(2024, 1, 15), 36, date(2024, 5, 1)),  # removed
        (date(2024, 6, 15), 12, date(2024, 10, 1)),  # removed only after as_of
    ]:
        court(
            "judgment_default_finding",
            found,
            ground="refuses_with_ability",
            finding_date=found,
            term_months=term,
            date_removed=removed,
        )
    court("bankruptcy", date(2015, 1, 1), proceeding="liquidation", filed_date=date(2015, 1, 1))
    court("bankruptcy", date(2014, 3, 1), proceeding="liquidation", filed_date=date(2014, 3, 1))
    for severity, when in [
        ("minor", date(2024, 5, 15)),
        ("minor", date(2024, 3, 15)),
        ("general", date(2023, 9, 1)),
        ("general", date(2023, 7, 1)),
        ("serious", date(2021, 9, 1)),
        ("serious", date(2021, 6, 1)),
    ]:
        lake.record(
            "B",
            "administrative_penalty",
            when,
            furnisher_id="reg-1",
            authority="SAMR",
            violation_category="food_safety",
            severity=severity,
            penalty_date=when,
            amount=10_000,
            currency="CNY",
        )
    for period, on_time, arrears, reported in [
        (date(2022, 6, 1), False, 0, date(2022, 7, 15)),
        (date(2023, 6, 1), False, 10_000, date(2023, 7, 15)),
        (date(2024, 6, 1), True, 5_000, date(2024, 7, 15)),
        (date(2024, 7, 1), False, 99_000, date(2024, 8, 15)),  # reported after as_of
    ]:
        lake.record(
            "B",
            "tax_compliance",
            reported,
            furnisher_id="tax-1",
            tax_period=period,
            filed_on_time=on_time,
            arrears=arrears,
            currency="CNY",
        )
    for month, on_time, deferred, arrears in [
        (date(2016, 1, 1), False, None, 80_000),  # beyond retention
        (date(2022, 6, 1), False, False, 1_000),  # outside the 24 months
        (date(2023, 5, 1), False, False, 3_000),  # late
        (date(2023, 11, 1), False, True, 3_000),  # deferred by agreement: not late
        (date(2024, 5, 1), True, None, 7_000),  # the latest month known at as_of
        (date(2024, 7, 1), False, False, 50_000),  # reported after as_of
    ]:
        lake.record(
            "B",
            "social_insurance",
            date(month.year + month.month // 12, month.month % 12 + 1, 15),
            furnisher_id="ssa-1",
            contribution_month=month,
            paid_on_time=on_time,
            deferral_agreed=deferred,
            arrears=arrears,
            currency="CNY",
        )
    # a second tax office and a second agency: what each says is owed adds up; a month two
    # agencies report late is one late month
    lake.record(
        "B",
        "tax_compliance",
        date(2024, 7, 20),
        furnisher_id="tax-2",
        tax_period=date(2024, 6, 1),
        filed_on_time=True,
        arrears=1_000,
        currency="CNY",
    )
    for month, on_time, arrears in [
        (date(2023, 5, 1), False, 500),  # late, the same month ssa-1 reports late
        (date(2024, 4, 1), False, 2_000),  # late, a month of its own; its latest
    ]:
        lake.record(
            "B",
            "social_insurance",
            date(month.year, month.month + 1, 20),
            furnisher_id="ssa-2",
            contribution_month=month,
            paid_on_time=on_time,
            deferral_agreed=False,
            arrears=arrears,
            currency="CNY",
        )


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    lake = LakeBuilder()
    _subject_a(lake)
    _subject_b(lake)
    lake.credit_month("C", "c1", date(2024, 6, 1), date_opened=date(2024, 5, 20))  # thin
    lake.record("D", "profile", date(2024, 1, 1), furnisher_id="util-1")
    lake.credit_month("D", "d1", date(2024, 9, 1))  # only in the future
    lake.subject("E")  # linked, no records
    lake.credit_month("Z", "z1", date(2024, 6, 1), days_past_due=90)
    del lake.subjects["Z"]  # its records stay unlinked
    bureau = make_bureau(tmp_path_factory.mktemp("features"))
    lake.write(bureau)
    con = bureau.batch_engine()
    records, links = read_records(con, bureau.lake), read_links(con, bureau.lake)
    frame = con.execute(build_features(records, links, AS_OF))
    return {row["subject_id"]: row for row in frame.to_dict("records")}


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_one_row_per_subject_with_a_record_known_at_as_of(features):
    assert sorted(features) == ["A", "B", "C", "D"]


def test_every_published_feature_is_built(features):
    for f in FEATURES:
        assert f.name in features["A"], f.name


EXPECTED_A = {
    "subject_kind": "person",
    "worst_dpd_12m": 30,
    "worst_dpd_24m": 60,
    "worst_dpd_36m": 90,
    "late30_count_24m": 2,
    "late60_count_24m": 1,
    "late90_count_24m": 0,
    "months_since_delinquency": 4,
    "utilisation": 0.4,
    "total_balance": 240_000,
    "open_accounts": 2,
    "credit_history_months": 62,
    "accounts_opened_6m": 1,
    "accounts_opened_12m": 1,
    "derogatory_accounts": 1,
    "invoices_12m": 4,
    "late_invoice_share_12m": 0.75,
    "unsatisfied_judgments": 0,
    "active_default_findings": 0,
    "tax_arrears": 0,
    "contribution_late_months_24m": 0,
    "contribution_arrears": 0,
    "n_credit_account": 30 + 5 + 56 + 2,
    "n_invoice_payment": 5,
    "n_commercial": 98,
    "n_judicial": 0,
    "n_government": 0,
    "n_societal": 0,
    "record_count": 98,
    "history_months": 62,
}

EXPECTED_B = {
    "subject_kind": "organisation",
    "worst_dpd_12m": 0,
    "late30_count_24m": 0,
    "months_since_delinquency": NEVER_DELINQUENT_MONTHS,
    "total_balance": 0,
    "open_accounts": 0,
    "derogatory_accounts": 0,
    "invoices_12m": 0,
    "unsatisfied_judgments": 2,
    "unsatisfied_judgment_amount": 600_000,
    "active_default_findings": 2,
    "bankruptcies_10y": 1,
    "penalties_serious": 1,
    "penalties_general": 1,
    "penalties_minor": 1,
    "tax_late_filings_24m": 1,
    "tax_arrears": 5_000 + 1_000,
    "n_court_judgment": 3,
    "n_judgment_default_finding": 4,
    "n_bankruptcy": 1,
    "n_administrative_penalty": 3,
    "n_tax_compliance": 4,
    "contribution_late_months_24m": 2,  # 2023-05 (both agencies) and 2024-04
    "contribution_arrears": 7_000 + 2_000,
    "n_social_insurance": 6,
    "n_commercial": 0,
    "n_judicial": 8,
    "n_government": 7,
    "n_societal": 6,
    "record_count": 21,
    "history_months": (2024 * 12 + 7) - (2015 * 12 + 1),
}


@pytest.mark.parametrize(
    ("subject", "name", "expected"),
    [("A", k, v) for k, v in EXPECTED_A.items()] + [("B", k, v) for k, v in EXPECTED_B.items()],
)
def test_feature_value(features, subject, name, expected):
    value = features[subject][name]
    if isinstance(expected, float):
        assert value == pytest.approx(expected)
    else:
        assert value == expected


@pytest.mark.parametrize("name", ["utilisation", "credit_history_months", "late_invoice_share_12m"])
def test_undefined_features_are_missing_not_zero(features, name):
    assert _is_missing(features["B"][name])


def test_thin_file_has_short_history(features):
    assert features["C"]["history_months"] == 2
    assert features["C"]["record_count"] == 1


def test_identity_only_file_has_no_usable_records(features):
    assert features["D"]["record_count"] == 0
    assert _is_missing(features["D"]["history_months"])


def test_latest_records_keeps_highest_version_known_at_as_of(tmp_path):
    lake = LakeBuilder()
    lake.credit_month("A", "a", date(2024, 1, 1), days_past_due=0, record_id="r1")
    lake.credit_month(
        "A",
        "a",
        date(2024, 1, 1),
        days_past_due=30,
        record_id="r1",
        version=2,
        reported_on=date(2024, 3, 1),
    )
    lake.credit_month(
        "A",
        "a",
        date(2024, 1, 1),
        days_past_due=60,
        record_id="r1",
        version=3,
        reported_on=date(2024, 5, 1),
    )
    bureau = make_bureau(tmp_path)
    lake.write(bureau)
    con = bureau.batch_engine()
    records = read_records(con, bureau.lake)
    dpd = {
        when: con.execute(latest_records(records, when).days_past_due).tolist()
        for when in (date(2024, 2, 10), date(2024, 4, 1), None)
    }
    assert dpd == {date(2024, 2, 10): [0], date(2024, 4, 1): [30], None: [60]}


def test_outcomes_window_hardship_and_corrections(tmp_path):
    lake = LakeBuilder()
    lake.credit_month("O1", "a", date(2024, 3, 1), days_past_due=120, status="hardship")
    lake.credit_month("O2", "a", date(2024, 6, 1), days_past_due=90)
    lake.credit_month("O3", "a", date(2023, 11, 1), days_past_due=120)
    lake.credit_month("O3", "a", date(2024, 2, 1))
    lake.credit_month("O4", "a", date(2025, 1, 1), days_past_due=120)
    lake.credit_month("O4", "a", date(2024, 12, 1))
    lake.credit_month("O5", "a", date(2024, 4, 1), status="written_off")
    lake.record(
        "O6",
        "judgment_default_finding",
        date(2024, 5, 2),
        furnisher_id="court-1",
        court="C",
        case_number="X",
        ground="evades_enforcement",
        finding_date=date(2024, 5, 1),
        term_months=12,
    )
    lake.credit_month("O7", "a", date(2023, 6, 1), days_past_due=120)
    lake.credit_month("O8", "a", date(2024, 5, 1), days_past_due=90, record_id="o8")
    lake.credit_month("O8", "a", date(2024, 5, 1), record_id="o8", version=2)
    bureau = make_bureau(tmp_path)
    lake.write(bureau)
    con = bureau.batch_engine()
    frame = con.execute(
        outcomes(read_records(con, bureau.lake), read_links(con, bureau.lake), date(2023, 12, 31))
    )
    got = dict(zip(frame["subject_id"], frame["bad"].astype(int), strict=True))
    assert got == {"O1": 0, "O2": 1, "O3": 0, "O4": 0, "O5": 1, "O6": 1, "O8": 0}


WITHDRAWN_ON = date(2025, 3, 1)


@pytest.mark.parametrize(
    ("withdrawn", "kept"),
    [
        ([], ["a1:v1", "a1:v2", "a2:v1", "b1:v1"]),
        # every version of a1 reported by the answer goes; a2 and another furnisher's a1 stay
        ([("f1", "a1", WITHDRAWN_ON)], ["a2:v1", "b1:v1"]),
        # a version reported after the answer is a new furnishing: it stays
        ([("f1", "a1", date(2025, 2, 1))], ["a1:v2", "a2:v1", "b1:v1"]),
        # two deleting answers for one record: the later one counts (no row is doubled)
        ([("f1", "a1", date(2025, 1, 1)), ("f1", "a1", WITHDRAWN_ON)], ["a2:v1", "b1:v1"]),
        ([("f9", "a1", WITHDRAWN_ON)], ["a1:v1", "a1:v2", "a2:v1", "b1:v1"]),
    ],
)
def test_without_withdrawn_drops_the_versions_a_dispute_deleted(withdrawn, kept):
    records = ibis.memtable(
        {
            "furnisher_id": ["f1", "f1", "f1", "f2"],
            "record_id": ["a1", "a1", "a2", "a1"],
            "version": [1, 2, 1, 1],
            "tag": ["a1:v1", "a1:v2", "a2:v1", "b1:v1"],
            "reported_on": [
                date(2025, 1, 5),
                date(2025, 2, 20),
                date(2025, 1, 5),
                date(2025, 1, 5),
            ],
        }
    )
    out = without_withdrawn(records, withdrawn)
    assert out.columns == records.columns
    assert sorted(out.execute()["tag"]) == kept
