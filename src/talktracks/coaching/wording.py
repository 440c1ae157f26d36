"""Plain-words formatting shared by flag reasons and the review pages."""

from __future__ import annotations


def clock(seconds: float | None) -> str:
    """0:07, 2:05, 1:02:05 (rounded down to the second); '' for None."""
    if seconds is None:
        return ""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def behaviour_words(name: str) -> str:
    """'price_mention' -> 'price mention'."""
    return name.replace("_", " ")
