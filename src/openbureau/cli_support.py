"""What every command module shares: the consoles, the --home option, and clean failures."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from openbureau.bootstrap import Bureau, build_bureau
from openbureau.config import Settings

console = Console(soft_wrap=True)
err_console = Console(stderr=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Data folder (default $OPENBUREAU_HOME or ./.openbureau)."),
]


def bureau_for(home: Path | None) -> Bureau:
    settings = Settings(home=home) if home is not None else Settings()
    return build_bureau(settings)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
