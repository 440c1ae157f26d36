"""Serving a call's recording: only by call id, only from under the recordings root.

The path comes from the call row, never from the request. It is resolved (following every
symlink) and must land on a regular file inside Settings.audio_root with an audio extension;
anything else is a 404 that tells the client nothing about the filesystem. Range requests
(206, Content-Range, Accept-Ranges, If-Range, 416) are handled by Starlette's FileResponse,
which the player needs to seek.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.responses import FileResponse

log = logging.getLogger(__name__)

AUDIO_MEDIA_TYPES: dict[str, str] = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
}


class AudioUnavailable(Exception):
    """The call has no recording we may serve. The message is for the log, not the client."""


def recording_path(recording: str | None, root: Path) -> Path:
    """The real path of a stored recording, checked to be an audio file under `root`.

    A relative stored path is taken relative to `root`. Raises AudioUnavailable otherwise.
    """
    if not recording:
        raise AudioUnavailable("the call has no recording")
    try:
        real_root = root.resolve(strict=True)
        candidate = Path(recording)
        if not candidate.is_absolute():
            candidate = real_root / candidate
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError, ValueError) as exc:  # missing, loop, NUL byte
        raise AudioUnavailable(f"recording {recording!r} cannot be resolved: {exc}") from exc
    if not real.is_relative_to(real_root):
        raise AudioUnavailable(f"recording {recording!r} resolves outside {real_root}")
    if not real.is_file():
        raise AudioUnavailable(f"recording {recording!r} is not a regular file")
    if real.suffix.lower() not in AUDIO_MEDIA_TYPES:
        raise AudioUnavailable(f"recording {recording!r} has no known audio extension")
    return real


def audio_response(path: Path) -> FileResponse:
    """A FileResponse for a checked path, with the content type its extension says."""
    return FileResponse(
        path,
        media_type=AUDIO_MEDIA_TYPES[path.suffix.lower()],
        stat_result=os.stat(path),
        # no-store: customer audio must not stay in the browser cache after sign-out.
        headers={"cache-control": "no-store"},
    )
