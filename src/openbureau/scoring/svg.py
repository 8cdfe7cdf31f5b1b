"""Small inline SVG charts for the model report: lines over a numeric axis and grouped bars
over categories. Pure string building: no script, no external font or file, so a report
opens anywhere and can be archived as one file. Every text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 460, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 50, 46
#: Colour-blind-safe pair (Okabe-Ito blue and vermilion) and a grey for references.
COLOURS = ("#0072B2", "#D55E00", "#7f7f7f", "#009E73")


@dataclass(frozen=True)
class Series:
    name: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    dashed: bool = False


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def _frame(title: str, x_label: str, y_label: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text transform="translate(14 {(TOP + HEIGHT - BOTTOM) / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>',
    ]


def _y_axis(y_max: float, as_percent: bool, ticks: int = 5) -> list[str]:
    out = []
    for i in range(ticks + 1):
        v = y_max * i / ticks
        y = HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * i / ticks
        label = f"{100 * v:.0f}%" if as_percent else f"{v:.2g}"
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_fmt(y)}" y2="{_fmt(y)}" '
            'stroke="#e3e3e3"/>'
            f'<text x="{LEFT - 4}" y="{_fmt(y + 4)}" text-anchor="end">{label}</text>'
        )
    return out


def _legend(names: Sequence[str]) -> list[str]:
    out = []
    x = WIDTH - RIGHT
    for i, name in reversed(list(enumerate(names))):
        x -= 14 + 6.2 * len(name)
        out.append(
            f'<rect x="{_fmt(x)}" y="{TOP - 24}" width="10" height="10" '
            f'fill="{COLOURS[i % len(COLOURS)]}"/>'
            f'<text x="{_fmt(x + 13)}" y="{TOP - 15}">{escape(name)}</text>'
        )
    return out


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float],
    y_max: float = 1.0,
    y_percent: bool = True,
    x_ticks: Sequence[float] = (),
    markers: Sequence[tuple[float, str]] = (),
) -> str:
    """Lines of (x, y) points; `markers` are vertical rules at x with a label. None in ys
    breaks a line."""
    x0, x1 = x_range
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + plot_w * (x - x0) / (x1 - x0)

    def py(y: float) -> float:
        return HEIGHT - BOTTOM - plot_h * min(max(y / y_max, 0.0), 1.0)

    out = _frame(title, x_label, y_label) + _y_axis(y_max, y_percent)
    for t in x_ticks:
        out.append(
            f'<text x="{_fmt(px(t))}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{t:g}</text>'
        )
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        run: list[str] = []
        for x, y in [*zip(s.xs, s.ys, strict=True), (None, None)]:
            if y is None or x is None:
                if len(run) > 1:
                    out.append(
                        f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} '
                        f'points="{" ".join(run)}"/>'
                    )
                run = []
                continue
            run.append(f"{_fmt(px(x))},{_fmt(py(y))}")
    for x, label in markers:
        out.append(
            f'<line x1="{_fmt(px(x))}" x2="{_fmt(px(x))}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
            'stroke="#333" stroke-dasharray="2 3"/>'
            f'<text x="{_fmt(px(x) + 4)}" y="{TOP + 12}">{escape(label)}</text>'
        )
    out += _legend([s.name for s in series])
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    x_label: str,
    y_label: str,
    y_percent: bool = True,
) -> str:
    """Grouped bars: one group per category, one bar per series (None draws nothing)."""
    values = [v for _, vs in series for v in vs if v is not None]
    y_max = max([*values, 1e-9]) * 1.1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    out = _frame(title, x_label, y_label) + _y_axis(y_max, y_percent)
    for c, name in enumerate(categories):
        gx = LEFT + c * group_w
        out.append(
            f'<text x="{_fmt(gx + group_w / 2)}" y="{HEIGHT - BOTTOM + 14}" '
            f'text-anchor="middle" font-size="9">{escape(name.split("–")[0])}</text>'
        )
        for i, (label, vs) in enumerate(series):
            v = vs[c]
            if v is None:
                continue
            h = plot_h * v / y_max
            out.append(
                f'<rect x="{_fmt(gx + group_w * 0.1 + i * bar_w)}" y="{_fmt(HEIGHT - BOTTOM - h)}" '
                f'width="{_fmt(bar_w)}" height="{_fmt(h)}" fill="{COLOURS[i % len(COLOURS)]}">'
                f"<title>{escape(label)}, {escape(name)}: "
                f"{f'{100 * v:.1f}%' if y_percent else f'{v:.3g}'}</title></rect>"
            )
    out += _legend([label for label, _ in series])
    out.append("</svg>")
    return "".join(out)
