"""How one machine's cores are split between calls: threads per call x calls in flight = cores.

Measured on the sample calls (issue 13): two single-thread decoders side by side did the work
in 0.47 of the time of one decoder with two threads, with identical text, because a call's
decode is a chain of small steps (VAD, feature extraction, beam search per 30 s window) that
one CTranslate2 thread pool cannot keep busy. So the automatic layout prefers more calls with
fewer threads each; memory bounds it (an hour of stereo audio decodes to ~460 MB).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_AUTO_CALLS = 8
CUDA_CALLS = 2  # one call's CPU work (decoding, VAD, merge) overlaps the other's GPU work


@dataclass(frozen=True)
class CallLayout:
    calls_in_flight: int
    threads_per_call: int


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def call_layout(
    calls_in_flight: int, threads_per_call: int, *, cores: int, device: str = "cpu"
) -> CallLayout:
    """Fill in the 0 (automatic) values so that calls x threads = cores (at least 1 each).

    Explicit values win; with one of them given, the other takes the rest of the cores.
    """
    if device == "cuda":
        calls = calls_in_flight or CUDA_CALLS
        return CallLayout(calls, threads_per_call or max(1, cores // calls))
    if calls_in_flight and threads_per_call:
        return CallLayout(calls_in_flight, threads_per_call)
    if threads_per_call:
        return CallLayout(max(1, cores // threads_per_call), threads_per_call)
    calls = calls_in_flight or min(cores, MAX_AUTO_CALLS)
    return CallLayout(calls, max(1, cores // calls))
