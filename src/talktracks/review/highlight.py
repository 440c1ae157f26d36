"""Transcript text with tagged spans wrapped in <mark>, built safely.

Every piece of transcript text is escaped first; markup is only ever added around escaped
pieces (markupsafe), so text such as <script> or onerror= stays inert whatever the offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from talktracks.coaching.wording import behaviour_words


@dataclass(frozen=True)
class Span:
    """Evidence of a tag: character offsets into the utterance text, end exclusive."""

    start: int
    end: int
    behaviour: str
    score: float
    rejected: bool = False


def highlight(text: str, spans: Sequence[Span]) -> Markup:
    """`text` as escaped HTML with each span's characters inside <mark>. Overlapping spans are
    split at every boundary, so each piece is marked once with all behaviours covering it.
    Offsets outside the text are clamped; empty spans are ignored."""
    n = len(text)
    clamped = [(min(max(s.start, 0), n), min(max(s.end, 0), n), s) for s in spans]
    clamped = [(a, b, s) for a, b, s in clamped if a < b]
    bounds = sorted({0, n, *(a for a, _, _ in clamped), *(b for _, b, _ in clamped)})
    out: list[Markup] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        piece = escape(text[a:b])
        covering = [s for x, y, s in clamped if x <= a and b <= y]
        if not covering:
            out.append(piece)
            continue
        state = " rejected" if all(s.rejected for s in covering) else ""
        title = "; ".join(f"{behaviour_words(s.behaviour)} {s.score:.2f}" for s in covering)
        names = " ".join(s.behaviour for s in covering)
        out.append(
            Markup('<mark class="tag{}" data-behaviours="{}" title="{}">{}</mark>').format(
                state, names, title, piece
            )
        )
    return Markup("").join(out)
