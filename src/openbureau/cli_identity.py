"""The identity review queue's commands: `openbureau review list | decide | add`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from openbureau.cli_support import HomeOption, console
from openbureau.cli_support import bureau_for as _bureau
from openbureau.cli_support import fail as _fail

review_app = typer.Typer(help="Decide pairs the matcher was unsure of.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")


@review_app.command("list")
def review_list(
    limit: Annotated[int, typer.Option(min=1, help="Most pairs to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    home: HomeOption = None,
) -> None:
    """Pairs the matcher was unsure of, waiting for an operator's decision."""
    from openbureau.identity import review

    bureau = _bureau(home)
    pairs = review.open_pairs(bureau, limit)
    if as_json:
        console.print_json(json.dumps(pairs, default=str))
        return
    table = Table(title=f"{review.count_open(bureau)} open pairs (showing {len(pairs)})")
    for col in ("pair", "probability", "left", "right"):
        table.add_column(col)
    for p in pairs:
        table.add_row(
            p["pair_id"],
            f"{p['match_probability']:.3f}",
            _side(p["evidence"]["left"]),
            _side(p["evidence"]["right"]),
        )
    console.print(table)


def _side(e: dict) -> str:
    name = e.get("org_name") or " ".join(
        x for x in (e.get("given_name"), e.get("family_name")) if x
    )
    parts = [name, e.get("dob"), e.get("national_id_masked"), e.get("postcode"), e.get("city")]
    return "\n".join(str(x) for x in parts if x)


@review_app.command("decide")
def review_decide(
    pair: Annotated[str, typer.Argument(help="The pair id from `review list`.")],
    decision: Annotated[str, typer.Argument(help="same or different.")],
    operator: Annotated[
        str, typer.Option(help="Who decides (for the audit log).")
    ] = "operator-local",
    home: HomeOption = None,
) -> None:
    """Decide whether a pair is one identity; the next `resolve` applies it."""
    from openbureau.identity import review

    try:
        out = review.decide(_bureau(home), pair, decision, actor=operator)
    except review.ReviewError as exc:
        _fail(str(exc), 2)
    console.print_json(json.dumps(out))


@review_app.command("add")
def review_add(
    variant_a: Annotated[str, typer.Argument(help="An identity_key (see links.parquet).")],
    variant_b: Annotated[str, typer.Argument(help="Another identity_key.")],
    operator: Annotated[str, typer.Option(help="Who asks (for the audit log).")] = "operator-local",
    home: HomeOption = None,
) -> None:
    """Put two linked identities before review, e.g. when a subject disputes a link."""
    from openbureau.identity import review

    try:
        out = review.add_pair(_bureau(home), variant_a, variant_b, actor=operator)
    except review.ReviewError as exc:
        _fail(str(exc), 2)
    console.print_json(json.dumps(out))
