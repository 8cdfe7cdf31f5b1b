"""Shared test builders: a small hand-built lake (records + links + ledger subjects) in a tmp
bureau home, and a synthetic scored population whose risk drives its delinquencies.

    lake = LakeBuilder()
    lake.subject("S1")
    lake.credit_month("S1", "acc-1", date(2024, 1, 1), days_past_due=30)
    lake.write(bureau)            # parquet with record_schema(), links, ledger subjects
"""

from __future__ import annotations

import csv
import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlalchemy import insert

from openbureau.bootstrap import Bureau, build_bureau
from openbureau.catalogue.rules import add_months
from openbureau.config import Settings
from openbureau.storage.lake import LINKS_SCHEMA, record_schema
from openbureau.storage.ledger import subjects


def write_csv(path: Path, records: list[dict], columns: list[str] | None = None) -> Path:
    """`records` as a furnisher's CSV at `path` (columns: `columns`, else every key in order
    of first appearance; a key a record lacks is an empty cell)."""
    columns = columns or list(dict.fromkeys(k for r in records for k in r))
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)
    return path


def make_bureau(tmp_path) -> Bureau:
    """A bureau whose home is `tmp_path / "home"` (test environment, default key)."""
    return build_bureau(Settings(home=tmp_path / "home", environment="test"))


@dataclass
class _Subject:
    subject_id: str
    kind: str
    keys: list[str]


@dataclass
class LakeBuilder:
    """Rows of any record type for named subjects; `write` puts them in a bureau home.

    Each subject gets `keys` identity variants (identity_key values), all linked to it; a row
    uses variant `key` (default 0). `record_id` defaults to a fresh id; pass the same
    record_id with a higher `version` to correct a record."""

    rows: list[dict] = field(default_factory=list)
    subjects: dict[str, _Subject] = field(default_factory=dict)
    _next_id: int = 0

    def subject(self, subject_id: str, kind: str = "person", keys: int = 1) -> None:
        digest = [hashlib.md5(f"{subject_id}|{i}".encode()).hexdigest() for i in range(keys)]
        self.subjects[subject_id] = _Subject(subject_id, kind, digest)

    def record(
        self,
        subject_id: str,
        record_type: str,
        reported_on: date,
        *,
        furnisher_id: str = "bank-1",
        record_id: str | None = None,
        version: int = 1,
        key: int = 0,
        **values,
    ) -> str:
        if subject_id not in self.subjects:
            self.subject(subject_id)
        subj = self.subjects[subject_id]
        if record_id is None:
            self._next_id += 1
            record_id = f"r{self._next_id}"
        row = {
            "furnisher_id": furnisher_id,
            "batch_id": "b-test",
            "row_number": len(self.rows) + 1,
            "record_type": record_type,
            "record_id": record_id,
            "reported_on": reported_on,
            "version": version,
            "subject_kind": subj.kind,
            "given_name": subject_id,
            "identity_key": subj.keys[key],
            **values,
        }
        self.rows.append(row)
        return record_id

    def credit_month(
        self,
        subject_id: str,
        account_id: str,
        month: date,
        *,
        days_past_due: int = 0,
        status: str | None = None,
        balance: int = 50_000,
        credit_limit: int | None = 100_000,
        account_type: str = "credit_card",
        date_opened: date = date(2018, 1, 15),
        reported_on: date | None = None,
        **kw,
    ) -> str:
        """One monthly report of an account; status defaults from days past due."""
        month = month.replace(day=1)
        if status is None:
            status = "delinquent" if days_past_due > 0 else "current"
        return self.record(
            subject_id,
            "credit_account",
            reported_on or add_months(month, 1).replace(day=5),
            account_id=account_id,
            account_type=account_type,
            date_opened=date_opened,
            credit_limit=credit_limit,
            balance=balance,
            days_past_due=days_past_due,
            account_status=status,
            reporting_month=month,
            currency="CNY",
            **kw,
        )

    def write(self, bureau: Bureau, *, ledger_subjects: bool = True) -> None:
        """Records as one parquet file per furnisher (record_schema), the links file, and
        (unless told not to) every subject in the ledger `subjects` table."""
        schema = record_schema()
        by_furnisher: dict[str, list[dict]] = {}
        for row in self.rows:
            by_furnisher.setdefault(row["furnisher_id"], []).append(row)
        for fid, rows in by_furnisher.items():
            table = pa.Table.from_pylist(rows, schema=schema)
            bureau.lake.write_table_atomic(table, bureau.lake.batch_path(fid, "b-test"))
        links = [
            {
                "identity_key": k,
                "subject_id": s.subject_id,
                "match_probability": 1.0,
                "method": "test",
            }
            for s in self.subjects.values()
            for k in s.keys
        ]
        bureau.lake.write_table_atomic(
            pa.Table.from_pylist(links, schema=LINKS_SCHEMA), bureau.lake.links_path
        )
        if ledger_subjects and self.subjects:
            now = datetime.now(UTC)
            with bureau.ledger.begin() as conn:
                conn.execute(
                    insert(subjects),
                    [
                        {
                            "subject_id": s.subject_id,
                            "subject_kind": s.kind,
                            "display_name": s.subject_id,
                            "created_at": now,
                        }
                        for s in self.subjects.values()
                    ],
                )


def synthetic_population(
    n: int = 400,
    *,
    seed: int = 7,
    first_month: date = date(2019, 1, 1),
    last_month: date = date(2024, 12, 1),
    thin: int = 10,
) -> LakeBuilder:
    """`n` persons with one or two credit cards reported monthly from their opening to
    `last_month`, whose hidden risk drives persistent delinquency (so past lates predict
    future defaults), some invoices, judgments for a few risky ones, and `thin` extra persons
    with one account opened two months before `last_month` (too thin to score)."""
    rng = np.random.default_rng(seed)
    lake = LakeBuilder()
    months_total = (last_month.year - first_month.year) * 12 + last_month.month - first_month.month
    for i in range(n):
        sid = f"P{i:05d}"
        lake.subject(sid)
        risk = float(rng.beta(1.2, 8))
        n_accounts = 1 + int(rng.random() < 0.5)
        for a in range(n_accounts):
            start = int(rng.integers(0, months_total // 2))
            opened = add_months(first_month, start).replace(day=10)
            limit = int(rng.choice([50_000, 100_000, 300_000]))
            dpd = 0
            for m in range(start, months_total + 1):
                month = add_months(first_month, m)
                if dpd > 0:
                    dpd = dpd + 30 if rng.random() < 0.35 + risk else 0
                elif rng.random() < risk * 0.25:
                    dpd = 30
                dpd = min(dpd, 180)
                status = "current" if dpd == 0 else "delinquent"
                if dpd >= 180:
                    status = "written_off"
                util = min(1.0, risk * 2 + rng.random() * 0.3)
                lake.credit_month(
                    sid,
                    f"{sid}-{a}",
                    month,
                    days_past_due=dpd,
                    status=status,
                    balance=int(limit * util),
                    credit_limit=limit,
                    date_opened=opened,
                )
        if rng.random() < 0.5:
            for m in range(months_total - 18, months_total + 1, 3):
                due = add_months(first_month, m).replace(day=20)
                late = rng.random() < risk * 2
                paid = add_months(due, 1) if late else due
                lake.record(
                    sid,
                    "invoice_payment",
                    add_months(due, 1),
                    furnisher_id="util-1",
                    invoice_kind="electricity",
                    due_date=due,
                    paid_date=paid,
                    amount=2_000,
                    currency="CNY",
                )
        if risk > 0.3 and rng.random() < 0.5:
            judged = add_months(first_month, int(rng.integers(6, months_total))).replace(day=3)
            lake.record(
                sid,
                "court_judgment",
                judged,
                furnisher_id="court-1",
                court="Court",
                case_number=f"C{i}",
                judgment_date=judged,
                amount=500_000,
                currency="CNY",
            )
    for j in range(thin):
        sid = f"T{j:05d}"
        month = add_months(last_month, -1)
        lake.credit_month(sid, f"{sid}-0", month, date_opened=add_months(month, -1))
    return lake


def wait_until(condition, timeout: float = 30.0) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass (for background threads;
    generous, since these machines are shared); its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())
