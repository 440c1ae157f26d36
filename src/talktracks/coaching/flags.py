"""Coaching flags: evaluate the rules over the store and write new flags idempotently.

Each rule turns facts (see facts.py) into FlagCandidates with a stable dedupe key. Writing
them inserts candidates whose key is new, refreshes the wording and moment of flags that are
still open, and never touches a resolved flag: re-running is safe at any time.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from talktracks.behaviours.taxonomy import load_taxonomy
from talktracks.coaching import facts
from talktracks.coaching.rules import FlagRules, load_rules
from talktracks.coaching.wording import behaviour_words, clock
from talktracks.config import Settings
from talktracks.errors import ConfigError
from talktracks.store import Store
from talktracks.store.models import Flag

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlagCandidate:
    """A flag a rule would raise; becomes a Flag row unless its dedupe key already exists."""

    dedupe_key: str
    call_id: str
    rule: str
    severity: str
    reason: str
    at_seconds: float | None
    utterance_id: int | None


@dataclass(frozen=True)
class FlagSummary:
    """What one evaluation did. `created` counts new flags per rule."""

    calls_checked: int
    created: dict[str, int] = field(default_factory=dict)
    refreshed: int = 0
    unchanged: int = 0

    @property
    def total_created(self) -> int:
        return sum(self.created.values())

    def __str__(self) -> str:
        per_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(self.created.items()))
        new = f"{self.total_created} new flag(s)" + (f" ({per_rule})" if per_rule else "")
        return (
            f"{new}; {self.refreshed} open flag(s) refreshed; {self.unchanged} already present; "
            f"{self.calls_checked} call(s) checked"
        )


def _at(
    rule: str, key: str, call_id: str, severity: str, reason: str, moment: facts.Moment | None
) -> FlagCandidate:
    return FlagCandidate(
        dedupe_key=f"{rule}:{key}",
        call_id=call_id,
        rule=rule,
        severity=severity,
        reason=reason,
        at_seconds=moment.start if moment else None,
        utterance_id=moment.utterance_id if moment else None,
    )


def talk_flags(talks: Iterable[facts.CallTalk], rules: FlagRules) -> Iterator[FlagCandidate]:
    """long_monologue and low_talk_balance, one pass over the calls."""
    mono, balance = rules.long_monologue, rules.low_talk_balance
    for talk in talks:
        if mono.enabled and talk.longest_monologue_s > mono.max_seconds:
            more = (
                f" {talk.monologues_over} monologues in this call were over the limit."
                if talk.monologues_over > 1
                else ""
            )
            reason = (
                f"The rep spoke for {clock(talk.longest_monologue_s)} without the customer "
                f"saying anything (limit {clock(mono.max_seconds)}).{more}"
            )
            yield _at(
                "long_monologue",
                talk.call_id,
                talk.call_id,
                mono.severity,
                reason,
                talk.longest_monologue_at,
            )
        ratio = talk.rep_talk_ratio
        spoken = talk.speech.get("rep", 0.0) + talk.speech.get("customer", 0.0)
        if (
            balance.enabled
            and ratio is not None
            and spoken >= balance.min_speech_seconds
            and ratio > balance.max_rep_talk_ratio
        ):
            reason = (
                f"The rep did {ratio:.0%} of the talking (limit {balance.max_rep_talk_ratio:.0%}); "
                "the customer had little room to speak."
            )
            yield _at(
                "low_talk_balance", talk.call_id, talk.call_id, balance.severity, reason, None
            )


def early_price_flags(
    occurrences: list[facts.Occurrence], durations: dict[str, float], rules: FlagRules
) -> Iterator[FlagCandidate]:
    cfg = rules.early_price
    if not cfg.enabled:
        return
    first: dict[tuple[str, str], facts.Occurrence] = {}
    for occ in occurrences:  # ordered by call and time: the first seen is the first said
        if occ.speaker == "rep":
            first.setdefault((occ.call_id, occ.behaviour), occ)
    for (call_id, behaviour), price in first.items():
        if behaviour != cfg.price_behaviour:
            continue
        intro = first.get((call_id, cfg.introduction_behaviour))
        before_intro = intro is None or intro.moment.start > price.moment.start
        duration = durations.get(call_id, 0.0)
        early = duration > 0 and price.moment.start < cfg.early_fraction * duration
        if not (before_intro or early):
            continue
        why = []
        if before_intro:
            why.append(
                "before introducing the product"
                if intro is None
                else f"before introducing the product (at {clock(intro.moment.start)})"
            )
        if early:
            why.append(f"in the first {cfg.early_fraction:.0%} of a {clock(duration)} call")
        reason = (
            f"The rep first mentioned price at {clock(price.moment.start)}, {' and '.join(why)}."
        )
        yield _at("early_price", call_id, call_id, cfg.severity, reason, price.moment)


def missed_referral_flags(
    deals: dict[str, list[facts.DealCall]],
    occurrences: list[facts.Occurrence],
    last_moments: dict[str, facts.Moment | None],
    rules: FlagRules,
) -> Iterator[FlagCandidate]:
    cfg = rules.missed_referral
    if not cfg.enabled:
        return
    asked = {o.call_id for o in occurrences if o.behaviour == cfg.referral_behaviour}
    for deal_id, calls in deals.items():
        if any(c.call_id in asked for c in calls):
            continue
        last = calls[-1].call_id
        n = len(calls)
        reason = (
            f"Deal {deal_id} was won, but nobody asked for a referral in "
            f"{'its one call' if n == 1 else f'any of its {n} calls'}; this is its last call."
        )
        yield _at("missed_referral", deal_id, last, cfg.severity, reason, last_moments.get(last))


def uncertain_tag_flags(
    tags: list[facts.UncertainTag], rules: FlagRules
) -> Iterator[FlagCandidate]:
    cfg = rules.uncertain_tag
    if not cfg.enabled:
        return
    middle = (cfg.min_score + cfg.max_score) / 2
    by_call: dict[str, list[facts.UncertainTag]] = {}
    for tag in tags:
        by_call.setdefault(tag.call_id, []).append(tag)
    for call_id, call_tags in by_call.items():
        call_tags.sort(key=lambda t: (abs(t.score - middle), t.moment.idx))
        for tag in call_tags[: cfg.max_per_call]:
            reason = (
                f"The classifier is unsure whether this shows {behaviour_words(tag.behaviour)} "
                f"(score {tag.score:.2f}); a coach's confirm or reject here teaches it most."
            )
            key = f"{call_id}:{tag.moment.idx}:{tag.behaviour}"
            yield _at("uncertain_tag", key, call_id, cfg.severity, reason, tag.moment)


def evaluate(session: Session, rules: FlagRules) -> tuple[list[FlagCandidate], int]:
    """All flags the rules raise now, and how many calls with utterances were checked."""
    talks = list(facts.call_talk(session, rules.long_monologue.max_seconds))
    durations = {t.call_id: t.duration for t in talks}
    last_moments = {t.call_id: t.last for t in talks}
    candidates = list(talk_flags(talks, rules))
    occ = [o for o in facts.occurrences(session, rules.behaviours()) if o.call_id in durations]
    candidates += early_price_flags(occ, durations, rules)
    candidates += missed_referral_flags(facts.won_deal_calls(session), occ, last_moments, rules)
    if rules.uncertain_tag.enabled:
        band = facts.uncertain_tags(
            session, rules.uncertain_tag.min_score, rules.uncertain_tag.max_score
        )
        candidates += uncertain_tag_flags([t for t in band if t.call_id in durations], rules)
    return candidates, len(talks)


_REFRESHED = ("call_id", "severity", "reason", "at_seconds", "utterance_id")


def _existing(session: Session, keys: list[str]) -> dict[str, Flag]:
    found: dict[str, Flag] = {}
    for i in range(0, len(keys), 500):
        chunk = select(Flag).where(Flag.dedupe_key.in_(keys[i : i + 500]))
        found.update((f.dedupe_key, f) for f in session.scalars(chunk))
    return found


def write_flags(session: Session, candidates: list[FlagCandidate]) -> tuple[Counter[str], int, int]:
    """Insert new candidates, refresh open ones. Returns (created per rule, refreshed, unchanged)."""
    unique = list({c.dedupe_key: c for c in reversed(candidates)}.values())[::-1]
    existing = _existing(session, [c.dedupe_key for c in unique])
    created: Counter[str] = Counter()
    refreshed = unchanged = 0
    new_rows: list[dict[str, Any]] = []
    for cand in unique:
        flag = existing.get(cand.dedupe_key)
        if flag is None:
            new_rows.append(
                {k: getattr(cand, k) for k in FlagCandidate.__dataclass_fields__}
                | {"status": "open"}
            )
            created[cand.rule] += 1
            continue
        if flag.status == "open" and any(getattr(flag, k) != getattr(cand, k) for k in _REFRESHED):
            for k in _REFRESHED:
                setattr(flag, k, getattr(cand, k))
            refreshed += 1
        else:
            unchanged += 1
    if new_rows:
        session.execute(_insert_ignoring_duplicates(session), new_rows)
    return created, refreshed, unchanged


def _insert_ignoring_duplicates(session: Session) -> Any:
    """INSERT that skips a dedupe key another writer added meanwhile (nightly vs admin re-run)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        return insert(Flag)
    return dialect_insert(Flag).on_conflict_do_nothing(index_elements=["dedupe_key"])


def check_behaviours(rules: FlagRules) -> None:
    """Refuse rules that name a behaviour the taxonomy does not have (it would never fire)."""
    known = set(load_taxonomy().names)
    unknown = sorted(rules.behaviours() - known)
    if unknown:
        raise ConfigError(
            f"coaching rules name unknown behaviour(s) {', '.join(unknown)}; "
            f"the taxonomy has {', '.join(sorted(known))}"
        )


def compute_flags(
    store: Store, settings: Settings, *, rules: FlagRules | None = None
) -> FlagSummary:
    """Evaluate the coaching rules (Settings.coaching_rules over the packaged rules.toml) and
    write the flags. The one entry point of the nightly run and the admin re-run."""
    rules = rules or load_rules(settings.coaching_rules)
    check_behaviours(rules)
    with store.session() as session:
        candidates, calls = evaluate(session, rules)
        created, refreshed, unchanged = write_flags(session, candidates)
    summary = FlagSummary(
        calls_checked=calls, created=dict(created), refreshed=refreshed, unchanged=unchanged
    )
    log.info("coaching flags: %s", summary)
    return summary
