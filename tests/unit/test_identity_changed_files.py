"""Which files an incremental resolve may have changed (identity/service.py
`_changed_files`): the list check after it reads only these."""

from __future__ import annotations

import pandas as pd

from openbureau.identity.service import _changed_files


def _links(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["identity_key", "subject_id"])


# before the run: S1 holds a, b; S2 holds c; S3 holds d; S4 holds e
KNOWN = _links([("a", "S1"), ("b", "S1"), ("c", "S2"), ("d", "S3"), ("e", "S4")])


def test_a_known_variant_in_a_new_batch_changes_its_file_only():
    """A new version of a record of d's: S3's file changes; nothing was re-linked."""
    read = _links([("d", "?")])
    linked = KNOWN.iloc[:0]
    previous = pd.Series(dtype=object)
    assert _changed_files(KNOWN, read, linked, previous) == {"S3"}


def test_a_merge_and_a_split_change_every_file_they_touch():
    """New variant f joins S1 and S2 into S1 (S2 merged away); S3's d and g are split apart
    into S3 and S5. S4 is untouched."""
    linked = _links([("a", "S1"), ("b", "S1"), ("c", "S1"), ("f", "S1"), ("d", "S3"),
                     ("g", "S5")])  # fmt: skip
    previous = pd.Series({"a": "S1", "b": "S1", "c": "S2", "d": "S3", "g": "S3"})
    everything = pd.concat([linked, _links([("e", "S4")])], ignore_index=True)
    read = _links([("f", "?")])
    assert _changed_files(everything, read, linked, previous) == {"S1", "S2", "S3", "S5"}


def test_a_new_person_changes_only_a_new_file():
    linked = _links([("h", "S6")])
    everything = pd.concat([KNOWN, linked], ignore_index=True)
    changed = _changed_files(everything, _links([("h", "?")]), linked, pd.Series(dtype=object))
    assert changed == {"S6"}
