"""FEBRL4 (data nobody here generated) through the product's own ingest and matcher."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.identity import quality
from openbureau.identity.febrl import febrl_to_profiles
from openbureau.identity.service import resolve
from openbureau.ingest.service import add_furnisher, ingest_file

DATA = Path(__file__).resolve().parents[1] / "data" / "febrl4"


@pytest.fixture(scope="module")
def febrl(tmp_path_factory):
    root = tmp_path_factory.mktemp("febrl")
    bureau = build_bureau(Settings(home=root / "home"))
    truth = []
    receipts = []
    for half in ("a", "b"):
        furnisher = f"febrl-{half}"
        add_furnisher(bureau, furnisher, "bank", f"FEBRL4 {half}")
        csv_path = root / f"febrl4{half}.csv"
        pairs = febrl_to_profiles(DATA / f"dataset4{half}.csv", csv_path)
        truth += [(furnisher, rec, 1, person) for rec, person in pairs]
        receipts.append(ingest_file(bureau, csv_path, furnisher))
    cols = list(zip(*truth, strict=True))
    truth_path = root / "truth.parquet"
    pq.write_table(
        pa.table(
            {
                "furnisher_id": list(cols[0]),
                "record_id": list(cols[1]),
                "version": pa.array(cols[2], pa.int64()),
                "true_subject_id": list(cols[3]),
            }
        ),
        truth_path,
    )
    summary = resolve(bureau)
    return bureau, truth_path, receipts, summary


def test_febrl4_goes_through_ingest(febrl):
    _, _, receipts, summary = febrl
    accepted = sum(r.rows_accepted for r in receipts)
    # FEBRL corrupts some birth dates into non-dates: those rows are quarantined, the rest kept
    assert accepted + sum(r.rows_rejected for r in receipts) == 10_000
    assert accepted > 9_500
    # a duplicate FEBRL left identical to its original is one identity variant
    assert 9_500 < summary.variants <= accepted


def test_febrl4_quality(febrl):
    bureau, truth, _, _ = febrl
    q = quality.measure(bureau.lake, truth)
    assert q.precision >= 0.995, q
    assert q.recall >= 0.9, q
