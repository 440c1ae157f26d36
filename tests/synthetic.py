"""Synthetic deals and transcripts with planted effects, for tests and the benchmark.

The generator draws, in order:
1. reps with a skill (log-odds of winning per SD) that also makes them ask for referrals and
   mention competitors more often: the confounding the rep control must remove;
2. deals (rep, amount) and, per deal, which behaviours happen: referral request, product
   introduction, competitor mention (all rep), price (rep; early or not, sometimes also the
   customer);
3. calls per deal and utterances per call (rep/customer turns, some 'unknown', pauses,
   questions), then tags placed on utterances that honour each behaviour's timing;
4. outcomes from the *realised* features: logit(P(won)) = base + skill + log(OR_referral) *
   has_referral_request + log(OR_early) * early_price_mention + amount effect. Product
   introduction and competitor mention have no effect (planted nulls; competitor mention is
   confounded with skill, so it looks like a winner unless the rep is controlled for), and no
   call metric has an effect.

Everything is vectorised numpy/pandas so the benchmark's 3 million utterances take seconds.
`Synthetic.dataset()` gives an analysis Dataset directly; `Synthetic.write(store)` inserts the
rows with Core executemany for end-to-end tests and the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sqlalchemy import insert

from talktracks.analysis.load import Dataset
from talktracks.store import Call, Deal, Store, Tag, Utterance

REFERRAL = "referral_request"
PRODUCT = "product_introduction"
PRICE = "price_mention"
COMPETITOR = "competitor_mention"  # a behaviour beyond the first three: no code knows its name

REP_TEXT = np.array(
    [
        "Thanks for taking the time today.",
        "Let me walk you through how teams like yours use it.",
        "That makes sense, we see that a lot.",
        "I can send over a summary after the call.",
        "Our onboarding usually takes two weeks.",
    ]
)
REP_QUESTIONS = np.array(
    [
        "What does your current process look like?",
        "Who else is involved in the decision?",
        "How are you handling this today?",
        "What would success look like for you? And by when?",
    ]
)
CUSTOMER_TEXT = np.array(
    [
        "We mostly do it by hand right now.",
        "That sounds interesting.",
        "I would need to check with my manager.",
        "Our budget cycle starts in the spring.",
        "Can you tell me more about the integrations?",
    ]
)


@dataclass(frozen=True)
class SyntheticConfig:
    """Sizes and planted effects. Odds ratios are the truth the analysis should recover."""

    n_deals: int = 1500
    n_reps: int = 30
    min_calls_per_deal: int = 1
    max_calls_per_deal: int = 5
    utterances_per_call: int = 16
    open_share: float = 0.15
    with_amounts: bool = True
    skill_sd: float = 1.0
    base_win_logit: float = -0.3
    or_referral: float = 2.0
    or_early_price: float = 0.5
    amount_effect: float = -0.3  # log-odds per SD of log amount
    referral_rate: float = 0.45
    referral_skill: float = 1.2  # log-odds per SD of skill: the confounding
    competitor_rate: float = 0.35
    competitor_skill: float = 1.2
    product_rate: float = 0.6
    price_rate: float = 0.65
    early_given_price: float = 0.45
    customer_price_given_price: float = 0.3
    other_rep_call_share: float = 0.3  # of deals with 3+ calls, last call made by a colleague
    n_unlinked_calls: int = 12  # half with an unknown deal_id, half with none
    n_failed_calls: int = 4
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    top_rep_hours: tuple[int, ...] = ()  # if set, the most skilled quarter calls at these hours
    top_rep_hour_share: float = 0.8

    def truth(self) -> dict[str, float]:
        """Planted odds ratios, by feature name."""
        return {
            f"has_{REFERRAL}": self.or_referral,
            "early_price_mention": self.or_early_price,
            f"has_{PRODUCT}": 1.0,
            f"has_{COMPETITOR}": 1.0,
        }


NULL_FEATURES = (
    f"has_{PRODUCT}",
    f"has_{COMPETITOR}",
    "mean_duration_s_above_median",
    "mean_rep_talk_ratio_above_median",
    "mean_longest_monologue_s_above_median",
    "mean_rep_questions_per_min_above_median",
    "mean_switches_per_min_above_median",
    "mean_patience_s_above_median",
)
"""Features with no planted effect on winning."""


@dataclass
class Synthetic:
    """Store-shaped frames plus the hidden truth (rep skill, realised features)."""

    config: SyntheticConfig
    calls: pd.DataFrame
    utterances: pd.DataFrame
    tags: pd.DataFrame
    deals: pd.DataFrame
    reps: pd.DataFrame
    realised: pd.DataFrame  # per deal: the features the outcome was drawn from
    truth: dict[str, float] = field(default_factory=dict)

    def dataset(self) -> Dataset:
        """The analysis Dataset for these rows, without a database."""
        return Dataset.from_frames(self.calls, self.utterances, self.tags, self.deals)

    def write(self, store: Store, chunk: int = 200_000) -> None:
        """Insert all rows: calls and deals through Core (their types need SQLAlchemy's
        conversions), utterances and tags as plain DB-API executemany of tuples, which is
        several times faster for millions of rows."""
        calls = self.calls.astype(object).where(self.calls.notna(), None)
        calls["started_at"] = [
            None if ts is None else pd.Timestamp(ts).to_pydatetime() for ts in calls["started_at"]
        ]
        deals = self.deals.astype(object).where(self.deals.notna(), None)
        deals["closed_at"] = [
            None if d is None else pd.Timestamp(d).date() for d in deals["closed_at"]
        ]
        with store.engine.begin() as conn:
            conn.execute(insert(Deal), deals.to_dict("records"))
            conn.execute(insert(Call), calls.to_dict("records"))
            for table, frame in (
                (Utterance.__table__, self.utterances),
                (Tag.__table__, self.tags),
            ):
                cols = [c for c in frame.columns if c in table.c]
                names = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in cols)
                mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
                sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([mark] * len(cols))})"
                columns = [frame[c].to_numpy(dtype=object) for c in cols]
                for lo in range(0, len(frame), chunk):
                    rows = list(zip(*(c[lo : lo + chunk] for c in columns), strict=True))
                    conn.exec_driver_sql(sql, rows)


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of the given sizes laid end to end: each row's group and position in it."""
    group = np.repeat(np.arange(counts.size), counts)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return group, np.arange(group.size) - offsets[group]


def generate(seed: int, config: SyntheticConfig | None = None, **overrides: object) -> Synthetic:
    """Draw one synthetic team. Same seed and config -> same data."""
    cfg = replace(config or SyntheticConfig(), **overrides)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)

    # Reps and deals. Extra "ghost" deals carry the unlinked calls and are dropped at the end.
    skill = rng.normal(0, cfg.skill_sd, cfg.n_reps)
    reps = pd.DataFrame({"rep_id": [f"rep{r:03d}" for r in range(cfg.n_reps)], "skill": skill})
    n_ghost = cfg.n_unlinked_calls
    n_all = cfg.n_deals + n_ghost
    deal_rep = rng.integers(0, cfg.n_reps, n_all)
    deal_skill = skill[deal_rep]
    log_amount = rng.normal(10.0, 0.8, n_all)
    amount = np.round(np.exp(log_amount), -2)

    wants_ref = rng.random(n_all) < expit(
        logit(cfg.referral_rate) + cfg.referral_skill * deal_skill
    )
    wants_comp = rng.random(n_all) < expit(
        logit(cfg.competitor_rate) + cfg.competitor_skill * deal_skill
    )
    wants_prod = rng.random(n_all) < cfg.product_rate
    wants_price = rng.random(n_all) < cfg.price_rate
    wants_early = wants_price & (rng.random(n_all) < cfg.early_given_price)
    wants_cust_price = wants_price & (rng.random(n_all) < cfg.customer_price_given_price)

    # Calls: 1-5 per deal (ghost deals: 1), spread over weeks, in office hours on weekdays.
    n_calls = rng.integers(cfg.min_calls_per_deal, cfg.max_calls_per_deal + 1, n_all)
    n_calls[cfg.n_deals :] = 1
    call_deal, call_pos = _segments(n_calls)
    nc = call_deal.size
    first_call = np.concatenate([[0], np.cumsum(n_calls)[:-1]])
    # A colleague takes the last call of some deals with 3+ calls: the owner still has the
    # majority, so the "rep on most calls" rule finds the true owner. (Where ownership is a tie
    # the rule can pick the wrong rep, and rep skill then leaks into the estimates; measured at
    # +0.13 on the log-odds scale of a skill-driven null with 10% colleague calls anywhere.)
    last = call_pos == n_calls[call_deal] - 1
    by_colleague = last & (n_calls[call_deal] >= 3) & (rng.random(nc) < cfg.other_rep_call_share)
    call_rep = np.where(by_colleague, rng.integers(0, cfg.n_reps, nc), deal_rep[call_deal])
    deal_day = rng.uniform(0, 180, n_all)
    gaps = rng.exponential(5.0, nc) * (call_pos > 0)
    day = deal_day[call_deal] + pd.Series(gaps).groupby(call_deal).cumsum().to_numpy()
    day = np.floor(day)
    weekday = (day.astype(int) + cfg.start.weekday()) % 7
    # Weekend calls move to a random weekday of the next week.
    day = day + np.where(weekday >= 5, 7 - weekday + rng.integers(0, 5, nc), 0)
    hour = rng.choice(np.arange(7, 20), nc, p=_hour_weights())
    if cfg.top_rep_hours:
        # Drawn only when asked for, so other tests' data stay identical.
        top_reps = np.argsort(-skill)[: max(1, cfg.n_reps // 4)]
        by_top = np.isin(call_rep, top_reps) & (rng.random(nc) < cfg.top_rep_hour_share)
        hour = np.where(by_top, rng.choice(np.array(cfg.top_rep_hours), nc), hour)
    seconds = day * 86400 + hour * 3600 + rng.integers(0, 3600, nc)
    started = pd.Timestamp(cfg.start) + pd.to_timedelta(seconds, unit="s")

    # Utterances: alternating turns, sometimes two in a row from one side, a little 'unknown'.
    base = cfg.utterances_per_call
    n_utt = rng.integers(max(2, int(base * 0.75)), int(base * 1.25) + 2, nc)
    u_call, u_pos = _segments(n_utt)
    nu = u_call.size
    switch = (rng.random(nu) < 0.75) & (u_pos > 0)
    # The rep opens every call. Besides being typical, it guarantees an early rep utterance to
    # carry an early price mention: if placing a tag could fail, success would depend on the
    # call's shape, and the call metrics would inherit the price-timing effect (a hidden path
    # that would make the metric "nulls" not null).
    first_rep = np.ones(nc, dtype=bool)
    parity = (pd.Series(switch.astype(int)).groupby(u_call).cumsum().to_numpy() % 2).astype(bool)
    is_rep = np.where(first_rep[u_call], ~parity, parity)
    speaker = np.where(is_rep, "rep", "customer").astype(object)
    speaker[(rng.random(nu) < 0.02) & (u_pos > 0)] = "unknown"
    length = np.where(is_rep, rng.gamma(2.0, 3.5, nu), rng.gamma(2.0, 2.5, nu))
    pause = rng.exponential(0.7, nu) - np.where(rng.random(nu) < 0.08, 1.0, 0.0)
    step = np.where(u_pos == 0, rng.uniform(0.2, 1.5, nu), pause)
    # start_i = start_{i-1} + length_{i-1} + pause_i, within each call.
    prev_len = np.concatenate([[0.0], length[:-1]]) * (u_pos > 0)
    start = pd.Series(step + prev_len).groupby(u_call).cumsum().to_numpy()
    start = np.round(np.maximum(start, 0.0), 2)
    end = np.round(start + length, 2)
    call_end = pd.Series(end).groupby(u_call).max().to_numpy()
    duration = call_end + rng.uniform(0.5, 4.0, nc)
    question = is_rep & (rng.random(nu) < 0.3)
    text = np.where(
        speaker == "customer",
        CUSTOMER_TEXT[rng.integers(0, CUSTOMER_TEXT.size, nu)],
        np.where(
            question,
            REP_QUESTIONS[rng.integers(0, REP_QUESTIONS.size, nu)],
            REP_TEXT[rng.integers(0, REP_TEXT.size, nu)],
        ),
    )
    frac = start / duration[u_call]

    utt_id = np.arange(1, nu + 1)
    rep_utt = speaker == "rep"
    cust_utt = speaker == "customer"

    def place(deal_mask: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """One random allowed utterance in one random call of each selected deal (ids)."""
        deals_sel = np.flatnonzero(deal_mask)
        chosen = first_call[deals_sel] + rng.integers(0, n_calls[deals_sel])
        picked = np.zeros(nc, dtype=bool)
        picked[chosen] = True
        cand = np.flatnonzero(picked[u_call] & allowed)
        order = cand[np.argsort(rng.random(cand.size))]
        _, first = np.unique(u_call[order], return_index=True)
        return utt_id[order[first]]

    placed: list[tuple[str, np.ndarray]] = [
        (REFERRAL, place(wants_ref, rep_utt)),
        (COMPETITOR, place(wants_comp, rep_utt)),
        (PRODUCT, place(wants_prod, rep_utt)),
        (PRICE, place(wants_early, rep_utt & (frac < 0.25))),
        (PRICE, place(wants_price & ~wants_early, rep_utt & (frac >= 0.25))),
        (PRICE, place(wants_early & (rng.random(n_all) < 0.5), rep_utt & (frac >= 0.25))),
        (PRICE, place(wants_cust_price, cust_utt)),
    ]
    tag_utt = np.concatenate([ids for _, ids in placed])
    tag_beh = np.concatenate([np.full(ids.size, b, dtype=object) for b, ids in placed])
    row = tag_utt - 1
    tags = pd.DataFrame(
        {
            "utterance_id": tag_utt,
            "call_id": [f"C{c:07d}" for c in u_call[row]],
            "behaviour": tag_beh,
            "score": 0.9,
            "source": "rule",
            "evidence_start": 0,
            "evidence_end": 8,
            "model_version": "synthetic",
        }
    )

    # Realised deal features, computed independently of the analysis code.
    t_deal = call_deal[u_call[row]]
    t_rep = speaker[row] == "rep"

    def realised(mask: np.ndarray) -> np.ndarray:
        out = np.zeros(n_all, dtype=bool)
        out[t_deal[mask]] = True
        return out

    has_ref = realised((tag_beh == REFERRAL) & t_rep)
    early = realised((tag_beh == PRICE) & t_rep & (frac[row] < 0.25))
    z_amount = (log_amount - log_amount.mean()) / log_amount.std()
    lin = (
        cfg.base_win_logit
        + deal_skill
        + np.log(cfg.or_referral) * has_ref
        + np.log(cfg.or_early_price) * early
        + cfg.amount_effect * z_amount
    )
    won = rng.random(n_all) < expit(lin)
    is_open = rng.random(n_all) < cfg.open_share
    outcome = np.where(is_open, "open", np.where(won, "won", "lost"))
    closed_day = deal_day + 200
    closed_at = pd.Timestamp(cfg.start.date()) + pd.to_timedelta(np.floor(closed_day), unit="D")

    deal_ids = np.array([f"D{d:06d}" for d in range(n_all)], dtype=object)
    segment = np.where(rng.random(n_all) < 0.5, "smb", "enterprise")
    deals = pd.DataFrame(
        {
            "deal_id": deal_ids,
            "outcome": outcome,
            "amount": amount if cfg.with_amounts else np.nan,
            "closed_at": np.where(is_open, pd.NaT, closed_at),
            "attributes": [{"segment": s} for s in segment],
        }
    ).iloc[: cfg.n_deals]

    call_ids = np.array([f"C{c:07d}" for c in range(nc)], dtype=object)
    call_deal_id = deal_ids[call_deal].copy()
    ghost_calls = np.flatnonzero(call_deal >= cfg.n_deals)
    call_deal_id[ghost_calls] = [f"UNKNOWN{d:04d}" for d in range(ghost_calls.size)]
    call_deal_id[ghost_calls[: ghost_calls.size // 2]] = None
    calls = pd.DataFrame(
        {
            "call_id": call_ids,
            "rep_id": reps["rep_id"].to_numpy()[call_rep],
            "deal_id": call_deal_id,
            "started_at": started,
            "duration": duration,
            "status": "done",
            "source": "import",
            "channels": "stereo",
        }
    )
    failed = pd.DataFrame(
        {
            "call_id": [f"F{i:05d}" for i in range(cfg.n_failed_calls)],
            "rep_id": reps["rep_id"].iloc[0],
            "deal_id": deal_ids[0],
            "started_at": pd.Timestamp(cfg.start),
            "duration": np.nan,
            "status": "failed",
            "source": "audio",
            "channels": "mono",
        }
    )
    calls = pd.concat([calls, failed], ignore_index=True)
    utterances = pd.DataFrame(
        {
            "id": utt_id,
            "call_id": call_ids[u_call],
            "idx": u_pos,
            "speaker": speaker,
            "start": start,
            "end": end,
            "text": text,
            "confidence": 0.9,
        }
    )
    realised_frame = pd.DataFrame(
        {
            "deal_id": deal_ids,
            "rep_id": reps["rep_id"].to_numpy()[deal_rep],
            "skill": deal_skill,
            "has_referral_request": has_ref,
            "early_price_mention": early,
            "outcome": outcome,
        }
    ).iloc[: cfg.n_deals]
    return Synthetic(
        config=cfg,
        calls=calls,
        utterances=utterances,
        tags=tags,
        deals=deals,
        reps=reps,
        realised=realised_frame,
        truth=cfg.truth(),
    )


def _hour_weights() -> np.ndarray:
    w = np.array([1, 3, 5, 6, 5, 3, 4, 5, 5, 4, 3, 2, 1], dtype=float)
    return w / w.sum()
