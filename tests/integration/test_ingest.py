"""Ingest end to end on tiny files: receipts, lake contents, quarantine, ledger, idempotence.

Every bad input asserts its exact error and that nothing already accepted was lost."""

from __future__ import annotations

import csv
import hashlib
import json
import threading
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from factories import write_csv
from openbureau.bootstrap import build_bureau
from openbureau.catalogue.identifiers import token
from openbureau.catalogue.model import COMMON_COLUMNS, IDENTITY_COLUMNS, RECORD_TYPES
from openbureau.catalogue.prohibited import PROHIBITED_CATEGORIES
from openbureau.config import Settings
from openbureau.ingest import formats_doc, nationalids, service
from openbureau.ingest.rules import NOT_A_HEADER, ROW_RULES
from openbureau.ingest.service import (
    FileRejected,
    FurnisherError,
    add_furnisher,
    forget_national_ids,
    ingest_database,
    ingest_file,
)
from openbureau.storage.lake import IDENTITY_KEY_COLUMNS, record_schema
from openbureau.storage.ledger import batches, furnishers

RIC = "11010519491231002X"
RIC_BAD = "110105194912310021"
RIC_OTHER = "110105194912310038"  # valid, another person born the same day
GSTIN = "27AAPFU0939F1ZV"  # a valid India GSTIN
ROOT = Path(__file__).resolve().parents[2]

GOOD = {
    "record_type": "credit_account",
    "record_id": "acc-1-2025-01",
    "reported_on": "2025-01-31",
    "subject_kind": "person",
    "given_name": "Wei",
    "family_name": "Zhang",
    "date_of_birth": "1949-12-31",
    "national_id_scheme": "CN-RIC",
    "national_id": RIC,
    "city": "Beijing",
    "country": "CN",
    "account_id": "acc-1",
    "account_type": "personal_loan",
    "date_opened": "2020-01-05",
    "balance": "100000",
    "days_past_due": "0",
    "account_status": "current",
    "reporting_month": "2025-01",
    "currency": "CNY",
}


def row(**changes) -> dict:
    """GOOD with changes; a change to None drops the column from that row."""
    out = dict(GOOD, **changes)
    return {k: v for k, v in out.items() if v is not None}


def rows(n: int, prefix: str = "acc", **changes) -> list[dict]:
    return [
        row(record_id=f"{prefix}-{i}-2025-01", account_id=f"{prefix}-{i}", **changes)
        for i in range(n)
    ]


def lake_files(bureau) -> dict[str, str]:
    """Every file under the lake, with a hash of its bytes (bar the empty lock files)."""
    root = bureau.lake.root
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix != ".lock"
    }


def batch_rows(bureau, status: str | None = None) -> list[dict]:
    query = select(batches).order_by(batches.c.batch_id)
    if status:
        query = query.where(batches.c.status == status)
    with bureau.ledger.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def lake_records(bureau) -> list[dict]:
    files = bureau.lake.record_files()
    if not files:
        return []
    return pa.concat_tables([pq.read_table(f) for f in files]).sort_by("record_id").to_pylist()


@pytest.fixture
def bank(bureau):
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    return bureau


@pytest.fixture
def seeded(bank, tmp_path):
    """A bank with one accepted batch; yields a check that nothing accepted was lost."""
    ingest_file(bank, write_csv(tmp_path / "first.csv", rows(3)), "bank-01")
    before_files = lake_files(bank)
    before_batches = batch_rows(bank, "accepted")

    def nothing_lost(new_files_allowed: bool = False) -> None:
        after = lake_files(bank)
        for name, digest in before_files.items():
            assert after.get(name) == digest, f"{name} changed or vanished"
        if not new_files_allowed:
            assert after == before_files
        assert batch_rows(bank, "accepted")[: len(before_batches)] == before_batches

    bank.nothing_lost = nothing_lost
    return bank


def rejected(bureau, path: Path, furnisher_id: str = "bank-01") -> FileRejected:
    with pytest.raises(FileRejected) as info:
        ingest_file(bureau, path, furnisher_id)
    return info.value


def quarantine_lines(receipt) -> list[dict]:
    with open(receipt.quarantine_path, newline="") as fh:
        return list(csv.DictReader(fh))


# --- clean files -------------------------------------------------------------------------


def test_a_clean_csv_is_accepted_with_its_receipt_and_typed_records(bank, tmp_path):
    path = write_csv(tmp_path / "accounts.csv", rows(3))
    receipt = ingest_file(bank, path, "bank-01")

    assert receipt.status == "accepted"
    assert receipt.file_format == "csv"
    assert receipt.checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (receipt.rows_total, receipt.rows_accepted, receipt.rows_rejected) == (3, 3, 0)
    assert receipt.rows_duplicate == 0 and receipt.rejected_by_rule == {}
    assert receipt.error is None and receipt.quarantine_path is None
    assert receipt.lake_path == str(bank.lake.batch_path("bank-01", receipt.batch_id))
    assert json.loads(json.dumps(receipt.to_dict()))["batch_id"] == receipt.batch_id

    table = pq.read_table(receipt.lake_path)
    assert table.schema.equals(record_schema())
    first = sorted(table.to_pylist(), key=lambda r: r["row_number"])[0]
    assert first["furnisher_id"] == "bank-01" and first["batch_id"] == receipt.batch_id
    assert first["row_number"] == 1 and first["version"] == 1
    assert first["reported_on"] == date(2025, 1, 31)
    assert first["reporting_month"] == date(2025, 1, 1)
    assert first["balance"] == 100000 and first["days_past_due"] == 0
    assert first["national_id_masked"] == "1101**********002X"
    key = bank.settings.token_key_bytes
    assert first["national_id_token"] == token(key, "CN-RIC", RIC)
    assert "national_id" not in table.column_names

    (stored,) = batch_rows(bank)
    assert stored["status"] == "accepted" and stored["rows_accepted"] == 3
    assert stored["lake_path"] == receipt.lake_path


def test_a_spreadsheet_export_with_bom_and_crlf_is_read_like_any_csv(bank, tmp_path):
    plain = write_csv(tmp_path / "plain.csv", rows(2)).read_bytes()  # csv writes CRLF
    assert b"\r\n" in plain
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + plain)
    receipt = ingest_file(bank, path, "bank-01")
    assert (receipt.rows_accepted, receipt.rows_rejected) == (2, 0)
    assert {r["currency"] for r in lake_records(bank)} == {"CNY"}


def test_identity_key_is_the_md5_of_the_stored_identity_columns(bank, tmp_path):
    receipt = ingest_file(bank, write_csv(tmp_path / "a.csv", rows(1)), "bank-01")
    (record,) = pq.read_table(receipt.lake_path).to_pylist()
    text = "|".join("" if record[c] is None else str(record[c]) for c in IDENTITY_KEY_COLUMNS)
    assert record["identity_key"] == hashlib.md5(text.encode()).hexdigest()


def test_a_clean_jsonl_file_with_typed_json_values_is_accepted(bank, tmp_path):
    path = tmp_path / "accounts.jsonl"
    records = [
        dict(row(record_id=f"j-{i}"), balance=2500 + i, days_past_due=0, version=1)
        for i in range(2)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    receipt = ingest_file(bank, path, "bank-01")
    assert (receipt.status, receipt.file_format, receipt.rows_accepted) == ("accepted", "jsonl", 2)
    assert sorted(r["balance"] for r in lake_records(bank)) == [2500, 2501]


def test_a_clean_parquet_file_with_typed_columns_is_accepted(bank, tmp_path):
    table = pa.table(
        {
            **{k: [v, v] for k, v in GOOD.items() if k not in ("balance", "days_past_due")},
            "record_id": ["p-1", "p-2"],
            "reported_on": pa.array([date(2025, 1, 31)] * 2, pa.date32()),
            "reporting_month": pa.array([date(2025, 1, 1)] * 2, pa.date32()),
            "balance": pa.array([100, 200], pa.int64()),
            "days_past_due": pa.array([0, 30], pa.int32()),
            "version": pa.array([1, 2], pa.int64()),
        }
    )
    path = tmp_path / "accounts.parquet"
    pq.write_table(table, path)
    receipt = ingest_file(bank, path, "bank-01")
    assert (receipt.status, receipt.file_format, receipt.rows_accepted) == (
        "accepted",
        "parquet",
        2,
    )
    records = lake_records(bank)
    assert [r["version"] for r in records] == [1, 2]
    assert {r["reporting_month"] for r in records} == {date(2025, 1, 1)}


def write_file(path: Path, records: list[dict]) -> Path:
    """`records` as a furnisher's file in the format `path`'s extension names."""
    if path.suffix == ".csv":
        return write_csv(path, records)
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        pq.write_table(pa.Table.from_pylist(records), path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_the_raw_national_id_is_never_stored(bank, tmp_path, fmt):
    records = [row(record_id="ok"), row(record_id="bad", national_id=RIC_BAD)]
    receipt = ingest_file(bank, write_file(tmp_path / f"accounts.{fmt}", records), "bank-01")
    assert (receipt.rows_accepted, receipt.rows_rejected) == (1, 1)
    for stored in [*bank.lake.root.rglob("*"), *bank.settings.home.glob("ledger*")]:
        if stored.is_file():
            data = stored.read_bytes()
            assert RIC.encode() not in data and RIC_BAD.encode() not in data, stored


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize(
    ("name", "neighbour"),
    [("accounts*", "accounts-old"), ("jan?", "jan2"), ("accounts[1]", "accounts1")],
)
def test_a_file_name_is_never_a_pattern_for_its_neighbours(bank, tmp_path, fmt, name, neighbour):
    write_file(tmp_path / f"{neighbour}.{fmt}", rows(2, prefix="old"))
    path = write_file(tmp_path / f"{name}.{fmt}", rows(1, prefix="new"))
    receipt = ingest_file(bank, path, "bank-01")
    assert (receipt.rows_total, receipt.rows_accepted) == (1, 1)
    assert [r["record_id"] for r in lake_records(bank)] == ["new-0-2025-01"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_folder_named_like_a_partition_adds_no_column(bank, tmp_path, fmt):
    for folder in ("country=IN", "site=cn"):
        (tmp_path / folder).mkdir()
    without_country = [row(country=None)]
    receipt = ingest_file(
        bank, write_file(tmp_path / "country=IN" / f"a.{fmt}", without_country), "bank-01"
    )
    assert receipt.rows_accepted == 1
    assert [r["country"] for r in lake_records(bank)] == [None]
    other = rows(1, prefix="other")
    receipt = ingest_file(bank, write_file(tmp_path / "site=cn" / f"b.{fmt}", other), "bank-01")
    assert (receipt.status, receipt.rows_accepted) == ("accepted", 1)


def test_an_organisations_gstin_is_kept_as_token_and_mask_only(bank, tmp_path):
    firm = PROFILE | {
        "record_id": "firm-1", "subject_kind": "organisation", "org_name": "Sharma Traders LLP",
        "given_name": None, "family_name": None, "date_of_birth": None,
        "national_id_scheme": "IN-GSTIN", "national_id": GSTIN.lower(), "country": "IN",
    }  # fmt: skip
    receipt = ingest_file(bank, write_csv(tmp_path / "firm.csv", [row(**firm)]), "bank-01")
    assert (receipt.rows_accepted, receipt.rows_rejected) == (1, 0)
    (stored,) = lake_records(bank)
    assert stored["national_id_masked"] == "27**********1ZV"
    assert stored["national_id_token"] == token(
        bank.settings.token_key_bytes, "IN-GSTIN", GSTIN
    )  # the compact, upper-case form is what is tokenised
    for path in bank.lake.root.rglob("*"):
        if path.is_file():
            assert GSTIN.encode() not in path.read_bytes().upper(), path


# --- file-level errors -------------------------------------------------------------------


def test_an_unknown_column_rejects_the_file(seeded, tmp_path):
    path = write_csv(tmp_path / "b.csv", [dict(row(), favourite_colour="blue")])
    error = rejected(seeded, path)
    assert error.receipt.error == "unknown field: favourite_colour"
    assert error.receipt.status == "rejected"
    stored = batch_rows(seeded, "rejected")
    assert [(b["batch_id"], b["error"]) for b in stored] == [
        (error.receipt.batch_id, "unknown field: favourite_colour")
    ]
    seeded.nothing_lost()


def test_a_prohibited_column_rejects_the_file(seeded, tmp_path):
    path = write_csv(tmp_path / "b.csv", [dict(row(), religion="none")])
    error = rejected(seeded, path)
    assert error.receipt.error == "prohibited category: religion (see docs/scope.md)"
    seeded.nothing_lost()


def test_all_header_problems_are_reported_prohibited_first(seeded, tmp_path):
    path = write_csv(tmp_path / "b.csv", [dict(row(), shoe_size="42", gps_latitude="39.9")])
    error = rejected(seeded, path)
    assert error.receipt.error == (
        "prohibited category: location traces (see docs/scope.md); unknown field: shoe_size"
    )
    seeded.nothing_lost()


def test_a_csv_without_a_header_row_is_refused_without_quoting_its_first_row(seeded, tmp_path):
    with_header = write_csv(tmp_path / "whole.csv", rows(2)).read_text()
    path = tmp_path / "noheader.csv"
    path.write_text(with_header.split("\n", 1)[1])
    error = rejected(seeded, path)
    assert error.receipt.error == NOT_A_HEADER
    assert RIC not in json.dumps([dict(r) for r in batch_rows(seeded)], default=str)
    seeded.nothing_lost()


def test_a_key_that_is_data_is_refused_by_its_position_only(seeded, tmp_path):
    path = tmp_path / "keyed.jsonl"
    path.write_text(json.dumps({**row(), RIC: "Wei Zhang"}) + "\n")
    error = rejected(seeded, path)
    position = len(row()) + 1
    assert error.receipt.error == (
        f"unknown field: column {position} (name not shown: it looks like data)"
    )
    seeded.nothing_lost()


def test_a_missing_required_column_rejects_the_file(seeded, tmp_path):
    path = write_csv(tmp_path / "b.csv", [row(reported_on=None)])
    assert rejected(seeded, path).receipt.error == "missing required column: reported_on"
    seeded.nothing_lost()


def test_an_unlicensed_record_type_rejects_the_file(seeded, tmp_path):
    judgment = row(
        record_type="court_judgment",
        record_id="cj-1",
        court="Beijing Court",
        case_number="(2024) 1",
        judgment_date="2024-05-01",
        amount="5000",
        **{k: None for k in ("account_id", "account_type", "date_opened", "balance")},
        **{k: None for k in ("days_past_due", "account_status", "reporting_month")},
    )
    path = write_csv(tmp_path / "b.csv", [row(record_id="x-1"), judgment])
    error = rejected(seeded, path)
    assert (
        error.receipt.error == "furnisher bank-01 (bank) is not licensed to furnish court_judgment"
    )
    assert error.receipt.rows_total == 2
    seeded.nothing_lost()


def test_a_truncated_csv_rejects_the_file(seeded, tmp_path):
    whole = write_csv(tmp_path / "whole.csv", rows(3)).read_text()
    path = tmp_path / "cut.csv"
    path.write_text(whole[: whole.rindex(",2020-01-05")])
    error = rejected(seeded, path)
    assert error.receipt.error.startswith("unreadable csv file (truncated or malformed?): ")
    assert "Expected Number of Columns" in error.receipt.error
    seeded.nothing_lost()


def test_a_csv_with_an_open_quote_rejects_the_file(seeded, tmp_path):
    text = write_csv(tmp_path / "whole.csv", rows(2)).read_text()
    path = tmp_path / "quote.csv"
    path.write_text(text.replace(",Wei,", ',"Wei,', 1))
    error = rejected(seeded, path)
    assert error.receipt.error.startswith("unreadable csv file")
    assert RIC not in error.receipt.error
    seeded.nothing_lost()


def test_a_truncated_parquet_file_rejects_the_file(seeded, tmp_path):
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.Table.from_pylist(rows(50)), whole)
    path = tmp_path / "cut.parquet"
    path.write_bytes(whole.read_bytes()[:-40])
    assert rejected(seeded, path).receipt.error.startswith("unreadable parquet file")
    seeded.nothing_lost()


def test_invalid_json_rejects_the_file(seeded, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(row()) + "\n" + json.dumps(row(record_id="2"))[:-20] + "\n")
    assert rejected(seeded, path).receipt.error.startswith("unreadable jsonl file")
    seeded.nothing_lost()


def test_an_unsupported_format_rejects_the_file(seeded, tmp_path):
    path = tmp_path / "accounts.xlsx"
    path.write_bytes(b"PK\x03\x04")
    error = rejected(seeded, path)
    assert error.receipt.error == (
        "unsupported file format: .xlsx (use one of .csv, .jsonl, .ndjson, .parquet)"
    )
    seeded.nothing_lost()


@pytest.mark.parametrize("content", ["", "record_type,record_id,reported_on,subject_kind\n"])
def test_an_empty_file_rejects_the_file(seeded, tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    assert rejected(seeded, path).receipt.error == "empty file: no data rows"
    seeded.nothing_lost()


def test_an_unknown_furnisher_is_refused_without_a_ledger_row(bank, tmp_path):
    path = write_csv(tmp_path / "a.csv", rows(1))
    error = rejected(bank, path, "nobody")
    assert error.receipt.error == "unknown furnisher: nobody (register it first)"
    assert batch_rows(bank) == [] and lake_files(bank) == {}


# --- row-level errors --------------------------------------------------------------------


def test_a_bad_checksum_quarantines_only_that_row(seeded, tmp_path):
    records = rows(3, prefix="new")
    records[1]["national_id"] = RIC_BAD
    receipt = ingest_file(seeded, write_csv(tmp_path / "b.csv", records), "bank-01")
    assert (receipt.status, receipt.rows_accepted, receipt.rows_rejected) == ("accepted", 2, 1)
    assert receipt.rejected_by_rule == {"national_id": 1}
    assert receipt.quarantine_path == str(seeded.lake.quarantine_dir / f"{receipt.batch_id}.csv")
    assert quarantine_lines(receipt) == [
        {
            "row_number": "2",
            "column": "national_id",
            "rule": "national_id",
            "message": "CN-RIC: The number's checksum or check digit is invalid.",
            "value": "****************21",
        }
    ]
    stored = pq.read_table(receipt.lake_path).column("row_number").to_pylist()
    assert sorted(stored) == [1, 3]
    seeded.nothing_lost(new_files_allowed=True)


def test_a_bad_date_quarantines_only_that_row(seeded, tmp_path):
    records = rows(2, prefix="new")
    records[0]["date_opened"] = "2020-02-30"
    receipt = ingest_file(seeded, write_csv(tmp_path / "b.csv", records), "bank-01")
    assert (receipt.rows_accepted, receipt.rows_rejected, receipt.rejected_by_rule) == (
        1,
        1,
        {"date": 1},
    )
    assert quarantine_lines(receipt) == [
        {
            "row_number": "1",
            "column": "date_opened",
            "rule": "date",
            "message": "not a date (YYYY-MM-DD)",
            "value": "2020-02-30",
        }
    ]
    seeded.nothing_lost(new_files_allowed=True)


PROFILE = {k: None for k in GOOD if k.startswith(("account", "date_opened", "balance"))} | {
    "days_past_due": None,
    "reporting_month": None,
    "currency": None,
    "record_type": "profile",
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"record_id": ""}, {("record_id", "required")}),
        ({"balance": ""}, {("balance", "required")}),
        ({"reported_on": "2025-1-31"}, {("reported_on", "date")}),
        ({"reported_on": "2025/01/31"}, {("reported_on", "date")}),
        ({"reporting_month": "2025-13"}, {("reporting_month", "month")}),
        ({"reporting_month": "2025-01-01"}, {("reporting_month", "month")}),
        ({"balance": "12.50"}, {("balance", "integer")}),
        ({"balance": "-1"}, {("balance", "minimum")}),
        ({"version": "0"}, {("version", "minimum")}),
        ({"version": "v2"}, {("version", "integer")}),
        ({"account_type": "mortgage"}, {("account_type", "code")}),
        ({"record_type": "loan"}, {("record_type", "code")}),
        ({"subject_kind": "company"}, {("subject_kind", "code")}),
        ({"currency": "cny"}, {("currency", "currency")}),
        ({"country": "CHN"}, {("country", "country")}),
        ({"national_id_scheme": None}, {("national_id_scheme", "national_id_scheme")}),
        ({"national_id_scheme": "US-SSN"}, {("national_id_scheme", "code")}),
        ({"national_id_scheme": "IN-PAN"}, {("national_id", "national_id")}),
        ({"given_name": "", "family_name": ""}, {("given_name", "name")}),
        ({"date_of_birth": "2026-01-01"}, {("date_of_birth", "date_of_birth")}),
        ({"court": "Beijing Court"}, {("court", "not_in_record_type")}),
        (
            PROFILE
            | {"public_body": "yes", "subject_kind": "organisation", "org_name": "X"}
            | {"national_id_scheme": "CN-USCC", "national_id": "91110000600037341L"},
            {("public_body", "bool")},
        ),
        (
            PROFILE | {"subject_kind": "organisation", "national_id_scheme": "CN-RIC"},
            {("org_name", "name"), ("national_id_scheme", "national_id_scheme")},
        ),
        (  # a GSTIN names an organisation, not a person
            {"national_id_scheme": "IN-GSTIN", "national_id": GSTIN},
            {("national_id_scheme", "national_id_scheme")},
        ),
        (
            PROFILE
            | {"subject_kind": "organisation", "org_name": "Sharma Traders LLP"}
            | {"national_id_scheme": "IN-GSTIN", "national_id": "27AAPFU0939F1ZA"},
            {("national_id", "national_id")},
        ),
    ],
)
def test_row_rules(bank, tmp_path, changes, expected):
    records = [row(record_id="good"), row(**changes)]
    columns = list(dict.fromkeys([*GOOD, *(k for k, v in changes.items() if v is not None)]))
    path = write_csv(tmp_path / "rows.csv", records, columns)
    receipt = ingest_file(bank, path, "bank-01")
    assert (receipt.rows_accepted, receipt.rows_rejected) == (1, 1)
    lines = quarantine_lines(receipt)
    assert {(line["column"], line["rule"]) for line in lines} == expected
    assert {line["row_number"] for line in lines} == {"2"}


def test_a_batch_with_no_good_row_is_accepted_without_a_records_file(bank, tmp_path):
    receipt = ingest_file(bank, write_csv(tmp_path / "a.csv", rows(2, balance="-5")), "bank-01")
    assert (receipt.status, receipt.rows_accepted, receipt.rows_rejected) == ("accepted", 0, 2)
    assert receipt.lake_path is None and bank.lake.record_files() == []
    assert len(quarantine_lines(receipt)) == 2


# --- idempotence and versions ------------------------------------------------------------


def test_the_same_file_twice_is_already_ingested_and_changes_nothing(seeded, tmp_path):
    path = write_csv(tmp_path / "b.csv", rows(2, prefix="new"))
    first = ingest_file(seeded, path, "bank-01")
    files, ledger = lake_files(seeded), batch_rows(seeded)
    again = ingest_file(seeded, path, "bank-01")
    assert again.status == "already_ingested"
    assert again.batch_id == first.batch_id and again.rows_accepted == first.rows_accepted
    assert lake_files(seeded) == files and batch_rows(seeded) == ledger


def test_a_resent_record_is_not_duplicated(seeded, tmp_path):
    already = rows(3)[1]
    new = row(record_id="acc-new", account_id="acc-new")
    receipt = ingest_file(seeded, write_csv(tmp_path / "b.csv", [already, new]), "bank-01")
    assert (receipt.rows_accepted, receipt.rows_duplicate, receipt.rows_rejected) == (1, 1, 0)
    ids = [r["record_id"] for r in lake_records(seeded)]
    assert ids.count(already["record_id"]) == 1 and "acc-new" in ids
    seeded.nothing_lost(new_files_allowed=True)


def test_a_resent_version_with_other_values_is_a_conflict_not_a_duplicate(seeded, tmp_path):
    first_batch = batch_rows(seeded, "accepted")[0]["batch_id"]
    same, changed, renamed = rows(3)
    changed = dict(changed, balance="5", days_past_due="30")
    renamed = dict(renamed, national_id=RIC_OTHER)
    receipt = ingest_file(
        seeded, write_csv(tmp_path / "b.csv", [same, changed, renamed]), "bank-01"
    )
    assert (receipt.rows_accepted, receipt.rows_duplicate, receipt.rows_rejected) == (0, 1, 2)
    assert receipt.rejected_by_rule == {"version_conflict": 2}
    assert quarantine_lines(receipt) == [
        {
            "row_number": "2",
            "column": "record_id",
            "rule": "version_conflict",
            "message": f"record_id acc-1-2025-01 version 1 is already in the lake (batch "
            f"{first_batch}) with other values in balance, days_past_due; send a change as "
            "a higher version",
            "value": "acc-1-2025-01",
        },
        {
            "row_number": "3",
            "column": "record_id",
            "rule": "version_conflict",
            "message": f"record_id acc-2-2025-01 version 1 is already in the lake (batch "
            f"{first_batch}) with other values in national_id; send a change as a higher "
            "version",
            "value": "acc-2-2025-01",
        },
    ]
    assert [r["balance"] for r in lake_records(seeded)] == [100000] * 3
    seeded.nothing_lost(new_files_allowed=True)


def test_a_resent_record_is_compared_only_on_what_the_new_file_states(seeded, tmp_path):
    # re-reported later, from a file without the city column: nothing stated differs
    later = row(record_id="acc-0-2025-01", account_id="acc-0", reported_on="2025-03-31")
    del later["city"]
    receipt = ingest_file(seeded, write_csv(tmp_path / "b.csv", [later]), "bank-01")
    assert (receipt.rows_accepted, receipt.rows_duplicate, receipt.rows_rejected) == (0, 1, 0)
    # an empty cell in a column the file has is a stated value: an emptied city is a change
    emptied = row(record_id="acc-1-2025-01", account_id="acc-1", city="")
    bad_date = row(record_id="acc-2-2025-01", account_id="acc-2", date_opened="2020-13-45")
    receipt = ingest_file(seeded, write_csv(tmp_path / "c.csv", [emptied, bad_date]), "bank-01")
    assert receipt.rows_accepted == 0 and receipt.rows_rejected == 2
    assert receipt.rejected_by_rule == {"date": 1, "version_conflict": 1}
    lines = {line["row_number"]: line for line in quarantine_lines(receipt)}
    assert lines["1"]["rule"] == "version_conflict"
    assert "other values in city;" in lines["1"]["message"]
    assert lines["2"]["rule"] == "date"  # a row that fails a check is not compared as well
    seeded.nothing_lost(new_files_allowed=True)


def test_a_higher_version_is_accepted_and_kept_beside_the_first(seeded, tmp_path):
    corrected = dict(rows(3)[0], version="2", balance="90000")
    receipt = ingest_file(seeded, write_csv(tmp_path / "b.csv", [corrected]), "bank-01")
    assert (receipt.rows_accepted, receipt.rows_duplicate) == (1, 0)
    versions = [
        (r["version"], r["balance"])
        for r in lake_records(seeded)
        if r["record_id"] == corrected["record_id"]
    ]
    assert sorted(versions) == [(1, 100000), (2, 90000)]
    seeded.nothing_lost(new_files_allowed=True)


def test_repeats_inside_a_file_keep_the_first(bank, tmp_path):
    first = row()
    exact = row()
    conflicting = row(balance="5")
    receipt = ingest_file(
        bank, write_csv(tmp_path / "a.csv", [first, exact, conflicting]), "bank-01"
    )
    assert (receipt.rows_accepted, receipt.rows_duplicate, receipt.rows_rejected) == (1, 1, 1)
    assert quarantine_lines(receipt) == [
        {
            "row_number": "3",
            "column": "record_id",
            "rule": "duplicate_in_file",
            "message": "same record_id and version as row 1, with other values",
            "value": GOOD["record_id"],
        }
    ]
    assert [r["balance"] for r in lake_records(bank)] == [100000]


def _ingest_while_first_commits(bureau, monkeypatch, first: Path, second: Path):
    """Ingest `first`; once its records file is in place but before its receipt is stored,
    start ingesting `second` from another thread and give it a second to pass its checks of
    the lake (orphaned files, the same file accepted before). Returns both receipts."""
    checked = threading.Event()
    found_earlier, store = service._accepted_receipt, service._store
    other: dict = {}

    def accepted_receipt(*args):
        earlier = found_earlier(*args)
        if threading.current_thread().name == "second":
            checked.set()
        return earlier

    def store_once_the_second_has_checked(*args, **kwargs):
        if "thread" not in other:  # the first receipt; the second's is stored at once
            other["thread"] = threading.Thread(
                target=lambda: other.update(receipt=ingest_file(bureau, second, "bank-01")),
                name="second",
            )
            other["thread"].start()
            checked.wait(1)
        store(*args, **kwargs)

    monkeypatch.setattr(service, "_accepted_receipt", accepted_receipt)
    monkeypatch.setattr(service, "_store", store_once_the_second_has_checked)
    receipt = ingest_file(bureau, first, "bank-01")
    other["thread"].join()
    return receipt, other["receipt"]


def test_a_file_sent_while_another_commits_leaves_it_whole(bank, tmp_path, monkeypatch):
    first = write_csv(tmp_path / "jan.csv", rows(3, prefix="jan"))
    second = write_csv(tmp_path / "feb.csv", rows(2, prefix="feb"))
    jan, feb = _ingest_while_first_commits(bank, monkeypatch, first, second)
    assert (jan.status, feb.status) == ("accepted", "accepted")
    assert Path(jan.lake_path).exists() and Path(feb.lake_path).exists()
    assert not (bank.lake.root / "orphaned").exists()
    assert len(lake_records(bank)) == 5


def test_the_same_file_sent_twice_at_once_is_accepted_once(bank, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "jan.csv", rows(3))
    first, again = _ingest_while_first_commits(bank, monkeypatch, path, path)
    assert (first.status, again.status) == ("accepted", "already_ingested")
    assert again.batch_id == first.batch_id
    assert Path(first.lake_path).exists() and not (bank.lake.root / "orphaned").exists()
    assert len(lake_records(bank)) == 3 and len(batch_rows(bank)) == 1


def test_other_values_sent_at_once_for_a_version_are_a_conflict(bank, tmp_path, monkeypatch):
    first = write_csv(tmp_path / "jan.csv", rows(2))
    other = write_csv(tmp_path / "jan-fixed.csv", rows(2, balance="5"))
    jan, fixed = _ingest_while_first_commits(bank, monkeypatch, first, other)
    assert (jan.rows_accepted, fixed.rows_accepted) == (2, 0)
    assert fixed.rejected_by_rule == {"version_conflict": 2}
    assert [r["balance"] for r in lake_records(bank)] == [100000, 100000]


def test_a_furnisher_waits_for_no_other_furnishers_batches(bank, tmp_path):
    add_furnisher(bank, "lender-02", "lender", "Lender Two")
    path = write_csv(tmp_path / "jan.csv", rows(2))
    receipts: list = []
    with bank.lake.furnisher_lock("bank-01"):  # a bank-01 batch under way
        other = threading.Thread(
            target=lambda: receipts.append(ingest_file(bank, path, "lender-02"))
        )
        other.start()
        other.join(30)
        assert [r.status for r in receipts] == ["accepted"]


# --- national ids in worker processes ---------------------------------------------------


@pytest.mark.parametrize("worker_runs", [True, False])
def test_many_new_ids_are_checked_in_workers_with_the_same_outcome(
    bureau, tmp_path, monkeypatch, caplog, worker_runs
):
    forget_national_ids()
    monkeypatch.setattr(nationalids, "POOL_THRESHOLD", 2)
    monkeypatch.setattr(bureau.settings, "threads", 2)
    if not worker_runs:  # a worker that cannot start: the ids are checked in-process
        monkeypatch.setattr(nationalids.sys, "executable", str(tmp_path / "no-python"))
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    ids = [RIC, "110105198005120036", "310101199002280057", RIC_BAD]
    records = [row(record_id=f"r{i}", national_id=n) for i, n in enumerate(ids)]
    receipt = ingest_file(bureau, write_csv(tmp_path / "a.csv", records), "bank-01")
    assert (receipt.rows_accepted, receipt.rejected_by_rule) == (3, {"national_id": 1})
    key = bureau.settings.token_key_bytes
    stored = {r["record_id"]: r["national_id_token"] for r in lake_records(bureau)}
    assert stored == {f"r{i}": token(key, "CN-RIC", n) for i, n in enumerate(ids[:3])}
    assert ("national-id worker failed" in caplog.text) is not worker_runs


def test_ids_an_earlier_batch_checked_are_not_checked_again(bureau, tmp_path, monkeypatch):
    forget_national_ids()
    checked: list[tuple[str, str]] = []
    real = nationalids.check_national_ids

    def counting(pairs):
        checked.extend(pairs)
        return real(pairs)

    monkeypatch.setattr(nationalids, "check_national_ids", counting)
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    first = [row(record_id="a1", national_id=RIC), row(record_id="a2", national_id=RIC_BAD)]
    r1 = ingest_file(bureau, write_csv(tmp_path / "a.csv", first), "bank-01")
    assert sorted(v for _, v in checked) == sorted([RIC, RIC_BAD])
    checked.clear()
    second = [
        row(record_id="b1", national_id=RIC),
        row(record_id="b2", national_id=RIC_BAD),
        row(record_id="b3", national_id=RIC_OTHER),
    ]
    r2 = ingest_file(bureau, write_csv(tmp_path / "b.csv", second), "bank-01")
    assert checked == [("CN-RIC", RIC_OTHER)]  # only the id no batch had
    # a remembered id gives what checking it gives: the same token and mask, the same refusal
    assert r1.rejected_by_rule == r2.rejected_by_rule == {"national_id": 1}
    stored = {r["record_id"]: r for r in lake_records(bureau)}
    key = bureau.settings.token_key_bytes
    assert stored["a1"]["national_id_token"] == stored["b1"]["national_id_token"]
    assert stored["b1"]["national_id_token"] == token(key, "CN-RIC", RIC)
    assert stored["b3"]["national_id_token"] == token(key, "CN-RIC", RIC_OTHER)
    assert stored["a1"]["national_id_masked"] == stored["b1"]["national_id_masked"]
    messages = [line for name in ("a", "b") for line in _quarantine_lines(bureau, name)]
    assert len(messages) == 2 and messages[0] == messages[1]


def _quarantine_lines(bureau, stem: str) -> list[str]:
    (batch,) = [b for b in bureau.lake.quarantine_dir.glob("*.csv") if _file_of(bureau, b) == stem]
    return [line.split(",", 1)[1] for line in batch.read_text().splitlines()[1:]]


def _file_of(bureau, quarantine) -> str:
    with bureau.ledger.connect() as conn:
        name = conn.execute(
            select(batches.c.file_name).where(batches.c.batch_id == quarantine.stem)
        ).scalar_one()
    return Path(name).stem


def test_bureaus_with_other_token_keys_never_share_remembered_ids(tmp_path):
    tokens = {}
    for key in ("first-key-" + "x" * 32, "second-key-" + "y" * 32):
        home = tmp_path / key[:6]
        bureau = build_bureau(Settings(home=home, environment="test", token_key=key))
        add_furnisher(bureau, "bank-01", "bank", "Bank One")
        ingest_file(bureau, write_csv(home / "a.csv", [row(national_id=RIC)]), "bank-01")
        (stored,) = lake_records(bureau)
        assert stored["national_id_token"] == token(key.encode(), "CN-RIC", RIC)
        tokens[key] = stored["national_id_token"]
    assert len(set(tokens.values())) == 2


def test_past_the_limit_the_process_starts_remembering_afresh(bureau, tmp_path, monkeypatch):
    forget_national_ids()
    monkeypatch.setattr(nationalids, "_CACHE_LIMIT", 2)
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    ids = [RIC, RIC_OTHER, "110105198005120036"]
    for i, national_id in enumerate(ids):
        records = [row(record_id=f"r{i}", national_id=national_id)]
        receipt = ingest_file(bureau, write_csv(tmp_path / f"{i}.csv", records), "bank-01")
        assert receipt.rows_accepted == 1
    # two were held; the third would pass the limit, so the memory starts over with it
    with ingest_database(bureau.settings).cursor() as cur:
        assert nationalids.held(cur) == [("CN-RIC", ids[2])]
    key = bureau.settings.token_key_bytes
    assert [r["national_id_token"] for r in lake_records(bureau)] == [
        token(key, "CN-RIC", n) for n in ids
    ]


# --- commit, progress, furnishers --------------------------------------------------------


def test_a_failed_ledger_write_leaves_no_files(bank, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("ledger down")

    monkeypatch.setattr(service, "_store", broken)
    records = rows(2)
    records[0]["balance"] = "-1"
    with pytest.raises(RuntimeError, match="ledger down"):
        ingest_file(bank, write_csv(tmp_path / "a.csv", records), "bank-01")
    assert lake_files(bank) == {}


def test_progress_is_reported_through_read_validate_write(bank, tmp_path):
    calls = []
    path = write_csv(tmp_path / "a.csv", rows(2))
    ingest_file(bank, path, "bank-01", progress=lambda *a: calls.append(a))
    assert calls == [("ingest a.csv", i, 3) for i in range(4)]


def test_add_furnisher_is_idempotent_and_refuses_conflicts(bureau):
    add_furnisher(bureau, "court-7", "court", "Court Seven")
    add_furnisher(bureau, "court-7", "court", "Court Seven")
    with pytest.raises(FurnisherError, match="already registered as court 'Court Seven'"):
        add_furnisher(bureau, "court-7", "bank", "Court Seven")
    with pytest.raises(FurnisherError, match="unknown furnisher kind 'church'"):
        add_furnisher(bureau, "x", "church", "X")
    with pytest.raises(FurnisherError, match="invalid furnisher id"):
        add_furnisher(bureau, "../x", "bank", "X")
    with bureau.ledger.connect() as conn:
        assert conn.execute(select(furnishers.c.furnisher_id)).scalars().all() == ["court-7"]


# --- examples and docs -------------------------------------------------------------------


def test_every_example_file_is_accepted_without_rejections(bureau):
    examples = sorted((ROOT / "examples").glob("*.csv"))
    assert {p.stem for p in examples} == set(RECORD_TYPES)
    for path in examples:
        kind = RECORD_TYPES[path.stem].furnisher_kinds[0]
        add_furnisher(bureau, f"ex-{kind}", kind, f"Example {kind}")
        receipt = ingest_file(bureau, path, f"ex-{kind}")
        assert (receipt.rows_rejected, receipt.rows_duplicate) == (0, 0), path.name
        assert 3 <= receipt.rows_accepted <= 5, path.name


def test_formats_doc_tables_are_generated_from_the_current_catalogue():
    doc = (ROOT / "docs" / "formats.md").read_text()
    assert formats_doc.with_tables(doc) == doc, (
        "docs/formats.md is out of step: run uv run python -m openbureau.ingest.formats_doc"
    )


def test_formats_doc_names_every_column_code_licence_and_rule():
    doc = (ROOT / "docs" / "formats.md").read_text()
    for f in COMMON_COLUMNS + IDENTITY_COLUMNS:
        assert f"`{f.name}`" in doc, f.name
    for rt in RECORD_TYPES.values():
        assert f"### `{rt.name}`" in doc, rt.name
        section = doc.split(f"### `{rt.name}`", 1)[1].split("\n### ", 1)[0]
        for f in rt.fields:
            assert f"`{f.name}`" in section, (rt.name, f.name)
            for code in f.codes:
                assert code in section, (rt.name, f.name, code)
        for kind in rt.furnisher_kinds:
            assert kind in section, (rt.name, kind)
    for rule in ROW_RULES:
        assert f"`{rule}`" in doc, rule


def test_scope_doc_names_every_prohibited_category_and_synonym():
    doc = (ROOT / "docs" / "scope.md").read_text()
    for category, synonyms in PROHIBITED_CATEGORIES.items():
        assert category in doc, category
        for synonym in synonyms:
            assert f"`{synonym}`" in doc, synonym


def test_a_nested_jsonl_value_rejects_the_file(bank, tmp_path):
    path = tmp_path / "nested.jsonl"
    smuggled = dict(row(record_id="n-1"))
    smuggled["address_line1"] = {"gps_latitude": 39.9, "religion": "x", "national_id": RIC}
    path.write_text(json.dumps(row(record_id="n-0")) + "\n" + json.dumps(smuggled) + "\n")
    with pytest.raises(FileRejected) as err:
        ingest_file(bank, path, "bank-01")
    assert err.value.receipt.error == (
        "nested values are not accepted: address_line1 "
        "(each field takes one plain value; see docs/formats.md)"
    )
    assert lake_records(bank) == []
    assert RIC not in json.dumps([dict(r) for r in batch_rows(bank)], default=str)


def test_a_nested_parquet_column_rejects_the_file(bank, tmp_path):
    table = pa.table(
        {
            **{k: [v] for k, v in GOOD.items() if k != "address_line2"},
            "address_line2": pa.array(
                [{"latitude": 39.9, "contacts": "x"}],
                pa.struct([("latitude", pa.float64()), ("contacts", pa.string())]),
            ),
        }
    )
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path)
    with pytest.raises(FileRejected) as err:
        ingest_file(bank, path, "bank-01")
    assert "nested values are not accepted: address_line2" in err.value.receipt.error
    assert lake_records(bank) == []


def test_a_records_file_without_its_ledger_row_is_set_aside(bank, tmp_path):
    # A crash between writing a batch's file and its ledger row leaves a file no batch owns.
    first = ingest_file(bank, write_csv(tmp_path / "a.csv", rows(2)), "bank-01")
    orphan = bank.lake.batch_path("bank-01", "b20990101T000000000000-dead00")
    orphan.write_bytes(Path(first.lake_path).read_bytes())
    assert len(bank.lake.furnisher_files("bank-01")) == 2

    second = ingest_file(bank, write_csv(tmp_path / "b.csv", rows(2, prefix="later")), "bank-01")
    assert second.status == "accepted"
    assert not orphan.exists()
    kept = bank.lake.root / "orphaned" / "furnisher=bank-01" / orphan.name
    assert kept.exists(), "set aside, not deleted"
    assert {Path(p).stem for p in map(str, bank.lake.furnisher_files("bank-01"))} == {
        first.batch_id,
        second.batch_id,
    }


def test_a_blank_first_line_is_named_as_such_not_as_an_empty_file(seeded, tmp_path):
    path = tmp_path / "blank-first.csv"
    path.write_text(
        "\nrecord_type,record_id,reported_on,subject_kind\nprofile,P-1,2025-01-31,person\n"
    )
    assert rejected(seeded, path).receipt.error == (
        "no header: the first line is blank (it must name the columns)"
    )
    seeded.nothing_lost()


def test_a_parquet_column_of_bytes_rejects_the_file(bank, tmp_path):
    """The same bytes in a CSV refuse the whole file (not UTF-8); in Parquet they were stored
    as escaped text nobody sent."""
    table = pa.table(
        {
            **{k: [v] for k, v in GOOD.items() if k != "given_name"},
            "given_name": pa.array([b"W\xffei"], pa.binary()),
        }
    )
    path = tmp_path / "bytes.parquet"
    pq.write_table(table, path)
    with pytest.raises(FileRejected) as err:
        ingest_file(bank, path, "bank-01")
    assert "values that are bytes, not text, are not accepted: given_name" in (
        err.value.receipt.error
    )
    assert lake_records(bank) == []
