"""The matcher's state in the lake: `links/links.parquet` holds, per identity variant, its
subject, how it was linked and the normalised columns the models compare (so a new batch is
linked against it without re-reading the world), with the list of record files already
resolved in the file's metadata; `links/model-<kind>.json` are the trained models.

One Parquet file for links, variants and the resolved list means one atomic replace: readers
see a whole run or the one before."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from openbureau.identity.linker import LINKAGE_COLUMNS
from openbureau.storage.lake import LINKS_SCHEMA, Lake

RESOLVED_KEY = b"openbureau.resolved_files"
#: Rows per row group of the links file (reports read one subject's keys by row group).
LINKS_ROW_GROUP_ROWS = 8192
DISPLAY_COLUMNS = ["given_name", "family_name", "org_name", "national_id_masked", "n_records"]
STATE_COLUMNS = (
    [f.name for f in LINKS_SCHEMA]
    + ["subject_kind"]
    + [c for c in LINKAGE_COLUMNS if c != "identity_key"]
    + DISPLAY_COLUMNS
)
_TYPES = {
    "match_probability": pa.float64(),
    "n_records": pa.int64(),
}


def model_path(lake: Lake, kind: str) -> Path:
    return lake.links_path.with_name(f"model-{kind}.json")


def load_model(lake: Lake, kind: str) -> dict | None:
    path = model_path(lake, kind)
    return json.loads(path.read_text()) if path.exists() else None


def save_model(lake: Lake, kind: str, model: dict) -> None:
    path = model_path(lake, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(model, indent=1, sort_keys=True))
    tmp.replace(path)


def relative(lake: Lake, files: list[Path]) -> list[str]:
    return sorted(str(Path(f).relative_to(lake.root)) for f in files)


def read_state(lake: Lake) -> tuple[pd.DataFrame, set[str]]:
    """(variants with their subjects, record files already resolved); empty if none yet."""
    if not lake.links_path.exists():
        return pd.DataFrame(columns=STATE_COLUMNS), set()
    table = pq.read_table(lake.links_path)
    meta = table.schema.metadata or {}
    resolved = set(json.loads(meta.get(RESOLVED_KEY, b"[]")))
    frame = table.to_pandas()
    for col in STATE_COLUMNS:
        if col not in frame.columns:  # links written by the first matcher
            frame[col] = None
    return frame[STATE_COLUMNS], resolved


def stage_state(lake: Lake, frame: pd.DataFrame, resolved: set[str], tag: str) -> Path:
    """Write the new state beside the current one; `commit_state` makes it current."""
    schema = pa.schema([pa.field(c, _TYPES.get(c, pa.string())) for c in STATE_COLUMNS])
    # missing values (None, NaN, NA) all become nulls
    table = pa.Table.from_pandas(frame[STATE_COLUMNS], schema=schema, preserve_index=False)
    table = table.replace_schema_metadata({RESOLVED_KEY: json.dumps(sorted(resolved)).encode()})
    # sorted by subject, in small row groups: a report reads one subject's keys from one group
    table = table.sort_by([("subject_id", "ascending"), ("identity_key", "ascending")])
    staged = lake.links_path.with_name(f".links.staged-{tag}.parquet")
    lake.write_table_atomic(table, staged, row_group_size=LINKS_ROW_GROUP_ROWS)
    return staged


def commit_state(lake: Lake, staged: Path) -> None:
    staged.replace(lake.links_path)
