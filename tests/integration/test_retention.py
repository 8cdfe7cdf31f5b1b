"""Purging records past their retention from the lake: the engine's expiry date is the
report's, only records whose newest version has expired go (every version of them), nothing
anyone is shown changes, the purge is audited before anything is deleted, and it can be
repeated."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select
from typer.testing import CliRunner

from factories import make_bureau, write_csv
from openbureau.audit.service import verify
from openbureau.catalogue.model import RECORD_TYPES
from openbureau.cli import app as cli
from openbureau.features.jobs import build_features
from openbureau.identity import erasure
from openbureau.identity.service import resolve
from openbureau.ingest.service import add_furnisher, ingest_file
from openbureau.inquiries.outbox import list_notices
from openbureau.reports.rules import record_expires_on
from openbureau.reports.service import build_report
from openbureau.retention.rules import expiry_sql
from openbureau.retention.service import purge
from openbureau.storage.lake import read_links, read_records, record_schema
from openbureau.storage.ledger import audit_log, disputes, runs

AS_OF = date(2025, 6, 30)
SEVERITIES = [None, "minor", "general", "serious", "other"]
dates = st.dates(date(1990, 1, 1), date(2040, 12, 31))


CLOCKS = sorted({rt.retention_from for rt in RECORD_TYPES.values() if rt.retention_from})


@settings(max_examples=200, deadline=None)
@given(
    record_type=st.sampled_from(sorted(RECORD_TYPES)),
    reported_on=dates,
    start=st.one_of(st.none(), dates),
    other=dates,
    severity=st.sampled_from(SEVERITIES),
)
def test_the_engines_expiry_is_the_reports(record_type, reported_on, start, other, severity):
    """Every clock column is there, as in the lake; only the type's own may count."""
    clock = RECORD_TYPES[record_type].retention_from
    values = {"reported_on": reported_on, "severity": severity}
    columns = {
        "record_type": pa.array([record_type], pa.string()),
        "reported_on": pa.array([reported_on], pa.date32()),
        "severity": pa.array([severity], pa.string()),
    }
    for c in CLOCKS:
        columns[c] = pa.array([start if c == clock else other], pa.date32())
    if clock:
        values[clock] = start
    with duckdb.connect() as con:
        con.register("r", pa.table(columns))
        (ours,) = con.execute(f"SELECT {expiry_sql()} FROM r").fetchone()
    assert ours == record_expires_on(record_type, values)


# --- a small lake ----------------------------------------------------------------------

COLUMNS = [
    "record_type", "record_id", "reported_on", "version", "subject_kind", "given_name",
    "family_name", "date_of_birth", "national_id_scheme", "national_id", "city", "country",
    "account_id", "account_type", "date_opened", "balance", "days_past_due", "account_status",
    "reporting_month", "currency",
]  # fmt: skip
RIC = "11010519491231002X"


def _month(record_id: str, month: str, *, version: int = 1, dpd: int = 0) -> dict:
    last_day = (date.fromisoformat(f"{month}-01") + timedelta(days=31)).replace(day=1)
    return {
        "record_type": "credit_account", "record_id": record_id,
        "reported_on": (last_day - timedelta(days=1)).isoformat(), "version": str(version),
        "subject_kind": "person", "given_name": "Wei", "family_name": "Zhang",
        "date_of_birth": "1949-12-31", "national_id_scheme": "CN-RIC", "national_id": RIC,
        "city": "Beijing", "country": "CN", "account_id": record_id.rsplit("-", 2)[0],
        "account_type": "personal_loan", "date_opened": "2010-01-05", "balance": "1000",
        "days_past_due": str(dpd), "account_status": "current" if dpd == 0 else "delinquent",
        "reporting_month": month, "currency": "CNY",
    }  # fmt: skip


def _hashes(bureau) -> dict[str, str]:
    return {
        str(p.relative_to(bureau.lake.root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in bureau.lake.record_files()
    }


def _stored(bureau) -> list[dict]:
    files = bureau.lake.record_files()
    rows = pa.concat_tables([pq.read_table(f) for f in files]).to_pylist() if files else []
    return sorted(rows, key=lambda r: (r["record_id"], r["version"]))


@pytest.fixture
def lake(tmp_path):
    bureau = make_bureau(tmp_path)
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    # credit months are kept 84 months from their month: 2018-05 expires on 2025-05-01
    old = [_month("old-2016-03", "2016-03", dpd=90), _month("old-2018-05", "2018-05", dpd=30)]
    for path, records in {
        "old.csv": old,  # every row of this file expires: the file goes
        "mixed.csv": [_month("mix-2017-01", "2017-01"), _month("mix-2024-01", "2024-01")],
        # a correction sent recently of an old month: the newest version decides, and it is
        # old too (both versions go); a month first sent long ago whose newest version is
        # recent stays whole
        "versions.csv": [
            _month("ver-2016-01", "2016-01", version=1),
            _month("ver-2024-02", "2024-02", version=1),
        ],
        "corrections.csv": [
            _month("ver-2016-01", "2016-01", version=2, dpd=30),
            _month("ver-2024-02", "2024-02", version=2, dpd=60),
        ],
        "recent.csv": [_month("new-2025-03", "2025-03")],
        # on the last day before its end a record stays
        "edge.csv": [_month("edge-2018-07", "2018-07")],
    }.items():
        receipt = ingest_file(bureau, write_csv(tmp_path / path, records, COLUMNS), "bank-01")
        assert receipt.rows_accepted == len(records)
    return bureau


def test_a_dry_run_counts_and_changes_nothing(lake):
    before, entries = _hashes(lake), _entries(lake)
    summary = purge(lake, AS_OF, dry_run=True)
    assert summary.records_by_type == {"credit_account": 4}
    assert (summary.records, summary.rows) == (4, 5)
    assert (summary.files_rewritten, summary.files_removed) == (0, 0)
    assert _hashes(lake) == before and _entries(lake) == entries


def test_purge_removes_expired_records_with_all_their_versions_and_keeps_the_rest(lake):
    before = _stored(lake)
    summary = purge(lake, AS_OF)
    assert (summary.records, summary.rows) == (4, 5)
    assert (summary.files_rewritten, summary.files_removed) == (3, 1)
    gone = {"old-2016-03", "old-2018-05", "mix-2017-01", "ver-2016-01"}
    assert _stored(lake) == [r for r in before if r["record_id"] not in gone]
    left = {(r["record_id"], r["version"]) for r in _stored(lake)}
    assert left == {
        ("mix-2024-01", 1), ("ver-2024-02", 1), ("ver-2024-02", 2), ("new-2025-03", 1),
        ("edge-2018-07", 1),
    }  # fmt: skip
    assert len(lake.lake.record_files()) == 5  # the file of only expired rows is gone
    # the stored schema is the lake's own, column for column
    for f in lake.lake.record_files():
        assert (
            pq.read_schema(f).remove_metadata()
            == pq.read_schema(lake.lake.record_files()[0]).remove_metadata()
        )


def test_the_day_a_record_expires_is_the_reports(lake):
    # edge-2018-07 is kept 84 months from 2018-07-01: it may be used until 2025-06-30
    assert record_expires_on("credit_account", {"reporting_month": date(2018, 7, 1)}) == date(
        2025, 7, 1
    )
    assert purge(lake, date(2025, 6, 30), dry_run=True).records == 4
    assert purge(lake, date(2025, 7, 1), dry_run=True).records == 5


def test_the_purge_is_audited_before_files_change_and_a_second_run_finds_nothing(lake):
    summary = purge(lake, AS_OF)
    assert (summary.records, summary.rows) == (4, 5)
    with lake.ledger.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "lake.purged")).one()
        run = conn.execute(select(runs).where(runs.c.stage == "purge")).one()
    payload = json.loads(entry.payload)
    assert payload["records_by_type"] == {"credit_account": 4} and payload["rows"] == 5
    assert payload["as_of"] == "2025-06-30" and len(payload["files"]) == 4
    assert all(f.startswith("records/furnisher=bank-01/") for f in payload["files"])
    assert run.details == payload and entry.purpose == "retention"
    assert verify(lake.ledger).ok
    after, entries = _hashes(lake), _entries(lake)
    again = purge(lake, AS_OF)
    assert (again.records, again.rows, again.files_rewritten) == (0, 0, 0)
    assert _hashes(lake) == after and _entries(lake) == entries  # nothing to record


def test_nothing_anyone_is_shown_changes(lake):
    resolve(lake)
    subject = _only_subject(lake)
    before = build_report(lake, subject, AS_OF).model_dump()
    purge(lake, AS_OF)
    after = build_report(lake, subject, AS_OF).model_dump()
    assert before.pop("expired_records") > 0 and after.pop("expired_records") == 0
    assert after == before


def test_the_command_prints_the_summary(lake):
    home = str(lake.settings.home)
    r = CliRunner().invoke(cli, ["purge", "--as-of", "2025-06-30", "--dry-run", "--home", home])
    assert r.exit_code == 0, r.output
    printed = json.loads(r.stdout[r.stdout.index("{") :])
    assert printed["dry_run"] is True and printed["records"] == 4
    r = CliRunner().invoke(cli, ["purge", "--as-of", "30/06/2025", "--home", home])
    assert r.exit_code == 2 and "is not a date" in r.output


def test_an_empty_lake_has_nothing_to_purge(tmp_path):
    bureau = make_bureau(tmp_path)
    summary = purge(bureau, AS_OF)
    assert (summary.records, summary.rows, summary.files_rewritten) == (0, 0, 0)


def _entries(bureau) -> int:
    with bureau.ledger.connect() as conn:
        return len(conn.execute(select(audit_log.c.seq)).all())


def _only_subject(bureau) -> str:
    from openbureau.storage.ledger import subjects

    with bureau.ledger.connect() as conn:
        (subject,) = conn.execute(select(subjects.c.subject_id)).scalars().all()
    return subject


def test_files_written_before_the_catalogue_grew_are_read_and_purged(lake):
    """A lake file without the columns a later record type added (here social insurance's)
    is read by name beside newer ones, and a purge writes it back with the whole schema."""
    added = ["contribution_month", "deferral_agreed", "paid_on_time"]
    (old,) = [
        f
        for f in lake.lake.record_files()
        if "mix-2017-01" in pq.read_table(f, columns=["record_id"]).column(0).to_pylist()
    ]
    pq.write_table(pq.read_table(old).drop_columns(added), old)
    resolve(lake)
    con = lake.batch_engine()
    records, links = read_records(con, lake.lake), read_links(con, lake.lake)
    features = con.execute(build_features(records, links, AS_OF))
    assert len(features) == 1 and features["record_count"].iloc[0] > 0
    summary = purge(lake, AS_OF)
    assert summary.records == 4 and summary.files_rewritten == 3
    assert pq.read_schema(old).names == record_schema().names
    assert pq.read_table(old).column("record_id").to_pylist() == ["mix-2024-01"]


def test_a_purge_never_looks_past_today(lake):
    before = _hashes(lake)
    with pytest.raises(ValueError, match="is after today"):
        purge(lake, date(2030, 1, 1), today=date(2029, 12, 31))
    assert _hashes(lake) == before
    assert purge(lake, date(2030, 1, 1), dry_run=True, today=date(2029, 12, 31)).records == 5
    home = str(lake.settings.home)
    r = CliRunner().invoke(cli, ["purge", "--as-of", "2999-01-01", "--home", home])
    assert r.exit_code == 2 and "is after today" in r.output
    assert _hashes(lake) == before


def test_no_serving_copy_outlives_a_purged_record(lake):
    from openbureau.storage import serving

    serving.compact(lake.lake)
    copied = pa.concat_tables(
        [pq.read_table(p) for p in serving.serving_dir(lake.lake).glob("run-*.parquet")]
    )
    assert "old-2016-03" in copied.column("record_id").to_pylist()
    summary = purge(lake, AS_OF)
    assert summary.serving["mode"] == "full" and summary.serving["runs"] == 1
    runs = list(serving.serving_dir(lake.lake).glob("run-*.parquet"))
    assert len(runs) == 1
    left = set(pq.read_table(runs[0]).column("record_id").to_pylist())
    assert left == {r["record_id"] for r in _stored(lake)}
    assert serving.plan(lake.lake).delta == ()


@pytest.mark.parametrize("later_expired", [True, False])
def test_between_two_rows_of_one_version_the_purge_takes_the_reports_newest(lake, later_expired):
    """Ingest never stores a (record_id, version) twice, but a lake written by hand or by an
    older release may. The purge then decides by the row a report shows (the latest report,
    then the latest batch), not by whichever row comes first."""
    (source,) = [
        f
        for f in lake.lake.record_files()
        if "new-2025-03" in pq.read_table(f, columns=["record_id"]).column(0).to_pylist()
    ]
    table = pq.read_table(source)
    (row,) = table.to_pylist()
    expired, current = date(2016, 1, 1), date(2025, 3, 1)
    earlier = {**row, "reporting_month": current if later_expired else expired}
    later = {
        **row,
        "batch_id": row["batch_id"] + "-later",
        "reported_on": row["reported_on"] + timedelta(days=30),
        "reporting_month": expired if later_expired else current,
    }
    pq.write_table(pa.Table.from_pylist([earlier], schema=table.schema), source)
    pq.write_table(
        pa.Table.from_pylist([later], schema=table.schema), source.with_name("zz-later.parquet")
    )
    resolve(lake)
    shown = {r.record_id for r in build_report(lake, _only_subject(lake), AS_OF).records}
    assert ("new-2025-03" in shown) is not later_expired
    summary = purge(lake, AS_OF)
    assert summary.records == (5 if later_expired else 4)
    assert ("new-2025-03" in {r["record_id"] for r in _stored(lake)}) is not later_expired


def _dispute(bureau, record_id: str, outcome: str | None, answered: date | None) -> None:
    at = None if answered is None else datetime.combine(answered, time(12), tzinfo=UTC)
    with bureau.ledger.begin() as conn:
        conn.execute(
            insert(disputes).values(
                dispute_id=f"d{record_id.replace('-', ''):0>24}"[:25],
                subject_id="S1", furnisher_id="bank-01", record_id=record_id,
                record_type="credit_account", reason="not mine",
                opened_at=datetime(2024, 1, 2, tzinfo=UTC), opened_by="test",
                due_on=date(2024, 2, 1), status="open" if outcome is None else "answered",
                outcome=outcome, note=outcome and "checked", answered_at=at,
                answered_by=outcome and "test",
            )
        )  # fmt: skip


def test_purge_removes_what_a_dispute_deleted_and_only_that(lake):
    # deleted on 2025-05-01: its one version (reported 2025-03-31) goes from storage too
    _dispute(lake, "new-2025-03", "unverifiable", date(2025, 5, 1))
    # "deleted" before this version was furnished: a new furnishing, it stays
    _dispute(lake, "mix-2024-01", "unverifiable", date(2024, 1, 15))
    # still open, or verified: they stay
    _dispute(lake, "edge-2018-07", None, None)
    _dispute(lake, "ver-2024-02", "verified", date(2025, 5, 1))
    # expired and deleted both: counted once, among the expired
    _dispute(lake, "old-2016-03", "unverifiable", date(2025, 5, 1))
    before, hashes = _stored(lake), _hashes(lake)
    dry = purge(lake, AS_OF, dry_run=True)
    assert (dry.records, dry.disputed_records, dry.disputed_rows, dry.rows) == (4, 1, 1, 6)
    assert _hashes(lake) == hashes
    # a purge up to a day before the answer leaves it to a later purge
    assert purge(lake, date(2025, 4, 30), dry_run=True).disputed_rows == 0

    summary = purge(lake, AS_OF)
    assert (summary.records, summary.disputed_records, summary.rows) == (4, 1, 6)
    gone = {"old-2016-03", "old-2018-05", "mix-2017-01", "ver-2016-01", "new-2025-03"}
    assert _stored(lake) == [r for r in before if r["record_id"] not in gone]
    with lake.ledger.connect() as conn:
        details = conn.execute(
            select(audit_log.c.payload).where(audit_log.c.action == "lake.purged")
        ).scalar_one()
    assert '"disputed_rows":1' in details.replace(" ", "")
    assert purge(lake, AS_OF).rows == 0  # a second run finds nothing


def test_a_dry_run_counts_identities_without_what_disputes_deleted(tmp_path):
    """What a dry run says the erasure would find: rows per identity key, less the expired
    records and the versions a dispute deleted (reported by the answer's day)."""
    path = tmp_path / "r.parquet"
    pq.write_table(
        pa.table({
            "identity_key": ["k1", "k1", "k2", "k2", "k3"],
            "furnisher_id": ["f", "f", "f", "f", "f"],
            "record_id": ["a", "b", "c", "c", "d"],
            "reported_on": [date(2025, 1, 5), date(2025, 1, 5), date(2025, 1, 5),
                            date(2025, 3, 5), date(2025, 1, 5)],
        }),
        path,
    )  # fmt: skip
    con = duckdb.connect()
    con.execute("CREATE TABLE expired AS SELECT 'f' AS furnisher_id, 'a' AS record_id")
    con.execute(
        "CREATE TABLE withdrawn AS SELECT * FROM (VALUES ('f', 'c', DATE '2025-02-01'), "
        "('f', 'd', DATE '2025-02-01')) t(furnisher_id, record_id, withdrawn_on)"
    )
    counts = erasure.lake_counts(con, [path], without="expired", withdrawn="withdrawn")
    # k1 keeps b; k2 keeps the version of c furnished after the answer; k3 has nothing left
    assert counts.to_dict() == {"k1": 1, "k2": 1}
    assert erasure.lake_counts(con, [path]).to_dict() == {"k1": 2, "k2": 2, "k3": 1}


def test_a_deleted_record_furnished_again_is_shown_and_its_subject_told(lake, tmp_path):
    """FCRA 611(a)(5)(B): a record deleted as unverifiable that the furnisher reports again
    (a version dated after the answer) is reinserted, and the subject is told."""
    _dispute(lake, "new-2025-03", "unverifiable", date(2025, 5, 1))
    _dispute(lake, "mix-2024-01", "unverifiable", date(2025, 5, 1))
    again = _month("new-2025-03", "2025-03", version=2)
    again["reported_on"] = "2025-06-15"  # after the answer: furnished again
    old = _month("mix-2024-01", "2024-01", version=2)  # dated before the answer: still deleted
    other = _month("new-2025-04", "2025-04")
    receipt = ingest_file(
        lake, write_csv(tmp_path / "again.csv", [again, old, other], COLUMNS), "bank-01"
    )
    assert receipt.rows_accepted == 3
    notices = [n for n in list_notices(lake.ledger) if n["kind"] == "dispute"]
    assert [(n["subject_id"], n["body"]["record_id"], n["body"]["status"]) for n in notices] == [
        ("S1", "new-2025-03", "reinserted")
    ]
    assert notices[0]["body"]["reported_on"] == "2025-06-15"
    assert notices[0]["body"]["batch_id"] == receipt.batch_id
    with lake.ledger.connect() as conn:
        actions = conn.execute(
            select(audit_log.c.action, audit_log.c.subject_id).where(
                audit_log.c.action == "dispute.reinserted"
            )
        ).all()
    assert [tuple(a) for a in actions] == [("dispute.reinserted", "S1")]
    assert verify(lake.ledger).ok
    # a batch with nothing deleted in it tells nobody; nor does a later correction of a
    # record already brought back; and a rejected row whose date is no date breaks nothing
    later = _month("new-2025-03", "2025-03", version=3)
    later["reported_on"] = "2025-07-15"
    bad = _month("new-2025-03", "2025-03", version=4)
    bad["reported_on"] = "2025-06-31"
    more = [_month("new-2025-05", "2025-05"), later, bad]
    receipt = ingest_file(lake, write_csv(tmp_path / "more.csv", more, COLUMNS), "bank-01")
    assert (receipt.rows_accepted, receipt.rows_rejected) == (2, 1)
    assert len([n for n in list_notices(lake.ledger) if n["kind"] == "dispute"]) == 1
