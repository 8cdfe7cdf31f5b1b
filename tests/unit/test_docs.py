"""The documentation is part of the product: a command or setting that is not documented
fails here."""

from pathlib import Path

import typer

from openbureau.cli import app
from openbureau.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _commands(group, prefix: str = "") -> list[str]:
    names = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            names += _commands(cmd, f"{prefix}{name} ")
        else:
            names.append(f"{prefix}{name}")
    return names


def test_every_command_is_in_the_readme():
    commands = _commands(typer.main.get_command(app))
    assert {"synth", "ingest", "resolve", "score", "serve", "demo", "export links"} <= set(commands)
    missing = [c for c in commands if f"openbureau {c}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_setting_is_in_the_readme():
    missing = [
        f"OPENBUREAU_{name.upper()}"
        for name in Settings.model_fields
        if f"OPENBUREAU_{name.upper()}" not in README
    ]
    assert not missing, f"settings missing from README.md: {missing}"


def test_readme_quick_start_is_the_two_make_targets():
    makefile = (ROOT / "Makefile").read_text()
    assert "make demo" in README and "make test" in README
    assert "\ndemo:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_doc_the_readme_links_exists():
    for name in ("scope", "formats", "identity", "scoring", "architecture"):
        assert f"docs/{name}.md" in README
        assert (ROOT / "docs" / f"{name}.md").exists()
