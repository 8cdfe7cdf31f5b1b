"""The lake's serving runs (storage/serving.py) and the report read over them
(reports/reads.py: subject_records): whatever the runs hold, however many there are, and
whatever has been added or changed since, a report reads exactly what the reading of every
record file with the query used before the runs existed gives."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from openbureau.cli import app as cli
from openbureau.reports.reads import subject_records
from openbureau.storage import serving
from openbureau.storage.lake import Lake, record_schema
from openbureau.storage.lookup import read_matching

# The report's query over every record file, as it was before the serving runs: the
# specification the runs are held to.
REFERENCE_SQL = """
WITH recs AS (
    SELECT * EXCLUDE (national_id_token)
    FROM read_parquet($files, union_by_name = true, hive_partitioning = false)
    WHERE reported_on <= $as_of
),
mine AS (
    SELECT DISTINCT furnisher_id, record_id FROM recs
    WHERE identity_key IN (SELECT unnest($keys))
),
latest AS (
    SELECT recs.* FROM recs JOIN mine USING (furnisher_id, record_id)
    QUALIFY row_number() OVER (
        PARTITION BY recs.furnisher_id, recs.record_id
        ORDER BY coalesce(recs.version, 1) DESC, recs.reported_on DESC, recs.batch_id DESC
    ) = 1
)
SELECT * FROM latest
WHERE identity_key IN (SELECT unnest($keys))
ORDER BY reported_on DESC, furnisher_id, record_type, record_id
"""

KEYS = [f"k{i}" for i in range(5)]
DAY0 = date(2024, 1, 31)


def reference(lake: Lake, keys: list[str], as_of: date) -> list[dict]:
    files = [str(p) for p in lake.record_files()]
    if not files:
        return []
    with duckdb.connect() as con:
        cur = con.execute(REFERENCE_SQL, {"files": files, "keys": keys, "as_of": as_of})
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def write_batch(lake: Lake, furnisher: str, batch: str, rows: list[dict]) -> Path:
    """A records file as ingest writes it (the lake's schema), rows given sparsely."""
    schema = record_schema()
    full = [
        {
            **{f.name: None for f in schema},
            "furnisher_id": furnisher,
            "batch_id": batch,
            "row_number": i + 1,
            "record_type": "credit_account",
            "subject_kind": "person",
            "national_id_token": f"tok-{row['identity_key']}",  # never read by a report
            **row,
        }
        for i, row in enumerate(rows)
    ]
    path = lake.batch_path(furnisher, batch)
    lake.write_table_atomic(pa.Table.from_pylist(full, schema=schema), path)
    return path


def row(record_id: str, key: str, version: int | None, day: int, balance: int = 0) -> dict:
    return {
        "record_id": record_id,
        "identity_key": key,
        "version": version,
        "reported_on": DAY0 + timedelta(days=day),
        "balance": balance,
        "currency": "CNY",
    }


def assert_same_as_reference(lake: Lake, as_ofs=None) -> None:
    last = max((r for r in _all_days(lake)), default=DAY0)
    for as_of in as_ofs or [DAY0 - timedelta(days=1), DAY0 + timedelta(days=3), last, date.max]:
        for keys in [[k] for k in KEYS] + [KEYS[:2], KEYS[1:4], KEYS]:
            got = subject_records(lake, sorted(keys), as_of)
            want = reference(lake, sorted(keys), as_of)
            assert got == want, (keys, as_of)


def _all_days(lake: Lake):
    for f in lake.record_files():
        yield from pq.read_table(f, columns=["reported_on"]).column(0).to_pylist()


@pytest.fixture
def lake(tmp_path):
    return Lake(tmp_path / "lake")


# --- a lake with corrections that move records between identities -------------------------


def seed(lake: Lake) -> None:
    write_batch(lake, "bank-01", "b1", [row("a", "k0", 1, 0, 100), row("b", "k1", 1, 0, 200),
                                        row("c", "k0", None, 1, 300)])  # fmt: skip
    write_batch(lake, "bank-01", "b2", [row("a", "k0", 2, 30, 110),  # a correction
                                        row("b", "k2", 2, 30, 210),  # b moves k1 -> k2
                                        row("d", "k1", 1, 30, 400)])  # fmt: skip
    write_batch(lake, "util-01", "u1", [row("a", "k3", 1, 5, 9)])  # same id, other furnisher


def test_with_one_run_a_report_reads_what_every_file_gives(lake):
    seed(lake)
    summary = serving.compact(lake, workers=1)
    assert (summary.mode, summary.files, summary.runs) == ("incremental", 3, 1)
    # each row once, and b's two versions once more each, under the key it does not carry
    assert summary.rows == 7 + 2
    assert serving.plan(lake).delta == ()
    assert_same_as_reference(lake)
    # b moved to k2: k1's file no longer has it, k2's does, from the day it moved
    assert [r["record_id"] for r in subject_records(lake, ["k1"], date.max)] == ["d"]
    moved = subject_records(lake, ["k2"], date.max)
    assert [(r["record_id"], r["version"], r["balance"]) for r in moved] == [("b", 2, 210)]
    assert "national_id_token" not in moved[0]


def test_files_added_after_a_run_are_read_whole_until_the_next_compaction(lake):
    seed(lake)
    serving.compact(lake, workers=1)
    # d moves from k1 to k4 and b comes back to k1, in files no run covers yet
    write_batch(lake, "bank-01", "b3", [row("d", "k4", 2, 60, 410), row("b", "k1", 3, 60, 220)])
    assert [p.name for p in serving.plan(lake).delta] == ["b3.parquet"]
    assert_same_as_reference(lake)
    summary = serving.compact(lake)
    assert (summary.mode, summary.files, summary.runs) == ("incremental", 1, 2)
    assert serving.plan(lake).delta == ()
    assert_same_as_reference(lake)


def test_a_changed_or_removed_file_stops_the_runs_until_they_are_rebuilt(lake, caplog):
    seed(lake)
    serving.compact(lake)
    # as a purge does: b2 rewritten without a's correction
    path = write_batch(lake, "bank-01", "b2", [row("b", "k2", 2, 30, 210)])
    os.utime(path, ns=(1, 1))  # whatever the clock, size and time differ from the copy's
    with caplog.at_level(logging.WARNING, logger="openbureau.storage.serving"):
        assert serving.plan(lake) is None
    assert "changed since it was copied" in caplog.text
    assert_same_as_reference(lake)  # read from the files meanwhile
    rebuilt = serving.compact(lake, workers=1)
    assert rebuilt.mode == "full" and "changed" in rebuilt.reason and rebuilt.runs == 1
    assert_same_as_reference(lake)
    (lake.records_dir / "furnisher=util-01" / "u1.parquet").unlink()
    assert serving.plan(lake) is None
    assert_same_as_reference(lake)


def test_runs_written_at_once_split_the_furnishers_between_them(lake):
    seed(lake)
    summary = serving.compact(lake, workers=2)
    assert (summary.files, summary.runs, summary.rows) == (3, 2, 9)
    by_run = [
        set(pq.read_table(lake.root / r.path).column("furnisher_id").to_pylist())
        for r in serving.read_manifest(lake)
    ]
    assert sorted(map(sorted, by_run)) == [["bank-01"], ["util-01"]]
    assert_same_as_reference(lake)
    write_batch(lake, "bank-01", "b3", [row("d", "k4", 2, 60, 410), row("b", "k1", 3, 60, 220)])
    write_batch(lake, "util-01", "u2", [row("a", "k0", 2, 61, 10)])
    assert serving.compact(lake, workers=2).runs == 3  # an incremental one adds one run
    assert_same_as_reference(lake)


def test_more_than_max_runs_are_merged_into_one_and_old_runs_removed(lake):
    seed(lake)
    for i in range(serving.MAX_RUNS):
        serving.compact(lake, workers=1)
        write_batch(lake, "bank-01", f"c{i}", [row(f"x{i}", KEYS[i % 5], 1, 40 + i)])
    summary = serving.compact(lake, workers=1)
    assert summary.mode == "full" and summary.runs == 1
    runs = sorted(p.name for p in serving.serving_dir(lake).glob("run-*.parquet"))
    assert len(runs) == 1 and runs[0] == Path(serving.read_manifest(lake)[0].path).name
    assert_same_as_reference(lake)


def test_compacting_twice_changes_nothing_and_an_empty_lake_has_no_runs(lake, caplog):
    assert serving.compact(lake).mode == "none"
    assert serving.plan(lake) is None and subject_records(lake, ["k0"], date.max) == []
    seed(lake)
    serving.compact(lake)
    manifest = serving.manifest_path(lake).read_text()
    assert serving.compact(lake).mode == "none"
    assert serving.manifest_path(lake).read_text() == manifest
    serving.drop(lake)
    with caplog.at_level(logging.WARNING, logger="openbureau.storage.serving"):
        assert serving.plan(lake) is None and not list(serving.serving_dir(lake).iterdir())
    assert "no serving runs: reports read all 3 record files" in caplog.text
    assert_same_as_reference(lake)


def test_a_lost_run_file_is_noticed_and_reports_read_the_files(lake, caplog):
    seed(lake)
    serving.compact(lake)
    next(serving.serving_dir(lake).glob("run-*.parquet")).unlink()
    with caplog.at_level(logging.WARNING, logger="openbureau.storage.serving"):
        assert serving.plan(lake) is None
    assert "missing" in caplog.text
    assert_same_as_reference(lake)


def test_the_cli_compacts_and_prints_what_it_did(tmp_path, monkeypatch):
    home = tmp_path / "home"
    lake = Lake(home / "lake")
    seed(lake)
    monkeypatch.setenv("OPENBUREAU_ENVIRONMENT", "test")
    result = CliRunner().invoke(cli, ["compact", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout[result.stdout.index("{") :])["files"] == 3
    result = CliRunner().invoke(cli, ["compact", "--full", "--home", str(home)])
    out = json.loads(result.stdout[result.stdout.index("{") :])
    assert (out["mode"], out["reason"], out["files"]) == ("full", "asked for", 3)


# --- any lake, any order of compactions ---------------------------------------------------

version_rows = st.lists(
    st.tuples(
        st.sampled_from(["bank-01", "bank-02"]),
        st.sampled_from(["r1", "r2", "r3", "r4"]),
        st.sampled_from(KEYS),
        st.booleans(),  # version missing (counts as 1) when it is the first
        st.integers(0, 90),
        st.integers(0, 3),  # where the row's version ranks among its record's
    ),
    min_size=1,
    max_size=24,
)


@settings(max_examples=30, deadline=None)
@given(
    rows=version_rows,
    cuts=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    compact_after=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_any_lake_reads_the_same_with_runs_as_from_every_file(rows, cuts, compact_after):
    """Rows become versions 1, 2, ... of their record (one row per furnisher, record and
    version, as ingest keys them), in an order drawn too: a later batch may bring a lower
    version, late, under other keys. They are split into batches; after some batches the
    runs are compacted, after others not."""
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(Path(tmp) / "lake")
        ranks: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for i, (furnisher, record, *_, rank) in enumerate(rows):
            ranks.setdefault((furnisher, record), []).append((rank, i))
        version_of = {
            i: n for ranked in ranks.values() for n, (_, i) in enumerate(sorted(ranked), 1)
        }
        drawn = []
        for i, (furnisher, record, key, missing, day, _) in enumerate(rows):
            n = version_of[i]
            version = None if (missing and n == 1) else n
            drawn.append((furnisher, row(record, key, version, day, balance=n)))
        start, batch = 0, 0
        for cut, then_compact in zip(cuts + [len(drawn)], compact_after + [True], strict=False):
            part = drawn[start : start + cut]
            start += cut
            for furnisher in sorted({f for f, _ in part}):
                write_batch(
                    lake, furnisher, f"b{batch:02d}", [r for f, r in part if f == furnisher]
                )
                batch += 1
            if then_compact:
                serving.compact(lake, workers=2)
            assert_same_as_reference(lake, [DAY0 + timedelta(days=45), date.max])
            if start >= len(drawn):
                break


# --- point reads by row-group statistics ---------------------------------------------------


def test_point_reads_touch_only_the_row_groups_that_can_hold_the_values(tmp_path):
    path = tmp_path / "sorted.parquet"
    values = [f"s{i:04d}" for i in range(1000)]
    pq.write_table(pa.table({"k": values, "n": list(range(1000))}), path, row_group_size=100)
    got = read_matching(path, "k", ["s0005", "s0505", "s0999", "zzz"])
    assert got.column("n").to_pylist() == [5, 505, 999]
    assert read_matching(path, "k", []).num_rows == 0
    assert read_matching(path, "k", ["nothing"], ["k"]).schema.names == ["k"]
    # the same values, shuffled: every group may hold anything, and still the right rows
    shuffled = tmp_path / "shuffled.parquet"
    order = sorted(range(1000), key=lambda i: (i * 7919) % 1000)
    pq.write_table(
        pa.table({"k": [values[i] for i in order], "n": order}), shuffled, row_group_size=100
    )
    got = read_matching(shuffled, "k", ["s0005", "s0505"])
    assert sorted(got.column("n").to_pylist()) == [5, 505]
    # a file replaced under the same name is read afresh
    pq.write_table(pa.table({"k": ["s0005"], "n": [-1]}), path)
    assert read_matching(path, "k", ["s0005"]).column("n").to_pylist() == [-1]


def test_many_files_left_out_of_the_runs_are_reported(lake, caplog, monkeypatch):
    monkeypatch.setattr(serving, "DELTA_WARNING_FILES", 1)
    seed(lake)
    serving.compact(lake, workers=1)
    write_batch(lake, "bank-01", "b3", [row("e", "k0", 1, 70)])
    with caplog.at_level(logging.WARNING, logger="openbureau.storage.serving"):
        assert len(serving.plan(lake).delta) == 1
    assert "not in the serving runs" not in caplog.text
    write_batch(lake, "bank-01", "b4", [row("f", "k0", 1, 71)])
    with caplog.at_level(logging.WARNING, logger="openbureau.storage.serving"):
        assert len(serving.plan(lake).delta) == 2
    assert "2 record files are not in the serving runs" in caplog.text
    assert_same_as_reference(lake)


def test_runs_replaced_while_a_report_reads_them_send_it_to_the_files(lake, monkeypatch):
    seed(lake)
    serving.compact(lake, workers=1)
    write_batch(lake, "bank-01", "b3", [row("e", "k0", 1, 70)])  # read whole, with the runs
    real = serving.read_matching

    def then_a_full_compaction(*args, **kwargs):
        out = real(*args, **kwargs)
        serving._plans.clear()  # as another process would, knowing nothing of this one
        serving.compact(lake, full=True, workers=1)
        return out

    monkeypatch.setattr(serving, "read_matching", then_a_full_compaction)
    want = reference(lake, ["k0"], date.max)
    assert subject_records(lake, ["k0"], date.max) == want


def test_dropping_the_runs_leaves_no_copy_behind(lake):
    seed(lake)
    serving.compact(lake, workers=1)
    spill = serving.serving_dir(lake) / ".spill"  # what a compaction killed mid-sort leaves
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"rows")
    serving.drop(lake)
    assert list(serving.serving_dir(lake).iterdir()) == []


def test_an_ingest_stands_when_its_compaction_fails(tmp_path, monkeypatch):
    from test_retention import COLUMNS, _month

    from factories import make_bureau, write_csv
    from openbureau.ingest.service import add_furnisher

    bureau = make_bureau(tmp_path)
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    path = write_csv(tmp_path / "one.csv", [_month("m-2025-03", "2025-03")], COLUMNS)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(serving, "compact", broken)
    home = str(bureau.settings.home)
    result = CliRunner().invoke(
        cli, ["ingest", str(path), "--furnisher", "bank-01", "--home", home]
    )
    assert result.exit_code == 0, result.output
    assert "serving runs not updated (OSError: disk full)" in result.output
    assert len(bureau.lake.record_files()) == 1 and serving.plan(bureau.lake) is None


def test_a_late_older_version_under_new_keys_is_judged_with_the_runs_versions(lake):
    """The run holds d's version 2 under k1; a file not yet compacted brings d's version 1,
    late, under k4. d is k4's only if its latest version is: it is not (version 2 is k1's).
    Only the runs' record index can tell, since nothing of d is filed under k4 in the run."""
    write_batch(lake, "bank-01", "b1", [row("d", "k1", 2, 30, 420)])
    serving.compact(lake, workers=1)
    write_batch(lake, "bank-01", "b2", [row("d", "k4", 1, 40, 410)])
    assert subject_records(lake, ["k4"], date.max) == reference(lake, ["k4"], date.max) == []
    assert [r["balance"] for r in subject_records(lake, ["k1"], date.max)] == [420]
    assert_same_as_reference(lake)


# --- bounded compaction: buckets by key, a memory budget shared by the runs -----------------


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode()).hexdigest()


def _assert_run_sorted(lake: Lake) -> None:
    for run in serving.read_manifest(lake):
        keys = pq.read_table(lake.root / run.path, columns=[serving.CLUSTER_KEY]).column(0)
        assert keys.to_pylist() == sorted(keys.to_pylist()) and len(keys) == run.rows
        index = pq.read_table(serving.index_path(lake.root / run.path))
        records = index.column("record_key").to_pylist()
        assert records == sorted(records)
        assert index.num_rows == len(set(zip(records, index.column(1).to_pylist(), strict=True)))


@pytest.mark.parametrize("bucket_rows", [0, 5, 1_000_000])
def test_a_run_built_from_buckets_is_sorted_and_reads_as_every_file(lake, monkeypatch, bucket_rows):
    """With 0 rows a bucket every key's first three characters name one (as on a lake of
    tens of millions of rows); with a million, one bucket: either way the run is one file in
    key order, its index in record order, and reports read what every file gives."""
    monkeypatch.setattr(serving, "BUCKET_ROWS", bucket_rows)
    seed(lake)
    hexed = [_md5(f"person-{i}") for i in range(40)]
    write_batch(lake, "bank-02", "h1", [row(f"r{i}", hexed[i % 40], 1, i % 20) for i in range(120)])
    write_batch(
        lake, "bank-02", "h2", [row(f"r{i}", hexed[(i + 1) % 40], 2, 25) for i in range(0, 120, 7)]
    )
    serving.compact(lake, workers=2)
    _assert_run_sorted(lake)
    leftovers = [p.name for p in serving.serving_dir(lake).iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert_same_as_reference(lake)
    for key in hexed[::9]:
        for as_of in [DAY0 + timedelta(days=10), date.max]:
            assert subject_records(lake, [key], as_of) == reference(lake, [key], as_of)
    write_batch(
        lake, "bank-02", "h3", [row(f"r{i}", hexed[(i + 3) % 40], 3, 40) for i in range(0, 120, 5)]
    )
    serving.compact(lake, workers=2)  # an incremental run carrying the older versions
    _assert_run_sorted(lake)
    for key in hexed[::5]:
        assert subject_records(lake, [key], date.max) == reference(lake, [key], date.max)


@pytest.mark.parametrize(
    ("rows", "digits"),
    [(0, 0), (2_000_000, 0), (2_000_001, 1), (32_000_000, 1), (32_000_001, 2), (10**12, 3)],
)
def test_bucket_digits_grow_with_the_rows(rows, digits):
    assert serving._bucket_digits(rows) == digits


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12GB", 12 * 10**9), ("1.5 GiB", 3 * 2**29), ("512mb", 512 * 10**6), ("100B", 100),
     ("2TiB", 2 * 2**40), ("64KB", 64_000), ("12G", 12 * 10**9), ("12 gigabytes", 12 * 10**9),
     ("3 MiB", 3 * 2**20), ("1t", 10**12)],
)  # fmt: skip
def test_memory_amounts_are_read_in_duckdbs_units(text, expected):
    assert serving.parse_bytes(text) == expected


@pytest.mark.parametrize(
    "text", ["", "GB", "-1GB", "12 parsecs", "0", "1e3XB", "inf", "nan", "1e400", "0.0000001kb",
             "0%", "120%", "%", "3 mebibytes", "100"]
)  # fmt: skip
def test_a_memory_amount_that_cannot_be_read_is_refused_by_name(text):
    with pytest.raises(ValueError, match="cannot read"):
        serving.parse_bytes(text)


def test_runs_written_at_once_share_one_memory_budget(monkeypatch):
    one = serving.split_budget(1, "8GB")
    two = serving.split_budget(2, "8GB")
    assert (one.memory_bytes, two.memory_bytes) == (8 * 10**9, 4 * 10**9)
    assert two.config()["memory_limit"] == f"{4 * 10**9 // 2**20}MiB"
    assert 1 <= two.threads <= one.threads
    machine = serving.split_budget(2)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert machine.memory_bytes * 2 <= total * serving.MEMORY_SHARE + 2


def test_compaction_keeps_to_the_memory_limit_it_is_given(lake, monkeypatch):
    seen: list[dict] = []
    real = duckdb.connect

    def spy(*args, **kwargs):
        seen.append(kwargs.get("config") or {})
        return real(*args, **kwargs)

    monkeypatch.setattr(serving.duckdb, "connect", spy)
    seed(lake)
    serving.compact(lake, workers=2, memory_limit="2GB")
    limits = [c["memory_limit"] for c in seen if "memory_limit" in c]
    assert limits == [f"{10**9 // 2**20}MiB"] * 2


def test_a_killed_compactions_work_folder_goes_with_the_next_one(lake):
    seed(lake)
    stale = serving.serving_dir(lake) / f"{serving.WORK_PREFIX}20260101T000000-dead00"
    (stale / "rows").mkdir(parents=True)
    (stale / "rows" / "part.parquet").write_bytes(b"rows")
    serving.compact(lake, workers=1)
    assert not stale.exists()
    assert_same_as_reference(lake)


def test_a_report_without_runs_streams_the_files_instead_of_copying_the_lake(lake):
    """The report's query over every file names its rows twice; DuckDB materialises such a
    CTE unless told not to, which on a million-person lake copied every row into memory for
    each report (19.8 GiB, 106 s). The plan must scan, not materialise."""
    from openbureau.reports import reads

    seed(lake)
    files = [str(p) for p in lake.record_files()]
    params = {"files": files, "keys": ["k0"], "as_of": date.max}
    with duckdb.connect() as con:
        plan = "\n".join(
            r[1] for r in con.execute("EXPLAIN " + reads._TOUCHED_SQL, params).fetchall()
        )
        materialised = reads._TOUCHED_SQL.replace(" NOT MATERIALIZED", "")
        before = "\n".join(r[1] for r in con.execute("EXPLAIN " + materialised, params).fetchall())
    assert "CTE" in before  # the check can tell the two apart
    assert "CTE" not in plan and "READ_PARQUET" in plan.upper()
    assert subject_records(lake, ["k0"], date.max) == reference(lake, ["k0"], date.max)


def test_a_share_of_the_machine_is_read_as_duckdb_reads_it():
    assert serving.parse_bytes("80%", machine_bytes=10 * 2**30) == 8 * 2**30
    assert serving.parse_bytes("50 %", machine_bytes=1000) == 500


def test_every_memory_limit_duckdb_takes_is_one_a_compaction_takes(lake):
    """What OPENBUREAU_MEMORY_LIMIT holds is passed to DuckDB as is elsewhere: whatever
    DuckDB accepts, the compaction's budget must accept too."""
    for text in ["12G", "12GB", "12 gigabytes", "1.5GiB", "80%", "512MB", "3 MiB", "100B"]:
        duckdb.connect(config={"memory_limit": text}).close()  # DuckDB takes it
        assert serving.split_budget(2, text).memory_bytes > 0
    seed(lake)
    serving.compact(lake, workers=2, memory_limit="2G")
    assert_same_as_reference(lake)


def test_a_record_whose_versions_carry_a_key_and_none_is_filed_once_under_each(lake, monkeypatch):
    monkeypatch.setattr(serving, "BUCKET_ROWS", 0)
    write_batch(lake, "bank-01", "b1", [row("n", "k0", 1, 0, 1), row("m", "k1", 1, 0, 5)])
    write_batch(lake, "bank-01", "b2", [{**row("n", "k0", 2, 10, 2), "identity_key": None}])
    serving.compact(lake, workers=1)
    run = serving.read_manifest(lake)[0]
    table = pq.read_table(
        lake.root / run.path, columns=[serving.CLUSTER_KEY, "record_id", "version"]
    )
    filed = sorted(
        zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True),
        key=lambda r: (r[0] is None, r),
    )
    # n's two versions under k0 and under no key, m's once; nothing twice; no key last
    assert filed == [("k0", "n", 1), ("k0", "n", 2), ("k1", "m", 1), (None, "n", 1), (None, "n", 2)]
    assert table.column(0).to_pylist()[-2:] == [None, None]


def test_a_failed_compaction_leaves_no_temporary_run_behind(lake, monkeypatch):
    seed(lake)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(serving, "_concat_index", broken)
    with pytest.raises(OSError, match="disk full"):
        serving.compact(lake, workers=1)
    assert [p.name for p in serving.serving_dir(lake).iterdir() if p.name != ".spill"] == []
