"""Tiny inline-SVG chart helpers: no JavaScript, no network, every text escaped.

Each function takes plain Python values and returns one `<svg>` element as a string, so the
report and the review app can embed the same charts in any HTML page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

FONT = "font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;font-size:12px"
INK = "#1f2933"
MUTED = "#7b8794"
GOOD = "#1b7f4b"
BAD = "#b3261e"
NEUTRAL = "#3b6ea8"


def _t(value: object) -> str:
    return escape(str(value), quote=True)


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _label_width(labels: Iterable[str], char_px: float = 6.8) -> int:
    """Room for the longest label at 12px (a generous average glyph width), at least 120px."""
    return int(max([120.0] + [len(str(label)) * char_px + 16 for label in labels]))


def _open(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_t(title)}" style="{FONT}">',
        f"<title>{_t(title)}</title>",
    ]


def empty_chart(message: str, width: int = 520, height: int = 60) -> str:
    """A placeholder chart that states why there is nothing to draw."""
    parts = _open(width, height, message)
    parts.append(
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{MUTED}">{_t(message)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class ForestRow:
    """One estimate for the forest plot; ratios on the odds-ratio scale (may be inf)."""

    label: str
    estimate: float
    low: float
    high: float
    highlight: bool = False
    note: str = ""


def forest_plot(rows: Sequence[ForestRow], title: str = "Odds ratio of winning (95% CI)") -> str:
    """Odds ratios with intervals on a log axis, a reference line at 1.

    Highlighted rows (e.g. q < 0.05) are drawn in green (above 1) or red (below 1); the rest
    in grey-blue. Unbounded intervals end in an arrow at the axis edge.
    """
    rows = [r for r in rows if _finite(r.estimate) and r.estimate > 0]
    if not rows:
        return empty_chart("No odds ratios could be estimated")
    label_w, plot_w, right_w, row_h, top = _label_width(r.label for r in rows), 360, 170, 24, 34
    width = label_w + plot_w + right_w
    height = top + row_h * len(rows) + 40
    vals = [r.estimate for r in rows]
    vals += [r.low for r in rows if _finite(r.low) and r.low > 0]
    vals += [r.high for r in rows if _finite(r.high)]
    lo = max(min(min(vals), 0.9), 1 / 100)
    hi = min(max(max(vals), 1.1), 100)
    llo, lhi = math.log(lo) - 0.1, math.log(hi) + 0.1

    def x(v: float) -> float:
        v = min(max(v, math.exp(llo)), math.exp(lhi))
        return label_w + (math.log(v) - llo) / (lhi - llo) * plot_w

    parts = _open(width, height, title)
    parts.append(f'<text x="{label_w}" y="16" font-weight="600" fill="{INK}">{_t(title)}</text>')
    axis_y = top + row_h * len(rows) + 6
    ticks = [
        t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if lo <= t <= hi
    ]
    for t in ticks:
        parts.append(
            f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{axis_y}" '
            f'stroke="{"#52606d" if t == 1 else "#e4e7eb"}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{x(t):.1f}" y="{axis_y + 14}" text-anchor="middle" fill="{MUTED}">{t:g}</text>'
        )
    parts.append(
        f'<text x="{label_w + plot_w / 2}" y="{axis_y + 30}" text-anchor="middle" fill="{MUTED}">'
        "odds ratio (log scale): &lt;1 loses more, &gt;1 wins more</text>"
    )
    for i, r in enumerate(rows):
        cy = top + row_h * i + row_h / 2
        colour = (GOOD if r.estimate > 1 else BAD) if r.highlight else NEUTRAL
        low = r.low if _finite(r.low) and r.low > 0 else math.exp(llo)
        high = r.high if _finite(r.high) else math.exp(lhi)
        parts.append(
            f'<text x="{label_w - 8}" y="{cy + 4}" text-anchor="end" fill="{INK}">{_t(r.label)}</text>'
        )
        parts.append(
            f'<line x1="{x(low):.1f}" y1="{cy}" x2="{x(high):.1f}" y2="{cy}" stroke="{colour}" stroke-width="2"/>'
        )
        for bound, finite in ((low, _finite(r.low) and r.low > 0), (high, _finite(r.high))):
            if not finite:
                edge = x(bound)
                d = -6 if bound == low else 6
                parts.append(f'<path d="M{edge:.1f},{cy} l{-d},-4 l0,8 z" fill="{colour}"/>')
        parts.append(
            f'<rect x="{x(r.estimate) - 4:.1f}" y="{cy - 4}" width="8" height="8" fill="{colour}"/>'
        )
        text = f"{r.estimate:.2f} [{_fmt(r.low)}, {_fmt(r.high)}]"
        if r.note:
            text += f" {r.note}"
        parts.append(
            f'<text x="{label_w + plot_w + 8}" y="{cy + 4}" fill="{INK}">{_t(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _fmt(v: float) -> str:
    if not _finite(v):
        return "∞" if v and v > 0 else "0"
    return f"{v:.2f}"


@dataclass
class RateBar:
    """A proportion with its interval and sample size, for interval_bars."""

    label: str
    rate: float
    low: float
    high: float
    n: int


def interval_bars(bars: Sequence[RateBar], title: str, reference: float | None = None) -> str:
    """Horizontal bars of proportions (0-100%) with interval whiskers and n on each row.

    `reference` (e.g. the overall win rate) is drawn as a dashed line.
    """
    if not bars:
        return empty_chart(f"{title}: no data")
    label_w, plot_w, right_w, row_h, top = _label_width(b.label for b in bars), 300, 140, 26, 34
    width = label_w + plot_w + right_w
    height = top + row_h * len(bars) + 34

    def x(v: float) -> float:
        return label_w + max(0.0, min(1.0, v)) * plot_w

    parts = _open(width, height, title)
    parts.append(f'<text x="{label_w}" y="16" font-weight="600" fill="{INK}">{_t(title)}</text>')
    axis_y = top + row_h * len(bars) + 4
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{axis_y}" stroke="#e4e7eb"/>'
        )
        parts.append(
            f'<text x="{x(t):.1f}" y="{axis_y + 14}" text-anchor="middle" fill="{MUTED}">{t:.0%}</text>'
        )
    if _finite(reference):
        parts.append(
            f'<line x1="{x(reference):.1f}" y1="{top - 6}" x2="{x(reference):.1f}" y2="{axis_y}" '
            f'stroke="{INK}" stroke-dasharray="4 3"/>'
        )
    for i, b in enumerate(bars):
        y0 = top + row_h * i
        cy = y0 + row_h / 2
        parts.append(
            f'<text x="{label_w - 8}" y="{cy + 4}" text-anchor="end" fill="{INK}">{_t(b.label)}</text>'
        )
        if _finite(b.rate):
            parts.append(
                f'<rect x="{label_w}" y="{y0 + 5}" width="{x(b.rate) - label_w:.1f}" '
                f'height="{row_h - 10}" fill="{NEUTRAL}" fill-opacity="0.35"/>'
            )
            if _finite(b.low) and _finite(b.high):
                parts.append(
                    f'<line x1="{x(b.low):.1f}" y1="{cy}" x2="{x(b.high):.1f}" y2="{cy}" stroke="{INK}" stroke-width="1.5"/>'
                )
            text = f"{b.rate:.0%} (n={b.n})"
        else:
            text = f"no closed deals (n={b.n})"
        parts.append(
            f'<text x="{label_w + plot_w + 8}" y="{cy + 4}" fill="{INK}">{_t(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def heatmap(
    values: Sequence[Sequence[float]],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str,
    *,
    counts: Sequence[Sequence[int]] | None = None,
    min_count: int = 1,
    as_percent: bool = False,
    show_counts: bool = False,
    cell_w: int = 24,
    cell_h: int = 22,
) -> str:
    """A grid of coloured cells (darker = higher) with each value written in its cell.

    Cells with a count below `min_count` (or a non-finite value) are drawn hatched grey and
    left blank, so a win rate over two calls does not look like a finding. `show_counts`
    writes each shown cell's n under its value (for rates, so a percentage is never read
    without the number of calls it rests on).
    """
    if show_counts and counts is not None:
        cell_w, cell_h = max(cell_w, 28), max(cell_h, 30)
    label_w, top = 44, 40
    width = label_w + cell_w * len(col_labels) + 10
    height = top + cell_h * len(row_labels) + 10
    finite = [
        v
        for r, row in enumerate(values)
        for c, v in enumerate(row)
        if _finite(v) and (counts is None or counts[r][c] >= min_count)
    ]
    vmax = max(finite) if finite else 1.0
    vmin = min(finite) if finite and as_percent else 0.0
    span = (vmax - vmin) or 1.0
    parts = _open(width, height, title)
    parts.append(f'<text x="{label_w}" y="16" font-weight="600" fill="{INK}">{_t(title)}</text>')
    for c, label in enumerate(col_labels):
        parts.append(
            f'<text x="{label_w + cell_w * c + cell_w / 2}" y="{top - 6}" text-anchor="middle" '
            f'font-size="10" fill="{MUTED}">{_t(label)}</text>'
        )
    for r, label in enumerate(row_labels):
        y0 = top + cell_h * r
        parts.append(
            f'<text x="{label_w - 6}" y="{y0 + cell_h / 2 + 4}" text-anchor="end" fill="{INK}">{_t(label)}</text>'
        )
        for c in range(len(col_labels)):
            v = values[r][c]
            x0 = label_w + cell_w * c
            shown = _finite(v) and (counts is None or counts[r][c] >= min_count)
            if not shown:
                parts.append(
                    f'<rect x="{x0}" y="{y0}" width="{cell_w - 1}" height="{cell_h - 1}" fill="#f5f7fa"/>'
                )
                continue
            level = (v - vmin) / span
            parts.append(
                f'<rect x="{x0}" y="{y0}" width="{cell_w - 1}" height="{cell_h - 1}" '
                f'fill="{NEUTRAL}" fill-opacity="{0.08 + 0.82 * level:.2f}">'
                f"<title>{_t(f'{row_labels[r]} {col_labels[c]}: {_cell(v, as_percent)}' + (f' (n={counts[r][c]})' if counts is not None else ''))}</title></rect>"
            )
            ink = "#ffffff" if level > 0.55 else INK
            dy = -3 if show_counts and counts is not None else 3
            parts.append(
                f'<text x="{x0 + cell_w / 2}" y="{y0 + cell_h / 2 + dy}" text-anchor="middle" '
                f'font-size="9" fill="{ink}">{_t(_cell(v, as_percent))}</text>'
            )
            if show_counts and counts is not None:
                parts.append(
                    f'<text x="{x0 + cell_w / 2}" y="{y0 + cell_h / 2 + 9}" text-anchor="middle" '
                    f'font-size="7" fill="{ink}">n{int(counts[r][c])}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)


def _cell(v: float, as_percent: bool) -> str:
    return f"{v * 100:.0f}" if as_percent else f"{v:.0f}"
