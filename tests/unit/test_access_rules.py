"""Pure access rules: roles, scopes, party kinds and key text."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbureau.access.rules import (
    PARTY_KINDS,
    ROLE_SCOPES,
    ROLES,
    SCOPES,
    key_text,
    parse_key,
    party_problem,
    permits,
    role_problem,
    secret_hash,
)


@pytest.mark.parametrize(
    ("role", "scope", "owns", "allowed"),
    [
        ("furnisher", "batches:submit", False, True),
        ("furnisher", "inquiries:make", False, False),
        ("furnisher", "files:read", True, False),
        ("inquirer", "inquiries:make", False, True),
        ("inquirer", "files:read", False, False),
        ("inquirer", "consents:manage", False, False),
        ("subject", "files:read", True, True),
        ("subject", "files:read", False, False),
        ("subject", "consents:manage", True, True),
        ("subject", "consents:manage", False, False),
        ("subject", "inquiries:make", True, True),
        ("subject", "inquiries:make", False, False),
        ("subject", "batches:submit", True, False),
        ("operator", "files:read", False, True),
        ("operator", "consents:manage", False, True),
        ("operator", "inquiries:make", False, False),
        ("operator", "batches:submit", False, False),
        ("auditor", "audit:verify", False, True),
        ("auditor", "files:read", False, False),
        ("nobody", "files:read", True, False),
        ("operator", "no:such-scope", False, False),
    ],
)
def test_permits(role, scope, owns, allowed):
    assert permits(role, scope, owns=owns) is allowed


def test_every_role_scope_is_a_known_scope():
    for role, scopes in ROLE_SCOPES.items():
        assert scopes <= set(SCOPES), role


@given(st.sampled_from(ROLES), st.sampled_from(sorted(SCOPES)), st.booleans())
def test_owning_the_file_never_takes_a_permission_away(role, scope, owns):
    if permits(role, scope):
        assert permits(role, scope, owns=owns)


@given(st.sampled_from(ROLES), st.sampled_from(sorted(SCOPES)))
def test_an_own_scope_never_reaches_other_files(role, scope):
    if scope.endswith(":own"):
        return
    if f"{scope}:own" in ROLE_SCOPES[role] and scope not in ROLE_SCOPES[role]:
        assert not permits(role, scope, owns=False)


@pytest.mark.parametrize(
    ("kind", "furnisher_id", "subject_id", "problem"),
    [
        ("lender", None, None, None),
        ("lender", "bank-1", None, None),
        ("furnisher", "court-1", None, None),
        ("furnisher", None, None, "must name its registered furnisher"),
        ("subject", None, "S1", None),
        ("subject", None, None, "must name its subject"),
        ("operator", None, "S1", "only a party of kind subject"),
        ("operator", "bank-1", None, "cannot also be a furnisher"),
        ("auditor", "bank-1", None, "cannot also be a furnisher"),
        ("spy", None, None, "unknown party kind 'spy'"),
    ],
)
def test_party_problem(kind, furnisher_id, subject_id, problem):
    found = party_problem(kind, furnisher_id, subject_id)
    if problem is None:
        assert found is None
    else:
        assert problem in found


@pytest.mark.parametrize(
    ("role", "kind", "furnisher_id", "allowed"),
    [
        ("furnisher", "furnisher", "court-1", True),
        ("furnisher", "lender", "bank-1", True),
        ("furnisher", "lender", None, False),
        ("inquirer", "lender", None, True),
        ("inquirer", "authority", None, True),
        ("inquirer", "furnisher", "court-1", False),
        ("inquirer", "operator", None, False),
        ("subject", "subject", None, True),
        ("subject", "lender", None, False),
        ("operator", "operator", None, True),
        ("operator", "auditor", None, False),
        ("auditor", "auditor", None, True),
        ("admin", "operator", None, False),
    ],
)
def test_role_problem(role, kind, furnisher_id, allowed):
    assert (role_problem(role, kind, furnisher_id) is None) is allowed


def test_every_party_kind_can_hold_some_role():
    for kind in PARTY_KINDS:
        furnisher = "f-1" if kind in ("furnisher", "lender") else None
        assert any(role_problem(r, kind, furnisher) is None for r in ROLES), kind


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@given(
    st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
    st.text(alphabet=_ALPHABET, min_size=43, max_size=43),
)
def test_key_text_round_trips(key_id, secret):
    assert parse_key(key_text(key_id, secret)) == (key_id, secret)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "obk_",
        "obk_0123456789abcdef_short",
        "obk_0123456789ABCDEF_" + "a" * 43,  # key ids are lower-case hex
        "xyz_0123456789abcdef_" + "a" * 43,
        "obk_0123456789abcdef_" + "a" * 44,
        "obk_0123456789abcdef_" + "a" * 42 + "!",
    ],
)
def test_malformed_keys_are_refused(text):
    assert parse_key(text) is None


def test_secret_hash_is_sha256_hex_and_differs_per_secret():
    a, b = secret_hash("a" * 43), secret_hash("b" * 43)
    assert len(a) == 64 and int(a, 16) >= 0 and a != b
