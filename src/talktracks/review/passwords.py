"""Passwords: argon2id hashing and the one policy the CLI and the web forms both apply.

The policy follows OWASP ASVS level 1 (V2.1): at least 12 characters, no upper limit a person
would reach, checked against common passwords, keyboard patterns, repeats and sequences
(zxcvbn, offline, with its own frequency lists) and against the user's own name.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from talktracks.errors import InputError

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # hashing cost grows with length; refuse absurd inputs up front
MIN_STRENGTH = 3  # zxcvbn score 0-4; 3 = "safely unguessable" (about 10^8 guesses or more)
STRENGTH_CHARS = 100  # zxcvbn's matching is superlinear; the first 100 characters decide
POLICY_TEXT = (
    f"at least {MIN_PASSWORD_CHARS} characters, not a common password or pattern, "
    "and not containing your user name"
)

_hasher = PasswordHasher()


class WeakPassword(InputError):
    """A password the policy refuses; the message says what to change."""


def check_password(password: str, user_name: str) -> None:
    """Raise WeakPassword (one line saying what to change) unless `password` meets the policy."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(
            f"password too short: it has {len(password)} characters, use at least "
            f"{MIN_PASSWORD_CHARS} (a few unrelated words work well)"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise WeakPassword(f"password too long: use at most {MAX_PASSWORD_CHARS} characters")
    if not password.strip():
        raise WeakPassword("password is only spaces: use words or other characters")
    name = user_name.strip().casefold()
    if len(name) >= 3 and name in password.casefold():
        raise WeakPassword("password contains the user name: leave the name out")
    result = zxcvbn(password[:STRENGTH_CHARS], user_inputs=[user_name, "talktracks"])
    if result["score"] < MIN_STRENGTH:
        feedback = result.get("feedback") or {}
        why = (feedback.get("warning") or "it is easy to guess").rstrip(".")
        tips = " ".join(feedback.get("suggestions") or []) or "Add another word or two."
        raise WeakPassword(f"password too easy to guess ({why}): {tips}")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("no such user; this only keeps timing even")


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches. With no hash (unknown user) a dummy hash is checked, so the
    answer takes as long as for a real user and timing does not reveal which names exist."""
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
