"""Pure ingest rules: formats, header and licence checks, row checks from the catalogue,
national ids, receipts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbureau.catalogue.model import RECORD_TYPES, all_input_columns
from openbureau.catalogue.prohibited import PROHIBITED_CATEGORIES, prohibited_category
from openbureau.ingest import sql
from openbureau.ingest.rules import (
    NOT_A_HEADER,
    REQUIRED_COLUMNS,
    ROW_RULES,
    Receipt,
    check_national_id,
    column_specs,
    detect_format,
    furnisher_id_problem,
    header_problems,
    licence_problems,
    mask_invalid,
    new_batch_id,
    reader_error_message,
    row_checks,
)

VALID_IDS = [
    ("CN-RIC", "11010519491231002X", "1101**********002X"),
    ("CN-USCC", "91110000600037341L", "9111**********341L"),
    ("IN-PAN", "ABCPE1234F", "*****1234F"),
    ("IN-AADHAAR", "234123412346", "********2346"),
    ("IN-GSTIN", "27AAPFU0939F1ZV", "27**********1ZV"),
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("accounts.csv", "csv"),
        ("ACCOUNTS.CSV", "csv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.parquet", "parquet"),
        ("a.xlsx", None),
        ("a.csv.gz", None),
        ("noextension", None),
    ],
)
def test_format_is_detected_by_extension(name, expected):
    assert detect_format(name) == expected


def test_a_clean_header_has_no_problems():
    assert header_problems(list(REQUIRED_COLUMNS) + ["balance", "national_id"]) == []


def test_header_problems_list_prohibited_first_then_unknown_then_repeats_then_missing():
    columns = ["record_type", "favourite_colour", "gps_lat", "record_type", "subject_kind"]
    assert header_problems(columns) == [
        "prohibited category: location traces (see docs/scope.md)",
        "unknown field: favourite_colour",
        "repeated column: record_type",
        "missing required column: record_id",
        "missing required column: reported_on",
    ]


@pytest.mark.parametrize(
    ("column", "category"),
    [
        ("religion", "religion"),
        ("Customer GPS Trace", "location traces"),
        ("contact-list", "social graph"),
        ("face_image", "biometrics"),
        ("health_record", "health"),
    ],
)
def test_a_prohibited_column_names_its_category(column, category):
    assert header_problems([*REQUIRED_COLUMNS, column]) == [
        f"prohibited category: {category} (see docs/scope.md)"
    ]


_KNOWN = set(all_input_columns())


@given(st.from_regex(r"[A-Za-z][A-Za-z_ .-]{0,29}", fullmatch=True))
def test_any_name_neither_known_nor_prohibited_is_an_unknown_field(name):
    if name in _KNOWN or prohibited_category(name) is not None:
        return
    assert header_problems([*REQUIRED_COLUMNS, name]) == [f"unknown field: {name}"]


_NOT_SHOWN = "(name not shown: it looks like data)"


@pytest.mark.parametrize(
    "value",
    ["11010519491231002X", "ABCPE1234F", "2025-05-31", "3125000", "wei.zhang@example.cn",
     "+86 138 0013 8000", "acc-1-2025-01", "E12345678", "Wei\nZhang"],
)  # fmt: skip
def test_a_name_that_looks_like_data_is_never_quoted(value):
    problems = header_problems([*REQUIRED_COLUMNS, value, value])
    position = len(REQUIRED_COLUMNS) + 1
    assert problems == [
        f"unknown field: column {position} {_NOT_SHOWN}",
        f"unknown field: column {position + 1} {_NOT_SHOWN}",
        f"repeated column: column {position + 1} {_NOT_SHOWN}",
    ]


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=8))
def test_a_first_line_naming_no_catalogue_field_is_not_a_header(first_line):
    if any(value in _KNOWN for value in first_line):
        return
    assert header_problems(first_line) == [NOT_A_HEADER]


def test_every_catalogue_column_is_accepted():
    assert header_problems(sorted(_KNOWN)) == []


@pytest.mark.parametrize(
    ("kind", "record_type", "licensed"),
    [
        ("bank", "credit_account", True),
        ("lender", "credit_account", True),
        ("bank", "court_judgment", False),
        ("court", "court_judgment", True),
        ("court", "credit_account", False),
        ("utility", "invoice_payment", True),
        ("tax_office", "tax_compliance", True),
        ("regulator", "tax_compliance", False),
        ("regulator", "administrative_penalty", True),
    ],
)
def test_licence_follows_the_record_types_furnisher_kinds(kind, record_type, licensed):
    problems = licence_problems("f-1", kind, [record_type])
    assert problems == (
        [] if licensed else [f"furnisher f-1 ({kind}) is not licensed to furnish {record_type}"]
    )


def test_licence_message_names_furnisher_kind_and_type_and_ignores_unknown_types():
    assert licence_problems(
        "bank-01", "bank", ["credit_account", "court_judgment", "nonsense"]
    ) == ["furnisher bank-01 (bank) is not licensed to furnish court_judgment"]


def test_shared_fields_agree_on_kind_codes_and_minimum():
    """One column is checked one way whatever the record type: the catalogue must agree."""
    seen = {}
    for rt in RECORD_TYPES.values():
        for f in rt.fields:
            seen.setdefault(f.name, set()).add((f.kind, f.codes, f.minimum))
    assert {name: defs for name, defs in seen.items() if len(defs) > 1} == {}


def test_column_specs_cover_every_catalogue_column_once():
    names = [s.name for s in column_specs()]
    assert sorted(names) == sorted(all_input_columns())
    assert len(names) == len(set(names))


def test_required_by_type_and_ownership_come_from_the_catalogue():
    specs = {s.name: s for s in column_specs()}
    assert specs["record_id"].required_always and specs["record_id"].owners is None
    assert specs["currency"].required_in == ("credit_account", "invoice_payment", "court_judgment")
    assert set(specs["court"].owners) == {
        "court_judgment",
        "judgment_default_finding",
        "bankruptcy",
    }


def test_every_row_check_has_a_documented_rule_and_sql():
    p = sql.Params()
    for check in row_checks():
        assert check.rule in ROW_RULES
        assert sql._predicate(check, p)


def test_every_row_rule_is_produced_somewhere():
    # national ids are checked in worker processes, repeats and conflicts by their own queries
    produced = {c.rule for c in row_checks()} | {
        "national_id",
        "duplicate_in_file",
        "version_conflict",
    }
    assert produced == set(ROW_RULES)


def test_a_field_of_another_record_type_is_checked_on_the_others():
    (check,) = [c for c in row_checks() if c.column == "balance" and c.rule == "not_in_record_type"]
    assert "credit_account" not in check.arg
    assert set(check.arg) == set(RECORD_TYPES) - {"credit_account"}


@pytest.mark.parametrize(("scheme", "value", "masked"), VALID_IDS)
def test_valid_national_ids_are_compacted_and_masked(scheme, value, masked):
    found = check_national_id(scheme, value)
    assert found.message is None
    assert found.compact == value
    assert found.masked == masked


@pytest.mark.parametrize(
    ("scheme", "value"),
    [
        ("CN-RIC", "110105194912310021"),  # bad check digit
        ("CN-USCC", "91110000600037341A"),
        ("IN-PAN", "ABC1E1234F"),
        ("IN-AADHAAR", "234123412347"),
        ("IN-GSTIN", "27AAPFU0939F1ZA"),  # bad check character
        ("IN-GSTIN", "27AAPFU0939F1YV"),  # the 14th character must be Z
        ("CN-RIC", "123"),
    ],
)
def test_invalid_national_ids_get_a_message_and_never_their_full_value(scheme, value):
    found = check_national_id(scheme, value)
    assert found.compact is None
    assert found.message.startswith(scheme)
    assert value not in found.masked and value not in found.message


@given(st.sampled_from(["CN-RIC", "CN-USCC", "IN-PAN", "IN-AADHAAR", "XX"]), st.text(min_size=1))
def test_a_masked_invalid_id_never_shows_the_whole_value(scheme, value):
    raw = "".join(value.split())
    masked = mask_invalid(scheme, value)
    assert len(masked) == len(raw)
    # at most the last two characters are shown, and none of a short value
    shown = len(masked) - masked.count("*") if raw.count("*") == 0 else None
    if shown is not None:
        assert shown <= (2 if len(raw) >= 10 else 0)


@pytest.mark.parametrize("furnisher_id", ["bank-01", "court.beijing_1", "A"])
def test_good_furnisher_ids(furnisher_id):
    assert furnisher_id_problem(furnisher_id) is None


@pytest.mark.parametrize("furnisher_id", ["", "../x", "a/b", "bank=1", "-bank", "x" * 65, "a b"])
def test_furnisher_ids_that_cannot_name_a_lake_folder_are_refused(furnisher_id):
    assert furnisher_id_problem(furnisher_id).startswith("invalid furnisher id")


@given(st.datetimes(timezones=st.just(UTC)), st.datetimes(timezones=st.just(UTC)))
def test_batch_ids_sort_by_time_received(a, b):
    if a < b:
        assert new_batch_id(a, "ffffff") < new_batch_id(b, "000000")


def test_batch_id_fits_the_ledger_column():
    assert len(new_batch_id(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "abcdef")) <= 40


def test_reader_errors_drop_quoted_data():
    detail = (
        "Invalid Input Error: CSV Error on Line: 3\n"
        "Original Line: r1,2025-01-01,11010519491231002X\n"
        "Expected Number of Columns: 5 Found: 3\n"
        "Possible fixes:\n* Disable the parser's strict mode"
    )
    message = reader_error_message("csv", detail)
    assert message == (
        "unreadable csv file (truncated or malformed?): CSV Error on Line: 3: "
        "Expected Number of Columns: 5 Found: 3"
    )


@pytest.mark.parametrize(
    "detail",
    [
        'JSON transform error in file "/x.jsonl", in line 1: Expected OBJECT, but got ARRAY: '
        '[1,"11010519491231002X"]',
        'CSV Error on Line: 3\nOriginal Line: a,"Wei,1101\n0519491231002X,b\n'
        "Value with unterminated quote found.\n\nPossible fixes: x",
        "Conversion Error: could not convert 11010519491231002X to INT",
        "Something odd near '11010519491231002X'",
    ],
)
def test_reader_errors_never_quote_an_identifier(detail):
    message = reader_error_message("csv", detail)
    assert "1101" not in message and "0519491231002X" not in message


def test_receipt_is_json_serialisable():
    receipt = Receipt("b1", "bank-01", "a.csv", "csv", "00", "accepted", 3, 2, 1, 0, {"date": 1})
    assert json.loads(json.dumps(receipt.to_dict()))["rejected_by_rule"] == {"date": 1}


def test_every_prohibited_category_has_synonyms():
    assert all(PROHIBITED_CATEGORIES.values())
