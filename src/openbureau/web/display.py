"""Presentation helpers for the templates: plain words, money, months, scale positions."""

from __future__ import annotations

from datetime import date
from typing import Any

from openbureau.catalogue.model import FURNISHER_KINDS, PILLARS, all_input_columns, record_type
from openbureau.reports.model import SCORE_MAX, SCORE_MIN, RecordView
from openbureau.reports.rules import BUCKETS, format_money, format_month

#: What a grid cell of each bucket shows (the legend repeats it beside the colour).
BUCKET_SHORT = {
    "no_data": "–", "dpd_0": "0", "dpd_1_29": "1–29", "dpd_30": "30+", "dpd_60": "60+",
    "dpd_90": "90+", "dpd_120": "120+", "hardship": "HS", "closed": "CL", "settled": "ST",
    "written_off": "WO",
}  # fmt: skip

_SHORT_PILLARS = {
    "commercial": "Commercial",
    "judicial": "Judicial",
    "societal": "Societal",
    "government": "Government affairs",
}


def words(code: str | None) -> str:
    """A code as words: "personal_loan" -> "Personal loan"."""
    return "" if code is None else code.replace("_", " ").capitalize()


def money(amount_minor: int | None, currency: str | None = None) -> str:
    return "—" if amount_minor is None else format_money(amount_minor, currency)


def long_date(d: date | None) -> str:
    """A date as "31 Dec 2025" (the same in every locale)."""
    return "—" if d is None else f"{d.day} {format_month(d)}"


def scale_percent(score: float | None, low: float = SCORE_MIN, high: float = SCORE_MAX) -> float:
    """Where `score` sits between `low` and `high` (the 300-900 scale by default), as 0 to 100
    (clamped)."""
    if score is None:
        return 0.0
    share = (score - low) / (high - low)
    return round(100 * min(max(share, 0.0), 1.0), 1)


def record_details(record: RecordView) -> list[tuple[str, str]]:
    """The record's furnished fields as (label, text), in catalogue order; an amount is shown
    with its currency."""
    kinds = all_input_columns()
    out = []
    for name in record_type(record.record_type).field_names:
        value: Any = record.fields.get(name)
        kind = kinds[name].kind
        if value is None or kind == "currency":
            continue
        if kind == "money":
            text = money(value, record.fields.get("currency"))
        elif kind == "month":
            text = format_month(value)
        elif kind == "date":
            text = long_date(value)
        elif kind == "bool":
            text = "Yes" if value else "No"
        elif kind == "code":
            text = words(value)
        else:
            text = str(value)
        out.append((words(name), text))
    return out


def template_globals() -> dict[str, Any]:
    return {
        "BUCKETS": BUCKETS,
        "BUCKET_SHORT": BUCKET_SHORT,
        "PILLARS": PILLARS,
        "SHORT_PILLARS": _SHORT_PILLARS,
        "FURNISHER_KINDS": FURNISHER_KINDS,
        "SCORE_MIN": SCORE_MIN,
        "SCORE_MAX": SCORE_MAX,
        "record_details": record_details,
        "scale_percent": scale_percent,
    }


def template_filters() -> dict[str, Any]:
    return {"words": words, "money": money, "month": format_month, "long_date": long_date}
