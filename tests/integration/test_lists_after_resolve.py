"""The list check after an incremental resolve (lists/service.py `reconcile`, scoped to the
files the resolve noted) through real ingest and resolve runs, on both ledgers: a finding a
court corrects into another person's file takes the entry with it, though the file it left
holds nothing of the new batch."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow.parquet as pq
from sqlalchemy import insert, select

from factories import write_csv
from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.identity.service import resolve
from openbureau.ingest.service import add_furnisher, ingest_file
from openbureau.lists.service import PENDING_FILE, reconcile
from openbureau.storage.ledger import list_entries

COLUMNS = [
    "record_type", "record_id", "reported_on", "version", "subject_kind", "given_name",
    "family_name", "date_of_birth", "national_id_scheme", "national_id", "city", "country",
    "court", "case_number", "ground", "finding_date", "term_months", "date_removed",
]  # fmt: skip
LI = {"given_name": "Na", "family_name": "Li", "date_of_birth": "1980-01-01",
      "national_id": "110105198001010016", "city": "Beijing"}  # fmt: skip
WEI = {"given_name": "Wei", "family_name": "Zhang", "date_of_birth": "1975-11-11",
       "national_id": "110105197511110039", "city": "Beijing"}  # fmt: skip


def _finding(record_id: str, version: int, reported_on: str, who: dict) -> dict:
    return {
        "record_type": "judgment_default_finding", "record_id": record_id,
        "reported_on": reported_on, "version": str(version), "subject_kind": "person",
        "national_id_scheme": "CN-RIC", "country": "CN", "court": "Riverside Court",
        "case_number": f"C-{record_id}", "ground": "refuses_with_ability",
        "finding_date": "2025-01-20", "term_months": "60", "date_removed": "", **who,
    }  # fmt: skip


def _subject_of(bureau, given_name: str) -> str:
    (subject,) = {
        r["subject_id"]
        for r in pq.read_table(bureau.lake.links_path).to_pylist()
        if r["given_name"] == given_name
    }
    return subject


def _status(bureau, entry_id: str) -> tuple:
    with bureau.ledger.connect() as conn:
        row = conn.execute(select(list_entries).where(list_entries.c.entry_id == entry_id)).one()
    return row.status, row.removal_reason


def test_a_finding_corrected_into_another_file_leaves_at_the_next_resolve(
    tmp_path, fresh_ledger_url
):
    bureau = build_bureau(
        Settings(home=tmp_path / "home", environment="test", ledger_url=fresh_ledger_url)
    )
    add_furnisher(bureau, "court-1", "court", "Riverside Court")
    first = [_finding("D-1", 1, "2025-06-01", LI), _finding("D-2", 1, "2025-06-01", WEI)]
    ingest_file(bureau, write_csv(tmp_path / "a.csv", first, COLUMNS), "court-1")
    assert resolve(bureau).mode == "full"
    li = _subject_of(bureau, "Na")
    now = datetime.now(UTC)
    with bureau.ledger.begin() as conn:  # listed through due process (as the API would)
        conn.execute(
            insert(list_entries).values(
                entry_id="e1",
                list_id="judgment_defaulters",
                subject_id=li,
                furnisher_id="court-1",
                record_id="D-1",
                record_type="judgment_default_finding",
                grounds="g",
                salt="00" * 16,
                term_months=60,
                proposed_at=now,
                proposed_by="t",
                proposed_party="ops",
                objection_ends_on=date(2025, 7, 1),
                status="listed",
                decided_at=now,
                decided_by="t",
                listed_on=date(2025, 7, 1),
                ends_on=date(2030, 1, 20),
            )  # fmt: skip
        )
    assert reconcile(bureau, actor="operator-local", now=now) == []  # the entry stands
    # the court corrects D-1: it was never Li's but Wei's, whom the bureau knows
    fix = [_finding("D-1", 2, "2025-07-01", WEI)]
    assert ingest_file(bureau, write_csv(tmp_path / "b.csv", fix, COLUMNS), "court-1").rows_accepted
    assert _status(bureau, "e1") == ("listed", None)  # a batch only ever lifts
    assert resolve(bureau).mode == "incremental"  # Li's file holds nothing of this batch
    assert _status(bureau, "e1") == ("removed", "evidence_changed")
    assert not (bureau.lake.root / PENDING_FILE).exists()


def test_an_entry_proposed_while_a_resolve_publishes_is_checked_after_it(
    tmp_path, fresh_ledger_url, monkeypatch
):
    """A proposal committed after the resolve noted its files, but read against the links
    before the run published, citing a record the run's batch moves out of the file: the
    run notes that file again once it has published, and the check after it takes the
    entry off."""
    from openbureau.identity import publish  # noqa: PLC0415

    bureau = build_bureau(
        Settings(home=tmp_path / "home", environment="test", ledger_url=fresh_ledger_url)
    )
    add_furnisher(bureau, "court-1", "court", "Riverside Court")
    first = [_finding("D-1", 1, "2025-06-01", LI), _finding("D-2", 1, "2025-06-01", WEI)]
    ingest_file(bureau, write_csv(tmp_path / "a.csv", first, COLUMNS), "court-1")
    assert resolve(bureau).mode == "full"
    li = _subject_of(bureau, "Na")
    fix = [_finding("D-1", 2, "2025-07-01", WEI)]  # D-1 was never Li's but Wei's
    assert ingest_file(bureau, write_csv(tmp_path / "b.csv", fix, COLUMNS), "court-1").rows_accepted
    real = publish.publish

    def propose_meanwhile(bureau_, **kwargs):
        # the operator's proposal lands after the run noted its files, before it publishes
        now = datetime.now(UTC)
        with bureau_.ledger.begin() as conn:
            conn.execute(
                insert(list_entries).values(
                    entry_id="e2",
                    list_id="judgment_defaulters",
                    subject_id=li,
                    furnisher_id="court-1",
                    record_id="D-1",
                    record_type="judgment_default_finding",
                    grounds="g",
                    salt="00" * 16,
                    term_months=60,
                    proposed_at=now,
                    proposed_by="t",
                    proposed_party="ops",
                    objection_ends_on=date(2026, 1, 1),
                    status="proposed",
                )  # fmt: skip
            )
        return real(bureau_, **kwargs)

    monkeypatch.setattr(publish, "publish", propose_meanwhile)
    assert resolve(bureau).mode == "incremental"  # Li's file holds nothing of this batch
    assert _status(bureau, "e2") == ("removed", "evidence_changed")
    assert not (bureau.lake.root / PENDING_FILE).exists()
