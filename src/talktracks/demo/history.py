"""Deterministic demo history: reps, deals, calls and utterance texts with planted truths.

What is planted (so the report has something true to find, and something false to avoid):
- Rep skill raises the odds of winning and also makes a rep ask for referrals more often
  (confounding: without the rep control referrals would look better than they are).
- Asking for a referral doubles the odds of winning (odds ratio 2.0).
- Raising price early in a call (first quarter) multiplies the odds by 0.45 against raising it
  later; raising price at all, later, does nothing (1.0). The nested coding of the analysis
  should recover both.
- Introducing the product does nothing (a behaviour that does not matter).
- Top reps (the most skilled quarter) make most of their calls between 08:00 and 10:00 UTC;
  the others call through the day. Call hour itself has no effect on winning.

Utterance texts come from the sample-call scripts (sample_audio/scripts/*.json), whose
behaviour labels the shipped tagger reproduces exactly (tests/test_sample_calls.py), so the
real tagger finds the planted behaviours when the history is imported. The generator never
writes tags itself.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

DATA_ORIGIN = "synthetic-demo"
"""Value of the `data_origin` CRM column on every demo deal; the report looks for it."""

SCRIPTS_DIR = Path(__file__).resolve().parents[3] / "sample_audio" / "scripts"

EXCLUDED_TEXTS = frozenset(
    {
        # On their own, out of the recorded call's context, the shipped tagger reads these
        # differently from the script's label (tests/test_demo_history.py checks the rest).
        "And is there a data cap?",
        "For most adults the treatment takes about a year, depending on how much your teeth "
        "need to move.",
        "I understand. If you pay the full year up front, we can take eight percent off, which "
        "brings it to about one hundred and seventy dollars a month.",
        "Our quarterly plan is one hundred and nine dollars per visit, and the first visit is "
        "half price.",
        "The full program is three thousand nine hundred dollars. Many insurance plans cover "
        "part of it, and we offer payment plans from ninety nine dollars a month.",
    }
)


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and planted effects (odds ratios are the truth)."""

    seed: int = 2026
    n_reps: int = 24
    n_deals: int = 720
    min_calls: int = 1
    max_calls: int = 3
    turns_per_call: int = 14
    start: datetime = datetime(2025, 12, 1, tzinfo=UTC)
    days: int = 365
    open_share: float = 0.1
    skill_sd: float = 0.8
    base_logit: float = -0.2
    or_referral: float = 2.0
    or_price_later: float = 1.0
    or_early_price: float = 0.45
    referral_rate: float = 0.4
    referral_skill: float = 1.0
    price_rate: float = 0.7
    early_given_price: float = 0.45
    product_rate: float = 0.65
    top_rep_share: float = 0.25
    top_rep_morning_share: float = 0.8


@dataclass
class DemoHistory:
    calls: list[dict] = field(default_factory=list)
    deals: list[dict] = field(default_factory=list)
    reps: list[dict] = field(default_factory=list)


def _pools(scripts_dir: Path) -> dict[str, list[str]]:
    """Texts by role: rep/customer neutral, and rep texts carrying exactly one behaviour."""
    pools: dict[str, list[str]] = defaultdict(list)
    for path in sorted(scripts_dir.glob("*.json")):
        for turn in json.loads(path.read_text(encoding="utf-8"))["turns"]:
            labels = sorted(turn["behaviours"])
            if turn["text"] in EXCLUDED_TEXTS:
                continue
            if turn["speaker"] == "customer" and not labels:
                pools["customer"].append(turn["text"])
            elif turn["speaker"] == "rep" and not labels:
                pools["rep"].append(turn["text"])
            elif turn["speaker"] == "rep" and len(labels) == 1:
                pools[labels[0]].append(turn["text"])
    missing = [
        k
        for k in ("rep", "customer", "price_mention", "referral_request", "product_introduction")
        if not pools[k]
    ]
    if missing:
        raise ValueError(f"{scripts_dir}: no sample texts for {', '.join(missing)}")
    return pools


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def generate_history(
    config: DemoConfig | None = None, scripts_dir: Path = SCRIPTS_DIR
) -> DemoHistory:
    """Draw the whole history. Same config -> byte-identical output."""
    cfg = config or DemoConfig()
    rng = random.Random(cfg.seed)
    pools = _pools(scripts_dir)
    out = DemoHistory()
    skills = sorted((rng.gauss(0, cfg.skill_sd) for _ in range(cfg.n_reps)), reverse=True)
    n_top = max(1, round(cfg.n_reps * cfg.top_rep_share))
    names = [f"demo-rep-{i + 1:02d}" for i in range(cfg.n_reps)]
    order = list(range(cfg.n_reps))
    rng.shuffle(order)  # rep numbers say nothing about skill
    for i, skill in enumerate(skills):
        out.reps.append({"rep_id": names[order[i]], "skill": skill, "top": i < n_top})

    for d in range(cfg.n_deals):
        rep = out.reps[rng.randrange(cfg.n_reps)]
        skill = rep["skill"]
        referral = rng.random() < _expit(_logit(cfg.referral_rate) + cfg.referral_skill * skill)
        price = rng.random() < cfg.price_rate
        early = price and rng.random() < cfg.early_given_price
        product = rng.random() < cfg.product_rate
        n_calls = rng.randint(cfg.min_calls, cfg.max_calls)
        amount = round(math.exp(rng.gauss(8.5, 0.9)), -1)
        lin = (
            cfg.base_logit
            + skill
            + math.log(cfg.or_referral) * referral
            + math.log(cfg.or_price_later) * price
            + math.log(cfg.or_early_price / cfg.or_price_later) * early
        )
        won = rng.random() < _expit(lin)
        first_day = rng.uniform(0, cfg.days - 30)
        deal_id = f"demo-deal-{d + 1:04d}"
        # Which call carries each behaviour.
        where = {
            "referral_request": rng.randrange(n_calls) if referral else None,
            "price_mention": rng.randrange(n_calls) if price else None,
            "product_introduction": rng.randrange(n_calls) if product else None,
        }
        day = first_day
        for c in range(n_calls):
            day += rng.expovariate(1 / 6) if c else 0
            when = _call_time(rng, cfg, day, rep["top"])
            out.calls.append(
                _call(
                    rng,
                    pools,
                    cfg,
                    f"{deal_id}-call{c + 1}",
                    rep["rep_id"],
                    deal_id,
                    when,
                    {b: c == i for b, i in where.items()},
                    early,
                )
            )
        is_open = rng.random() < cfg.open_share
        closed = (cfg.start + timedelta(days=min(day + rng.uniform(3, 25), cfg.days))).date()
        out.deals.append(
            {
                "deal_id": deal_id,
                "outcome": "open" if is_open else ("won" if won else "lost"),
                "amount": f"{amount:.2f}",
                "closed_at": "" if is_open else closed.isoformat(),
                "segment": rng.choice(["smb", "mid-market", "consumer"]),
                "data_origin": DATA_ORIGIN,
            }
        )
    return out


def _call_time(rng: random.Random, cfg: DemoConfig, day: float, top: bool) -> datetime:
    date = cfg.start + timedelta(days=int(day))
    if date.weekday() >= 5:  # weekend: a random weekday of the next week
        date += timedelta(days=7 - date.weekday() + rng.randrange(5))
    if top and rng.random() < cfg.top_rep_morning_share:
        hour = rng.choice([8, 9])
    else:
        hour = rng.choice([10, 11, 12, 13, 14, 15, 16, 17])
    return date.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))


def _call(
    rng: random.Random,
    pools: dict[str, list[str]],
    cfg: DemoConfig,
    call_id: str,
    rep_id: str,
    deal_id: str,
    when: datetime,
    carries: dict[str, bool],
    early_price: bool,
) -> dict:
    n = cfg.turns_per_call + rng.randint(-3, 3)
    n += n % 2  # rep opens, customer answers: even number of turns
    rep_slots = list(range(0, n, 2))
    # Early price goes in the first rep turn after the greeting (inside the first quarter);
    # later price, product and referral go in the second half of the call.
    late_slots = [s for s in rep_slots if s >= n // 2]
    texts = {}
    if carries["price_mention"]:
        texts[2 if early_price else late_slots[0]] = rng.choice(pools["price_mention"])
    free = [s for s in late_slots if s not in texts]
    rng.shuffle(free)
    for b in ("product_introduction", "referral_request"):
        if carries[b] and free:
            texts[free.pop()] = rng.choice(pools[b])
    utterances, t = [], rng.uniform(0.3, 1.2)
    for i in range(n):
        speaker = "rep" if i % 2 == 0 else "customer"
        text = texts.get(i) or rng.choice(pools[speaker])
        length = max(1.5, len(text.split()) * 0.38)
        # Early price turns are kept short enough that they start inside the first quarter.
        utterances.append(
            {"speaker": speaker, "start": round(t, 2), "end": round(t + length, 2), "text": text}
        )
        t += length + rng.uniform(0.3, 1.2)
    return {
        "call_id": call_id,
        "rep_id": rep_id,
        "deal_id": deal_id,
        "started_at": when.isoformat(),
        "duration": round(t + 1.0, 2),
        "utterances": utterances,
    }


def write_demo_history(out_dir: Path | str, config: DemoConfig | None = None) -> tuple[Path, Path]:
    """Write demo_transcripts.jsonl and demo_deals.csv into out_dir; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    history = generate_history(config)
    transcripts = out / "demo_transcripts.jsonl"
    with transcripts.open("w", encoding="utf-8") as fh:
        for call in history.calls:
            fh.write(json.dumps(call, ensure_ascii=False) + "\n")
    deals = out / "demo_deals.csv"
    with deals.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(history.deals[0]))
        writer.writeheader()
        writer.writerows(history.deals)
    return transcripts, deals
