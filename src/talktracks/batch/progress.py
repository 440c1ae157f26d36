"""A seam for progress reporting: the CLI installs a callback, the flow reports each call."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

_listeners: list[Callable[[str, Any], None]] = []


def report(event: str, payload: Any) -> None:
    for listener in list(_listeners):
        listener(event, payload)


@contextmanager
def listening(callback: Callable[[str, Any], None]):  # type: ignore[no-untyped-def]
    _listeners.append(callback)
    try:
        yield
    finally:
        _listeners.remove(callback)
