"""A batch of generated records of one record type, before identity columns are added, and
helpers that turn numpy columns into the catalogue's text forms."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass
class Batch:
    """Rows of one record type. `rel` is the commercial relationship index, or -1 where the
    furnisher's view of the subject is drawn on demand (courts, regulators)."""

    record_type: str
    furn: np.ndarray
    subj: np.ndarray
    rel: np.ndarray
    record_id: pa.Array
    reported_on: np.ndarray  # datetime64[D]
    version: np.ndarray | None = None
    fields: dict[str, pa.Array] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.furn)

    def take(self, idx: np.ndarray) -> Batch:
        ia = pa.array(idx, pa.int64())
        return Batch(
            self.record_type,
            self.furn[idx],
            self.subj[idx],
            self.rel[idx],
            self.record_id.take(ia),
            self.reported_on[idx],
            None if self.version is None else self.version[idx],
            {k: v.take(ia) for k, v in self.fields.items()},
        )


def iso(dates: np.ndarray) -> pa.Array:
    """datetime64[D] values as YYYY-MM-DD strings (NaT -> null)."""
    return pc.cast(pa.array(np.asarray(dates, dtype="datetime64[D]"), pa.date32()), pa.string())


def iso_month(dates: np.ndarray) -> pa.Array:
    """datetime64 values as YYYY-MM strings."""
    return pc.utf8_slice_codeunits(iso(dates), 0, 7)


def money(values: np.ndarray) -> pa.Array:
    """Amounts in major units, rounded to whole units, as integer minor units."""
    return pa.array(np.round(np.asarray(values, dtype=np.float64)).astype(np.int64) * 100)


def text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def ids(prefix: str, numbers: np.ndarray, width: int = 8, suffix: pa.Array | str | None = None):
    """Identifiers like PREFIX00001234[-SUFFIX]."""
    body = pc.utf8_lpad(text(numbers), width, "0")
    if suffix is None:
        return pc.binary_join_element_wise(prefix, body, "")
    return pc.binary_join_element_wise(prefix, body, "-", suffix, "")


def pick(codes: tuple[str, ...] | list[str | None], idx: np.ndarray) -> pa.Array:
    """Values of a short list by index (code-list values, currencies, kinds)."""
    return pa.array(list(codes), pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))


def month_days(first, day: np.ndarray) -> np.ndarray:
    """Dates in the months starting `first` (scalar or array), day numbers clamped to each
    month's length."""
    first = np.asarray(first, dtype="datetime64[D]")
    last = (first.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    return np.minimum(first + (np.asarray(day, dtype=np.int64) - 1), last)
