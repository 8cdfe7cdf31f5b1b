"""FEBRL4 as furnisher files: each half of the set becomes a bank's `profile` records, so the
benchmark goes through the product's own ingest and matcher, not a side door. Pure over
files: reads the FEBRL CSV, writes an ingest CSV and the truth (record_id -> person)."""

from __future__ import annotations

import csv
from pathlib import Path

FIELDS = [
    "record_type", "record_id", "reported_on", "version", "subject_kind", "given_name",
    "family_name", "date_of_birth", "address_line1", "address_line2", "city", "region",
    "postcode", "country",
]  # fmt: skip


def _dob(raw: str) -> str:
    raw = raw.strip()
    if len(raw) != 8 or not raw.isdigit():
        return ""
    return f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"


def febrl_to_profiles(source: Path, out: Path, reported_on: str = "2026-10-31") -> list[tuple]:
    """Write `source` (a FEBRL CSV) as profile records to `out`; returns (record_id,
    true_person) pairs. Dates FEBRL corrupted into non-dates are sent as they are: ingest
    quarantines what the catalogue refuses, as it would from a real furnisher."""
    truth = []
    with open(source, newline="") as fh, open(out, "w", newline="") as oh:
        reader = csv.DictReader(fh, skipinitialspace=True)
        writer = csv.DictWriter(oh, FIELDS)
        writer.writeheader()
        for row in reader:
            rec = row["rec_id"].strip()
            street = " ".join(
                x for x in (row["street_number"].strip(), row["address_1"].strip()) if x
            )
            writer.writerow(
                {
                    "record_type": "profile",
                    "record_id": rec,
                    "reported_on": reported_on,
                    "version": 1,
                    "subject_kind": "person",
                    "given_name": row["given_name"].strip(),
                    "family_name": row["surname"].strip(),
                    "date_of_birth": _dob(row["date_of_birth"]) or row["date_of_birth"].strip(),
                    "address_line1": street,
                    "address_line2": row["address_2"].strip(),
                    "city": row["suburb"].strip(),
                    "region": row["state"].strip(),
                    "postcode": row["postcode"].strip(),
                    "country": "AU",
                }
            )
            truth.append((rec, rec.split("-")[1]))
    return truth
