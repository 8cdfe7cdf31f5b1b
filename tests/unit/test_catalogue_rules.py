from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbureau.catalogue import IDENTITY_COLUMNS, RECORD_TYPES, all_input_columns
from openbureau.catalogue.identifiers import SCHEMES, InvalidIdentifier, compact, mask, token
from openbureau.catalogue.model import FURNISHER_KINDS, PILLARS
from openbureau.catalogue.prohibited import PROHIBITED_CATEGORIES, prohibited_category
from openbureau.catalogue.rules import add_months, check_columns, expires_on, retention_months

IDENTITY_NAMES = (
    "subject_kind given_name family_name org_name date_of_birth national_id_scheme national_id "
    "address_line1 address_line2 city region postcode country"
).split()


def test_identity_columns_have_the_published_names():
    assert [f.name for f in IDENTITY_COLUMNS] == IDENTITY_NAMES


def test_every_record_type_is_fully_described():
    assert set(RECORD_TYPES) == {
        "profile", "credit_account", "invoice_payment", "court_judgment",
        "judgment_default_finding", "administrative_penalty", "tax_compliance", "bankruptcy",
        "social_insurance",
    }  # fmt: skip
    for rt in RECORD_TYPES.values():
        assert rt.pillar in PILLARS
        assert rt.legal_basis
        assert rt.retention_months > 0
        assert rt.furnisher_kinds and set(rt.furnisher_kinds) <= set(FURNISHER_KINDS)
        for f in rt.fields:
            if f.kind == "code":
                assert f.codes, f"{rt.name}.{f.name} has no code list"


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("given_name", None),
        ("gps_lat", "prohibited category: location traces (see docs/scope.md)"),
        ("Religion", "prohibited category: religion (see docs/scope.md)"),
        ("contact list", "prohibited category: social graph (see docs/scope.md)"),
        ("customer-ethnicity", "prohibited category: ethnicity (see docs/scope.md)"),
        ("fingerprint_hash", "prohibited category: biometrics (see docs/scope.md)"),
        ("browsing_history", "prohibited category: browsing and reading (see docs/scope.md)"),
        ("gaming_time", "prohibited category: gaming (see docs/scope.md)"),
        ("party_membership", "prohibited category: political opinion (see docs/scope.md)"),
        ("diagnosis_code", "prohibited category: health (see docs/scope.md)"),
        ("favourite_colour", "unknown field: favourite_colour"),
        ("balance ", "unknown field: balance "),
        ("address_line3", "unknown field: column 2 (name not shown: it looks like data)"),
        ("11010519491231002X", "unknown field: column 2 (name not shown: it looks like data)"),
    ],
)
def test_check_columns_messages(column, expected):
    problems = check_columns(["record_id", column])
    if expected is None:
        assert problems == []
    else:
        assert [p.message for p in problems] == [expected]


def test_no_catalogue_column_is_prohibited_by_its_own_name():
    # A known field is always accepted even if a word of it looks like a synonym.
    assert check_columns(list(all_input_columns())) == []


@given(st.sampled_from([s for syns in PROHIBITED_CATEGORIES.values() for s in syns]))
def test_every_synonym_is_caught_with_a_prefix(synonym):
    assert prohibited_category(f"customer_{synonym}") is not None


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2020, 1, 31), 1, date(2020, 2, 29)),
        (date(2021, 1, 31), 1, date(2021, 2, 28)),
        (date(2020, 3, 15), -3, date(2019, 12, 15)),
        (date(2020, 12, 1), 84, date(2027, 12, 1)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("record_type", "severity", "months"),
    [
        ("administrative_penalty", "minor", 3),
        ("administrative_penalty", "general", 12),
        ("administrative_penalty", "serious", 36),
        ("bankruptcy", None, 120),
        ("credit_account", None, 84),
    ],
)
def test_retention(record_type, severity, months):
    assert retention_months(record_type, severity) == months
    assert expires_on(record_type, date(2020, 1, 1), severity) == add_months(
        date(2020, 1, 1), months
    )


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 1, 1)), st.integers(0, 240))
def test_every_record_expires_after_it_starts(start, _):
    for name in RECORD_TYPES:
        assert expires_on(name, start) > start


@pytest.mark.parametrize(
    ("scheme", "value", "masked"),
    [
        ("CN-RIC", "11010519491231002X", "1101**********002X"),
        ("CN-USCC", "91110000600037341L", "9111**********341L"),
        ("IN-PAN", "ABCPE1234F", "*****1234F"),
        ("IN-AADHAAR", "2341 2341 2346", "********2346"),
        ("IN-GSTIN", "27aapfu0939f1zv", "27**********1ZV"),
    ],
)
def test_valid_identifiers_are_masked(scheme, value, masked):
    assert mask(scheme, compact(scheme, value)) == masked


@pytest.mark.parametrize(
    ("scheme", "value", "rule"),
    [
        ("CN-RIC", "110105194912310021", "checksum"),
        ("IN-AADHAAR", "234123412347", "checksum"),
        ("IN-PAN", "AB1PE1234F", "format"),
        ("XX-NONE", "1", "unknown_scheme"),
    ],
)
def test_invalid_identifiers_name_the_rule(scheme, value, rule):
    with pytest.raises(InvalidIdentifier) as err:
        compact(scheme, value)
    assert err.value.rule == rule


def test_tokens_are_keyed():
    a = token(b"k1", "CN-RIC", "11010519491231002X")
    assert a == token(b"k1", "CN-RIC", "11010519491231002X")
    assert a != token(b"k2", "CN-RIC", "11010519491231002X")
    assert "11010519491231002X" not in a


def test_the_catalogue_takes_every_scheme_the_bureau_validates_and_no_other():
    (field,) = [f for f in IDENTITY_COLUMNS if f.name == "national_id_scheme"]
    assert set(field.codes) == set(SCHEMES)


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("social_insurance", None),
        ("n_social_insurance", None),
        ("Social Security arrears", None),
        ("social", "social graph"),
        ("social_score", "social graph"),
        ("social_insurance_friends", "social graph"),  # the obligation term hides nothing else
        ("social_network_insurance", "social graph"),
        # the words around an obligation term do not join across it...
        ("contact_social_insurance_list", None),
        ("email_social_security_content", None),
        ("call_social_insurance_social_security_log", None),
        # ...and each side is still checked whole
        ("contact_list_social_insurance", "social graph"),
        ("social_security_gps_trace", "location traces"),
        ("social_insurance_health_record", "health"),
    ],
)
def test_an_obligation_term_is_not_a_social_graph(name, category):
    assert prohibited_category(name) == category
