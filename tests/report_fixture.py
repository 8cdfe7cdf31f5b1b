"""A small bureau home for report and API tests: lake records (exactly `record_schema()`),
identity links, and ledger rows for furnishers, subjects, a model and scores.

Subjects (on AS_OF = 2025-12-31):
  GOOD       person, two credit accounts over 36+ months (a corrected month, a hardship month,
             a missing month), utility invoices, two address variants
  THIN       person, one card for three months, "not scorable"
  DEFAULTER  person, a judgment (corrected amount), a default finding, a written-off loan
  ORG        organisation, an administrative penalty (and an expired one), tax records
  MERGED     merged into GOOD
  UNSCORED   person with no records and no score
  MARKUP     organisation whose name holds HTML markup, no records
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import insert

from openbureau.bootstrap import build_bureau
from openbureau.catalogue.identifiers import mask, token
from openbureau.catalogue.rules import add_months
from openbureau.config import Settings
from openbureau.storage.lake import IDENTITY_KEY_COLUMNS, LINKS_SCHEMA, record_schema
from openbureau.storage.ledger import batches, furnishers, models, scores, subjects

AS_OF = date(2025, 12, 31)
GOOD, THIN, DEFAULTER, ORG, MERGED, UNSCORED, MARKUP = (f"S00000{i}" for i in range(1, 8))
#: A name with markup in it: pages must show it as text.
MARKUP_NAME = 'Bold <b>Trading</b> & "Sons"'

MODEL = "scorecard-2025.12"
PUBLISHED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

#: Raw national ids: they must never appear in any response (nor their tokens).
RAW_IDS = {
    GOOD: ("CN-RIC", "11010519491231002X"),
    THIN: ("IN-PAN", "BQRPK4821M"),
    DEFAULTER: ("CN-RIC", "110108198003151233"),
    ORG: ("CN-USCC", "91110000600037341L"),
}

FURNISHERS = {
    "bank-north": ("bank", "Northern Commercial Bank"),
    "lender-east": ("lender", "East River Consumer Finance"),
    "utility-city": ("utility", "City Power and Water"),
    "bank-west": ("bank", "Western Coast Bank"),
    "court-riverside": ("court", "Riverside District People's Court"),
    "regulator-market": ("regulator", "Municipal Market Regulation Administration"),
    "tax-city": ("tax_office", "Municipal Tax Bureau"),
    "ssa-city": ("social_security", "Municipal Social Insurance Agency"),
}


@dataclass
class ReportFixture:
    settings: Settings
    tokens: list[str] = field(default_factory=list)


def _identity(subject: str, key: bytes, **values: Any) -> dict[str, Any]:
    scheme, raw = RAW_IDS[subject]
    ident = {
        "national_id_scheme": scheme,
        "national_id_token": token(key, scheme, raw),
        "national_id_masked": mask(scheme, raw),
        **values,
    }
    joined = "|".join(_text(ident.get(c)) for c in IDENTITY_KEY_COLUMNS)
    ident["identity_key"] = hashlib.md5(joined.encode()).hexdigest()
    return ident


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class _Lake:
    """Collects rows per (furnisher, batch) and writes them with the lake's schema."""

    def __init__(self) -> None:
        self.batches: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def add(
        self,
        furnisher: str,
        batch: str,
        ident: dict,
        record_type: str,
        record_id: str,
        reported_on: date,
        version: int = 1,
        **fields: Any,
    ) -> None:
        rows = self.batches.setdefault((furnisher, batch), [])
        rows.append(
            {
                "furnisher_id": furnisher,
                "batch_id": batch,
                "row_number": len(rows) + 1,
                "record_type": record_type,
                "record_id": record_id,
                "reported_on": reported_on,
                "version": version,
                **ident,
                **fields,
            }
        )

    def months(
        self,
        furnisher: str,
        batch: str,
        ident: dict,
        account: dict,
        first: date,
        count: int,
        monthly: dict[date, tuple[int, str]],
    ) -> None:
        """`count` monthly rows of one account from `first`; `monthly` overrides (dpd, status)
        for some months, and (None, "skip") leaves a month unreported."""
        for k in range(count):
            month = add_months(first, k)
            dpd, status = monthly.get(month, (0, "current"))
            if status == "skip":
                continue
            self.add(
                furnisher,
                batch,
                ident,
                "credit_account",
                f"{account['account_id']}-{month:%Y%m}",
                add_months(month, 1).replace(day=5),
                reporting_month=month,
                days_past_due=dpd,
                account_status=status,
                **account,
            )

    def write(self, bureau) -> None:
        schema = record_schema()
        for (furnisher, batch), rows in self.batches.items():
            table = pa.Table.from_pylist(rows, schema=schema)
            bureau.lake.write_table_atomic(table, bureau.lake.batch_path(furnisher, batch))


def build_report_fixture(
    home: Path, ledger_url: str | None = None, **settings_: Any
) -> ReportFixture:
    """The fixture under `home`; the ledger at `ledger_url` (default SQLite in `home`)."""
    settings = Settings(home=home, ledger_url=ledger_url, environment="test", **settings_)
    bureau = build_bureau(settings)
    key = settings.token_key_bytes
    lake = _Lake()
    links: list[tuple[str, str]] = []

    def person(subject: str, furnisher_address: dict, **names: Any) -> dict:
        ident = _identity(subject, key, subject_kind="person", **names, **furnisher_address)
        links.append((ident["identity_key"], subject))
        return ident

    # GOOD: Wang Fang, known to the bank and the utility at two spellings of one address.
    wang = {"given_name": "Fang", "family_name": "Wang", "date_of_birth": date(1949, 12, 31)}
    good_bank = person(
        GOOD,
        {
            "address_line1": "12 Chaoyang Road",
            "city": "Beijing",
            "region": "BJ",
            "postcode": "100020",
            "country": "CN",
        },
        **wang,
    )
    good_util = person(
        GOOD,
        {
            "address_line1": "Flat 3, 12 Chaoyang Rd",
            "city": "Beijing",
            "region": "BJ",
            "postcode": "100020",
            "country": "CN",
        },
        **wang,
    )
    lake.add("bank-north", "b-north-1", good_bank, "profile", "P-1001", date(2021, 6, 15))
    card = {
        "account_id": "CC-1001",
        "account_type": "credit_card",
        "date_opened": date(2021, 6, 15),
        "credit_limit": 5_000_000,
        "balance": 123_456,
        "amount_past_due": 0,
        "currency": "CNY",
    }
    lake.months("bank-north", "b-north-1", good_bank, card, date(2022, 1, 1), 48, {})
    # May 2024 first reported 35 days late, then corrected to 0 in a later batch.
    lake.add(
        "bank-north",
        "b-north-1",
        good_bank,
        "credit_account",
        "CC-1001-202405",
        date(2024, 6, 5),
        reporting_month=date(2024, 5, 1),
        days_past_due=35,
        account_status="delinquent",
        **{**card, "amount_past_due": 99_999},
    )
    lake.batches[("bank-north", "b-north-1")] = [
        r
        for r in lake.batches[("bank-north", "b-north-1")]
        if not (r["record_id"] == "CC-1001-202405" and r["days_past_due"] == 0)
    ]
    lake.add(
        "bank-north",
        "b-north-2",
        good_bank,
        "credit_account",
        "CC-1001-202405",
        date(2024, 6, 20),
        version=2,
        reporting_month=date(2024, 5, 1),
        days_past_due=0,
        account_status="current",
        **card,
    )
    # Reported after AS_OF: not in the report on AS_OF.
    lake.add(
        "bank-north",
        "b-north-3",
        good_bank,
        "credit_account",
        "CC-1001-202601",
        date(2026, 2, 5),
        reporting_month=date(2026, 1, 1),
        days_past_due=0,
        account_status="current",
        **card,
    )
    loan = {
        "account_id": "PL-2001",
        "account_type": "personal_loan",
        "date_opened": date(2022, 9, 1),
        "credit_limit": 10_000_000,
        "balance": 4_200_000,
        "amount_past_due": 0,
        "currency": "CNY",
    }
    lake.months(
        "lender-east",
        "b-east-1",
        good_bank,
        loan,
        date(2022, 9, 1),
        40,
        {
            date(2023, 2, 1): (12, "delinquent"),
            date(2024, 8, 1): (None, "skip"),
            date(2025, 3, 1): (15, "hardship"),
        },
    )
    for k in range(6):
        due = date(2025, 6 + k, 20)
        paid = date(2025, 6 + k, 18) if k != 2 else date(2025, 8, 29)
        lake.add(
            "utility-city",
            "b-util-1",
            good_util,
            "invoice_payment",
            f"E-{k + 1}",
            add_months(due, 0).replace(day=28),
            invoice_kind="electricity",
            due_date=due,
            paid_date=paid,
            amount=15_000 + 100 * k,
            currency="CNY",
        )
    # Sent against the wrong customer, then corrected to the defaulter (see below).
    lake.add(
        "utility-city",
        "b-util-1",
        good_util,
        "invoice_payment",
        "T-77",
        date(2025, 9, 1),
        invoice_kind="telecom",
        due_date=date(2025, 8, 15),
        amount=8_800,
        currency="CNY",
    )

    # THIN: one Indian card, three months.
    thin = person(
        THIN,
        {
            "address_line1": "4 Marine Drive",
            "city": "Mumbai",
            "region": "MH",
            "postcode": "400002",
            "country": "IN",
        },
        given_name="Priya",
        family_name="Kumar",
        date_of_birth=date(1998, 4, 2),
    )
    thin_card = {
        "account_id": "CC-9001",
        "account_type": "credit_card",
        "date_opened": date(2025, 9, 10),
        "credit_limit": 1_200_000,
        "balance": 45_000,
        "amount_past_due": 0,
        "currency": "INR",
    }
    lake.months("bank-west", "b-west-1", thin, thin_card, date(2025, 10, 1), 3, {})

    # DEFAULTER: Li Wei.
    li = {"given_name": "Wei", "family_name": "Li", "date_of_birth": date(1980, 3, 15)}
    li_addr = {
        "address_line1": "88 Zhongguancun Street",
        "city": "Beijing",
        "region": "BJ",
        "postcode": "100080",
        "country": "CN",
    }
    li_bank = person(DEFAULTER, li_addr, **li)
    li_util = person(DEFAULTER, {**li_addr, "address_line1": "88 Zhongguancun St, Apt 5"}, **li)
    bad = {date(2024, 1 + k, 1): (30 * (k + 1), "delinquent") for k in range(5)}
    bad.update({add_months(date(2024, 6, 1), k): (180, "written_off") for k in range(13)})
    li_loan = {
        "account_id": "PL-3001",
        "account_type": "personal_loan",
        "date_opened": date(2021, 1, 10),
        "credit_limit": 20_000_000,
        "balance": 18_250_000,
        "amount_past_due": 18_250_000,
        "currency": "CNY",
    }
    lake.months("bank-north", "b-north-1", li_bank, li_loan, date(2023, 1, 1), 30, bad)
    case = {"court": "Riverside District People's Court", "case_number": "(2024) R0108 Civ 1234"}
    lake.add(
        "court-riverside",
        "b-court-1",
        li_bank,
        "court_judgment",
        "J-1234",
        date(2024, 9, 12),
        judgment_date=date(2024, 9, 10),
        amount=9_000_000,
        currency="CNY",
        **case,
    )
    lake.add(
        "court-riverside",
        "b-court-2",
        li_bank,
        "court_judgment",
        "J-1234",
        date(2024, 9, 20),
        version=2,
        judgment_date=date(2024, 9, 10),
        amount=8_650_000,
        currency="CNY",
        **case,
    )
    lake.add(
        "court-riverside",
        "b-court-2",
        li_bank,
        "judgment_default_finding",
        "D-1234",
        date(2025, 1, 22),
        ground="refuses_with_ability",
        finding_date=date(2025, 1, 20),
        term_months=24,
        **case,
    )
    lake.add(
        "utility-city",
        "b-util-2",
        li_util,
        "invoice_payment",
        "T-77",
        date(2025, 9, 10),
        version=2,
        invoice_kind="telecom",
        due_date=date(2025, 8, 15),
        amount=8_800,
        currency="CNY",
    )

    # ORG: a trading company, a penalty in force, an expired minor one, tax records.
    org = _identity(
        ORG,
        key,
        subject_kind="organisation",
        org_name="Huaxin Trading Co., Ltd.",
        address_line1="5 Jianguo Road",
        city="Beijing",
        region="BJ",
        postcode="100022",
        country="CN",
    )
    links.append((org["identity_key"], ORG))
    lake.add(
        "tax-city",
        "b-tax-1",
        org,
        "profile",
        "ORG-77",
        date(2025, 1, 10),
        legal_representative="Zhao Min",
        public_body=False,
    )
    lake.add(
        "regulator-market",
        "b-reg-1",
        org,
        "administrative_penalty",
        "AP-2025-17",
        date(2025, 4, 10),
        authority="Municipal Market Regulation Administration",
        violation_category="food_safety",
        severity="general",
        penalty_date=date(2025, 4, 8),
        amount=2_000_000,
        currency="CNY",
    )
    lake.add(
        "regulator-market",
        "b-reg-1",
        org,
        "administrative_penalty",
        "AP-2024-03",
        date(2024, 2, 3),
        authority="Municipal Market Regulation Administration",
        violation_category="labour",
        severity="minor",
        penalty_date=date(2024, 2, 1),
        amount=50_000,
        currency="CNY",
    )
    for m in range(1, 7):
        late = m == 3
        lake.add(
            "tax-city",
            "b-tax-1",
            org,
            "tax_compliance",
            f"VAT-2025{m:02d}",
            date(2025, m + 1, 20),
            tax_period=date(2025, m, 1),
            filed_on_time=not late,
            arrears=150_000 if late else 0,
            currency="CNY",
        )
    # social insurance: April paid late, May deferred by agreement (not late), June on time
    for m, on_time, deferred, arrears in [
        (4, False, False, 320_000),
        (5, False, True, 320_000),
        (6, True, None, 0),
    ]:
        lake.add(
            "ssa-city",
            "b-ssa-1",
            org,
            "social_insurance",
            f"SI-2025{m:02d}",
            date(2025, m + 1, 15),
            contribution_month=date(2025, m, 1),
            paid_on_time=on_time,
            deferral_agreed=deferred,
            arrears=arrears,
            currency="CNY",
        )

    lake.write(bureau)
    bureau.lake.write_table_atomic(
        pa.Table.from_pylist(
            [
                {
                    "identity_key": k,
                    "subject_id": s,
                    "match_probability": 1.0,
                    "method": "deterministic",
                }
                for k, s in links
            ],
            schema=LINKS_SCHEMA,
        ),
        bureau.lake.links_path,
    )
    _ledger(bureau)
    bureau.ledger.dispose()  # no idle connection left holding the (PostgreSQL) schema
    toks = sorted({token(key, scheme, raw) for scheme, raw in RAW_IDS.values()})
    return ReportFixture(settings=settings, tokens=toks)


_REASON_PILLARS = {"C": "commercial", "J": "judicial", "G": "government"}


def _score(
    subject: str,
    as_of: date,
    score: int | None,
    pillars: dict[str, float],
    reasons: list[tuple[str, str]],
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "subject_id": subject,
        "as_of": as_of,
        "model_version": MODEL,
        "scorable": score is not None,
        "score": score,
        "not_scorable_reason": reason,
        **{
            f"pillar_{p}": pillars.get(p)
            for p in ("commercial", "judicial", "societal", "government")
        },
        # as the scorer publishes them: biggest loss first
        "reasons": [
            {
                "code": c,
                "feature": c.lower(),
                "pillar": _REASON_PILLARS[c[0]],
                "text": t,
                "points_lost": lost,
            }
            for (c, t), lost in zip(reasons, (41.5, 22.0, 9.5, 3.0), strict=False)
        ],
        "published_at": PUBLISHED,
    }


def _ledger(bureau) -> None:
    now = PUBLISHED
    with bureau.ledger.begin() as conn:
        conn.execute(
            insert(furnishers),
            [
                {"furnisher_id": f, "kind": k, "name": n, "created_at": now}
                for f, (k, n) in FURNISHERS.items()
            ],
        )
        conn.execute(
            insert(subjects),
            [
                {"merged_into": None, **row}
                for row in [
                    {
                        "subject_id": GOOD,
                        "subject_kind": "person",
                        "display_name": "Wang Fang",
                        "national_id_masked": mask(*RAW_IDS[GOOD]),
                        "created_at": now,
                    },
                    {
                        "subject_id": THIN,
                        "subject_kind": "person",
                        "display_name": "Priya Kumar",
                        "national_id_masked": mask(*RAW_IDS[THIN]),
                        "created_at": now,
                    },
                    {
                        "subject_id": DEFAULTER,
                        "subject_kind": "person",
                        "display_name": "Li Wei",
                        "national_id_masked": mask(*RAW_IDS[DEFAULTER]),
                        "created_at": now,
                    },
                    {
                        "subject_id": ORG,
                        "subject_kind": "organisation",
                        "display_name": "Huaxin Trading Co., Ltd.",
                        "national_id_masked": mask(*RAW_IDS[ORG]),
                        "created_at": now,
                    },
                    {
                        "subject_id": MERGED,
                        "subject_kind": "person",
                        "display_name": "Wang F.",
                        "national_id_masked": None,
                        "created_at": now,
                        "merged_into": GOOD,
                    },
                    {
                        "subject_id": UNSCORED,
                        "subject_kind": "person",
                        "display_name": "Chen Jie",
                        "national_id_masked": None,
                        "created_at": now,
                    },
                    {
                        "subject_id": MARKUP,
                        "subject_kind": "organisation",
                        "display_name": MARKUP_NAME,
                        "national_id_masked": None,
                        "created_at": now,
                    },
                ]
            ],
        )
        conn.execute(
            insert(models),
            [
                {
                    "model_version": MODEL,
                    "created_at": now,
                    "train_as_of": date(2024, 12, 31),
                    "validate_as_of": date(2025, 6, 30),
                    "artefact_path": "models/scorecard-2025.12",
                    "metrics": {},
                    "champion": True,
                }
            ],
        )
        conn.execute(
            insert(scores),
            [
                _score(
                    GOOD, date(2025, 6, 30), 768, {"commercial": 76.0}, [("C03", "Older score")]
                ),
                _score(
                    GOOD,
                    AS_OF,
                    781,
                    {"commercial": 82.5},
                    [
                        ("C03", "Your credit history is shorter than 5 years."),
                        ("C07", "Your card balance is high compared with its limit."),
                        ("C09", "One payment was 1 to 29 days late in the last 3 years."),
                        ("C02", "You have few open accounts."),
                    ],
                ),
                _score(
                    THIN,
                    AS_OF,
                    None,
                    {},
                    [],
                    reason="Fewer than 6 months of credit history: not scorable.",
                ),
                _score(
                    DEFAULTER,
                    AS_OF,
                    412,
                    {"commercial": 21.0, "judicial": 8.0},
                    [
                        ("J01", "A court judgment against you is unpaid."),
                        ("J02", "A court found you able to pay a judgment debt and not paying it."),
                        ("C12", "A loan was written off in the last 2 years."),
                        ("C10", "A payment was 120 or more days late in the last 2 years."),
                    ],
                ),
                _score(
                    ORG,
                    AS_OF,
                    655,
                    {"government": 44.0},
                    [
                        ("G04", "An administrative penalty of general severity is in force."),
                        ("G02", "A tax return was filed late in the last 12 months."),
                        ("G07", "Tax arrears were owed in the last 12 months."),
                        ("C01", "No credit accounts are reported."),
                    ],
                ),
            ],
        )


def own_fixture_files(bureau, furnisher_id: str, received_at: datetime) -> None:
    """The fixture writes its record files itself: give one furnisher's the receipts an
    ingest would have stored, so that a batch of that furnisher in a test finds them owned,
    not orphaned."""
    with bureau.ledger.begin() as conn:
        for path in bureau.lake.furnisher_files(furnisher_id):
            conn.execute(
                insert(batches).values(
                    batch_id=path.stem,
                    furnisher_id=furnisher_id,
                    file_name=path.name,
                    file_format="parquet",
                    checksum=path.stem,
                    status="accepted",
                    received_at=received_at,
                    rows_total=1,
                    rows_accepted=1,
                    rows_rejected=0,
                    rows_duplicate=0,
                    rejected_by_rule={},
                    lake_path=str(path),
                )  # fmt: skip
            )
