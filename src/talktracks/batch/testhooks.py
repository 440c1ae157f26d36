"""TEST-ONLY fault injection. Inert unless the test sets the variable below.

`TALKTRACKS_TEST_KILL_WHILE_TRANSCRIBING=<call_id>` makes the process transcribing that call
SIGKILL itself after the attempt was counted and before the recording is decoded: the same
window in which the out-of-memory killer or a crashing decoder would end it. It exists so the
poison-pill guarantees (tests/test_poison_pill.py) are tested with real processes; it is not a
setting, is not read through talktracks.config, and nothing in production sets it.
"""

from __future__ import annotations

import os
import signal

KILL_VARIABLE = "TALKTRACKS_TEST_KILL_WHILE_TRANSCRIBING"


def die_if_told(call_id: str) -> None:
    """SIGKILL this process when the test hook names `call_id` (test-only; see module doc)."""
    if os.environ.get(KILL_VARIABLE) == call_id:
        os.kill(os.getpid(), signal.SIGKILL)
