"""Ingest every file of a synth folder, furnisher by furnisher, in one process (bench helper)."""

from __future__ import annotations

import sys
from pathlib import Path

from openbureau.ingest.service import ingest_file

from openbureau.bootstrap import build_bureau


def main(synth: Path) -> None:
    bureau = build_bureau()
    files = sorted((synth / "files").glob("*/*.*"))
    accepted = rejected = 0
    for path in files:
        receipt = ingest_file(bureau, path, path.parent.name)
        accepted += receipt.rows_accepted
        rejected += receipt.rows_rejected
    print(f"{len(files)} files, {accepted} accepted, {rejected} quarantined")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
