"""Progress reporting for long work, kept free of any UI: services take an optional
`Progress` callback and the CLI turns the calls into Rich progress bars."""

from __future__ import annotations

from collections.abc import Callable

#: progress(label, completed, total): `completed` units of `total` (None if unknown) are done.
Progress = Callable[[str, int, int | None], None]


def no_progress(label: str, completed: int, total: int | None) -> None:
    """The default sink: report nothing."""
