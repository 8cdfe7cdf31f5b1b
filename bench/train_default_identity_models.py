"""Regenerate the identity models shipped with OpenBureau (identity/default_models/*.json):
train both on a synthetic population's lake. A young bureau with too few variants to train
on uses these.

    openbureau demo --home /tmp/obdemo
    uv run python bench/train_default_identity_models.py --home /tmp/obdemo
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb

from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.identity import linker
from openbureau.identity.service import KINDS, _read_variants

OUT = Path(__file__).resolve().parents[1] / "src/openbureau/identity/default_models"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args()
    bureau = build_bureau(Settings(home=args.home))
    con = duckdb.connect()
    variants = _read_variants(con, bureau.lake.record_files())
    for kind in KINDS:
        model = linker.train(con, variants[variants["subject_kind"] == kind], kind)
        (OUT / f"{kind}.json").write_text(json.dumps(model, indent=1, sort_keys=True) + "\n")
        print(kind, "->", OUT / f"{kind}.json")


if __name__ == "__main__":
    main()
