"""Errors a user can cause. Each carries a one-line message naming what and where.

They are caught at the CLI and HTTP boundaries and printed as that one line; everything else
is an internal error and keeps its traceback in the logs.
"""


class TalktracksError(Exception):
    """Base for errors caused by input or configuration, shown to the user as one line."""

    exit_code = 2


class ConfigError(TalktracksError):
    """A setting is missing or invalid."""


class StoreUnavailable(TalktracksError):
    """The database URL cannot be opened or written."""


class ManifestError(TalktracksError):
    """calls.csv is malformed; nothing has been processed."""


class ModelHashMismatch(TalktracksError):
    """A model file's SHA-256 differs from the pinned one; we refuse to load it."""


class ModelNotFound(TalktracksError):
    """The configured model cannot be resolved to files on this machine."""


class AudioDecodeError(TalktracksError):
    """A recording cannot be decoded (corrupt, truncated, empty or not audio)."""


class RecordingNotFound(TalktracksError):
    """A manifest row names a recording that does not exist."""


class InputError(TalktracksError):
    """A user-supplied file (deals CSV, labels, transcripts) is invalid."""


class StoreBusy(TalktracksError):
    """Another nightly run holds the store's lease; this one did not start."""

    exit_code = 3


class StoreWriteError(TalktracksError):
    """The database stopped accepting writes mid-run (disk full, read-only); the run stopped."""
