"""The column tables of docs/formats.md, generated from the catalogue.

    uv run python -m openbureau.ingest.formats_doc docs/formats.md   # rewrite the tables

The tables sit between the BEGIN/END markers; a test fails when they are out of step."""

from __future__ import annotations

import sys
from pathlib import Path

from openbureau.catalogue.model import (
    COMMON_COLUMNS,
    IDENTITY_COLUMNS,
    PILLARS,
    RECORD_TYPES,
    Field,
)

BEGIN = "<!-- BEGIN catalogue tables (generated: python -m openbureau.ingest.formats_doc) -->"
END = "<!-- END catalogue tables -->"

_KIND_TEXT = {
    "string": "text",
    "code": "code",
    "date": "date `YYYY-MM-DD`",
    "month": "month `YYYY-MM`",
    "int": "integer",
    "money": "integer minor units",
    "currency": "ISO 4217 code",
    "bool": "`true` / `false`",
}


def _values(f: Field) -> str:
    parts = []
    if f.name == "record_type":
        parts.append("one of: " + ", ".join(f"`{name}`" for name in RECORD_TYPES))
    if f.codes:
        parts.append("one of: " + ", ".join(f"`{c}`" for c in f.codes))
    if f.minimum is not None:
        parts.append(f"at least {f.minimum}")
    return "; ".join(parts)


def _table(fields: tuple[Field, ...], required: dict[str, str] | None = None) -> list[str]:
    lines = [
        "| Column | Type | Required | Values | Description |",
        "|---|---|---|---|---|",
    ]
    for f in fields:
        req = (required or {}).get(f.name, "yes" if f.required else "")
        desc = f.description.replace("|", "\\|")
        lines.append(f"| `{f.name}` | {_KIND_TEXT[f.kind]} | {req} | {_values(f)} | {desc} |")
    return lines


def catalogue_tables() -> str:
    """Markdown: common columns, identity columns, then one section per record type."""
    out = ["## Common columns", "", "Every row carries these.", ""]
    out += _table(COMMON_COLUMNS)
    out += [
        "",
        "## Identity columns",
        "",
        "Who the record is about, as the furnisher knows them.",
        "",
    ]
    out += _table(IDENTITY_COLUMNS)
    out += ["", "## Record types", ""]
    for rt in RECORD_TYPES.values():
        start = f"`{rt.retention_from}`" if rt.retention_from else "`reported_on`"
        out += [
            f"### `{rt.name}`",
            "",
            rt.description,
            "",
            f"- Pillar: {PILLARS[rt.pillar]} (`{rt.pillar}`)",
            f"- Furnished by: {', '.join(f'`{k}`' for k in rt.furnisher_kinds)}",
            f"- Kept: {rt.retention_months} months from {start}",
            f"- Public: {'yes' if rt.public else 'no'}",
            f"- Legal basis: {rt.legal_basis}",
            "",
        ]
        out += _table(rt.fields)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def with_tables(doc: str) -> str:
    """`doc` with the text between the markers replaced by the current tables."""
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{catalogue_tables()}\n{END}{tail}"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/formats.md")
    target.write_text(with_tables(target.read_text()))
