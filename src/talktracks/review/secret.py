"""The session-signing secret: generated on first start, kept in the data directory (0600).

It is never in code or the repository; deleting the file signs everyone out on next start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

from talktracks.errors import ConfigError

log = logging.getLogger(__name__)

SECRET_FILE = "review-session.key"
MIN_SECRET_CHARS = 32


def load_or_create_secret(data_dir: Path) -> str:
    """The secret in `data_dir`/review-session.key, created (atomically, mode 0600) if absent."""
    path = data_dir / SECRET_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _create(path)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("%s was readable by others (mode %o); tightened to 0600", path, mode)
        secret = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read or create session secret {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"session secret {path} is not ASCII; delete it to regenerate") from exc
    if len(secret) < MIN_SECRET_CHARS:
        raise ConfigError(f"session secret {path} is too short; delete it to regenerate")
    return secret


def _create(path: Path) -> None:
    # Write a private temp file, then link it into place: a concurrent starter either wins the
    # link or reads the complete file the other one linked; nobody sees a half-written secret.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".review-secret-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
