"""Sign-in throttling, kept in the store so it holds across restarts and worker processes.

Three buckets count failed sign-ins inside a window (default 15 minutes):
- per (user name, address): after `pair_limit` failures that address may not try that name
  again, not even with the right password, until `lock_s` has passed. This stops guessing.
- per address: after `address_limit` failures (any names) the address is locked the same way.
  This stops one address spraying many names.
- per user name, from any address: never locks. After `user_slow_after` failures every
  attempt for the name waits first, 1 s doubling with each failure up to `user_max_delay_s`.
  This slows guessing spread over many addresses, while the real user, from an address that
  is not locked, still gets in with the right password after the wait.
The threat model behind these choices is in docs/review-app.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from talktracks.store import SignInBucket, Store
from talktracks.store.models import UTCDateTime, utcnow

MAX_KEY_PART = 200


@dataclass(frozen=True)
class ThrottlePolicy:
    pair_limit: int = 5
    address_limit: int = 20
    window_s: int = 15 * 60
    lock_s: int = 15 * 60
    user_slow_after: int = 5
    user_max_delay_s: float = 30.0


@dataclass(frozen=True)
class Verdict:
    locked_for_s: float  # > 0: refuse this attempt (its address is locked for the name or all)
    delay_s: float  # wait this long before checking the password


def _name(user: str) -> str:
    return user.strip().casefold()[:MAX_KEY_PART]


def _keys(user: str, address: str) -> dict[str, str]:
    name, addr = _name(user), address[:MAX_KEY_PART]
    return {"pair": f"pair:{name}|{addr}", "user": f"user:{name}", "address": f"address:{addr}"}


def check(store: Store, policy: ThrottlePolicy, user: str, address: str) -> Verdict:
    """May `address` try to sign in as `user` now, and after how long a wait?"""
    keys = _keys(user, address)
    now = utcnow()
    with store.session() as s:
        rows = {
            b.key: b
            for b in s.scalars(select(SignInBucket).where(SignInBucket.key.in_(keys.values())))
        }
    locked = 0.0
    for kind in ("pair", "address"):
        row = rows.get(keys[kind])
        if row is not None and row.locked_until is not None and row.locked_until > now:
            locked = max(locked, (row.locked_until - now).total_seconds())
    delay = 0.0
    row = rows.get(keys["user"])
    if row is not None and row.window_start > now - timedelta(seconds=policy.window_s):
        over = row.failures - policy.user_slow_after
        if over >= 0:
            delay = min(policy.user_max_delay_s, 2.0 ** min(over, 30))
    return Verdict(locked_for_s=locked, delay_s=delay)


def _count_failure(s: Session, key: str, now: datetime, window_start_after: datetime) -> int:
    """Add one failure to `key`'s bucket (a new window if the old one is over); returns the count.
    Update first, so the write lock is taken before reading (no lost updates between processes)."""
    fresh = SignInBucket.window_start > window_start_after
    now_param = bindparam("now_value", now, type_=UTCDateTime())
    result = s.execute(
        update(SignInBucket)
        .where(SignInBucket.key == key)
        .values(
            failures=case((fresh, SignInBucket.failures + 1), else_=1),
            window_start=case((fresh, SignInBucket.window_start), else_=now_param),
            last_failure_at=now,
        )
    )
    if not result.rowcount:
        try:
            with s.begin_nested():
                s.add(SignInBucket(key=key, failures=1, window_start=now, last_failure_at=now))
        except IntegrityError:  # another process inserted it first: count on its row
            return _count_failure(s, key, now, window_start_after)
        return 1
    return s.scalar(select(SignInBucket.failures).where(SignInBucket.key == key)) or 1


def record_failure(store: Store, policy: ThrottlePolicy, user: str, address: str) -> None:
    keys = _keys(user, address)
    now = utcnow()
    window_start_after = now - timedelta(seconds=policy.window_s)
    with store.session() as s:
        limits = {"pair": policy.pair_limit, "address": policy.address_limit}
        for kind, key in keys.items():
            failures = _count_failure(s, key, now, window_start_after)
            if kind in limits and failures >= limits[kind]:
                until = now + timedelta(seconds=policy.lock_s)
                s.execute(
                    update(SignInBucket).where(SignInBucket.key == key).values(locked_until=until)
                )
        # Forget buckets nobody has failed in for a window and that lock nothing, so guessed
        # names do not pile up.
        stale = now - timedelta(seconds=max(policy.window_s, policy.lock_s))
        s.execute(
            delete(SignInBucket).where(
                SignInBucket.last_failure_at < stale,
                or_(SignInBucket.locked_until.is_(None), SignInBucket.locked_until < now),
            )
        )


def record_success(store: Store, user: str, address: str) -> None:
    """The right password from `address`: its own failures for the name are forgiven. The
    per-user bucket is not (it would hand an attacker elsewhere a fresh start)."""
    with store.session() as s:
        s.execute(delete(SignInBucket).where(SignInBucket.key == _keys(user, address)["pair"]))


def unlock(s: Session, user: str) -> int:
    """Forget every failure counted for `user` (all addresses); returns the buckets removed."""
    name = _name(user)
    result = s.execute(
        delete(SignInBucket).where(
            or_(
                SignInBucket.key == f"user:{name}",
                SignInBucket.key.startswith(f"pair:{name}|", autoescape=True),
            )
        )
    )
    return result.rowcount or 0


def locked_addresses(s: Session, user: str) -> list[tuple[str, datetime]]:
    """Addresses currently locked out of `user`, with until when (for the admin page)."""
    name, now = _name(user), utcnow()
    prefix = f"pair:{name}|"
    rows = s.execute(
        select(SignInBucket.key, SignInBucket.locked_until).where(
            SignInBucket.key.startswith(prefix, autoescape=True),
            SignInBucket.locked_until > now,
        )
    ).all()
    return [(key[len(prefix) :], until) for key, until in rows]
