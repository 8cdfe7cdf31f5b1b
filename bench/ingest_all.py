"""Ingest every file of a synth folder, two furnishers at a time (bench helper)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from openbureau.config import Settings
from openbureau.ingest.parallel import FurnisherFiles, ingest_many


def main(synth: Path) -> None:
    folders = sorted(p for p in (synth / "files").iterdir() if p.is_dir())
    jobs = [FurnisherFiles(f.name, tuple(sorted(f.glob("*.*")))) for f in folders]
    receipts = ingest_many(Settings(), jobs, workers=min(2, os.cpu_count() or 1))
    accepted = sum(r["rows_accepted"] for r in receipts)
    rejected = sum(r["rows_rejected"] for r in receipts)
    print(f"{len(receipts)} files, {accepted} accepted, {rejected} quarantined")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
