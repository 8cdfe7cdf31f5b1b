"""`erasure.plan`: which variants go, which subjects are emptied, renamed or rekeyed, given
the lake's record count per identity key. Pure; tables of cases and properties."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbureau.identity.erasure import plan
from openbureau.identity.state import STATE_COLUMNS


def _state(rows: list[tuple]) -> pd.DataFrame:
    """rows: (identity_key, subject_id, n_records, given_name, id_key, name_key)."""
    frame = pd.DataFrame(columns=STATE_COLUMNS)
    for key, subject, n, given_name, id_key, name_key in rows:
        frame.loc[len(frame)] = {
            **dict.fromkeys(STATE_COLUMNS),
            "identity_key": key, "subject_id": subject, "n_records": n,
            "subject_kind": "person", "given_name": given_name, "family_name": "Li",
            "id_key": id_key, "name_key": name_key, "dob": "1980-01-01",
        }  # fmt: skip
    return frame


STATE = _state([
    ("a1", "A", 3, "Na", "CN-RIC:t1", "li na"),
    ("b1", "B", 5, "Bo", "CN-RIC:t2", "li bo"),
    ("b2", "B", 1, "Bao", None, "li bao"),
    ("c1", "C", 2, "Chun", None, "li na"),  # shares A's name key
])  # fmt: skip

CASES = [
    # counts -> erased, recounted, emptied, renamed subjects, rekeyed
    ({"a1": 3, "b1": 5, "b2": 1, "c1": 2}, [], 0, [], [], []),
    ({"a1": 2, "b1": 5, "b2": 1, "c1": 2}, [], 1, [], ["A"], []),
    ({"b1": 5, "b2": 1, "c1": 2}, ["a1"], 0, ["A"], [], ["A", "C"]),
    ({"a1": 3, "b2": 1, "c1": 2}, ["b1"], 0, [], ["B"], ["B"]),
    ({"a1": 3, "b1": 5, "c1": 2, "zz": 9}, ["b2"], 0, [], ["B"], ["B"]),
    ({}, ["a1", "b1", "b2", "c1"], 0, ["A", "B", "C"], [], ["A", "B", "C"]),
]


@pytest.mark.parametrize(("counts", "erased", "recounted", "emptied", "renamed", "rekeyed"), CASES)
def test_plan(counts, erased, recounted, emptied, renamed, rekeyed):
    p = plan(STATE, pd.Series(counts, dtype="int64"))
    assert p.erased == erased and p.recounted == recounted and p.emptied == emptied
    assert sorted(p.renamed["subject_id"]) == renamed and p.rekeyed == rekeyed
    assert p.changed == bool(erased or recounted)
    assert dict(zip(p.kept["identity_key"], p.kept["n_records"], strict=True)) == {
        k: n for k, n in counts.items() if k in set(STATE["identity_key"])
    }


def test_a_subject_that_lost_its_most_recorded_variant_is_named_from_the_rest():
    p = plan(STATE, pd.Series({"a1": 3, "b2": 1, "c1": 2}))
    (name,) = p.renamed["display_name"]
    assert name == "Bao Li"


keys = st.sampled_from([f"k{i}" for i in range(12)])
subjects = st.sampled_from(list("PQRST"))


@settings(max_examples=200, deadline=None)
@given(
    variants=st.dictionaries(keys, st.tuples(subjects, st.integers(1, 5)), min_size=1),
    counts=st.dictionaries(keys, st.integers(0, 5)),
)
def test_plan_properties(variants, counts):
    known = _state([(k, s, n, k, None, None) for k, (s, n) in variants.items()])
    p = plan(known, pd.Series(counts, dtype="int64"))
    kept = set(p.kept["identity_key"])
    # every variant is kept (carried by a record) or erased, never both
    assert kept | set(p.erased) == set(variants) and not kept & set(p.erased)
    assert all(counts.get(k, 0) > 0 for k in kept)
    assert all(counts.get(k, 0) == 0 for k in p.erased)
    # an emptied subject has no variant left and lost one; the renamed are not emptied
    owners = {variants[k][0] for k in kept}
    assert not set(p.emptied) & owners
    assert set(p.emptied) <= {variants[k][0] for k in p.erased}
    assert set(p.renamed["subject_id"]) <= owners
    assert set(p.emptied) | {variants[k][0] for k in p.erased} <= set(p.rekeyed)
    assert p.changed == (
        bool(p.erased) or any(counts.get(k) != n for k, (_, n) in variants.items() if k in kept)
    )
