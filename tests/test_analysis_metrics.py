"""Call metrics, deal features, talk tracks and KPIs on hand-made transcripts with known answers."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from talktracks.analysis import Dataset
from talktracks.analysis.features import deal_features, price_timing
from talktracks.analysis.kpis import call_times, hour_slot_win_rates, rep_kpis
from talktracks.analysis.metrics import call_metrics
from talktracks.analysis.tracks import NO_TRACK, OTHER, talk_tracks

# One call of 100 s; (speaker, start, end, text). Expected values are worked out by hand:
# rep runs [0-30] (utterances 0+1 merge), [43-50], [54-70] (unknown at 61 does not split it),
# [85-99]; customer runs [32-40], [48-55], [72-80].
CALL_A = [
    ("rep", 0, 10, "Hi there. How are you?"),  # 1 question
    ("rep", 11, 30, "Let me explain our product."),
    ("customer", 32, 40, "Sure, go ahead?"),  # customer question: not counted
    ("unknown", 40, 41, "(crosstalk)"),
    ("rep", 43, 50, "Any questions? Really?"),  # 2 questions; answer after 3 s
    ("customer", 48, 55, "Well, what does it cost"),  # interrupts the rep
    ("rep", 54, 60, "It depends on seats."),  # starts before the customer ends: no patience
    ("unknown", 61, 62, "(noise)"),
    ("rep", 63, 70, "Usually about ten dollars."),
    ("customer", 72, 80, "Okay."),
    ("rep", 85, 99, "What would be a good next step?"),  # 1 question; answer after 5 s
]
# Tags: (utterance index in CALL_A, behaviour)
TAGS_A = [
    (2, "price_mention"),  # customer: counts for price (any speaker)
    (4, "product_introduction"),
    (4, "product_introduction"),  # a second tag (another model version) counts once
    (6, "price_mention"),  # rep's first price mention, at 54 s: not early
    (9, "referral_request"),  # customer: outside the rep-only scope
    (10, "referral_request"),
]
# Second call of the same deal: 60 s, rep mentions price at 10 s and never introduces the product.
CALL_B = [
    ("rep", 0, 8, "Hello again."),
    ("rep", 10, 20, "The price is ten per seat."),
    ("customer", 22, 40, "Fine."),
    ("rep", 42, 55, "Great."),
]
TAGS_B = [(1, "price_mention")]


def build(
    calls: list[dict],
    transcripts: dict[str, list[tuple]],
    tags: dict[str, list[tuple[int, str]]],
    deals: list[dict],
) -> Dataset:
    """A Dataset from small literal tables (ids assigned in order)."""
    utt_rows, tag_rows, next_id = [], [], 1
    for call_id, rows in transcripts.items():
        ids = []
        for idx, (speaker, start, end, text) in enumerate(rows):
            utt_rows.append(
                {
                    "id": next_id,
                    "call_id": call_id,
                    "idx": idx,
                    "speaker": speaker,
                    "start": float(start),
                    "end": float(end),
                    "text": text,
                }
            )
            ids.append(next_id)
            next_id += 1
        for i, behaviour in tags.get(call_id, []):
            tag_rows.append({"call_id": call_id, "utterance_id": ids[i], "behaviour": behaviour})
    return Dataset.from_frames(
        pd.DataFrame(calls),
        pd.DataFrame(utt_rows),
        pd.DataFrame(tag_rows, columns=["call_id", "utterance_id", "behaviour"]),
        pd.DataFrame(deals),
    )


def at(day: int, hour: int) -> datetime:
    return datetime(2024, 3, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def two_calls() -> Dataset:
    return build(
        calls=[
            {
                "call_id": "A",
                "rep_id": "r1",
                "deal_id": "D1",
                "started_at": at(4, 9),
                "duration": 100.0,
            },
            {
                "call_id": "B",
                "rep_id": "r1",
                "deal_id": "D1",
                "started_at": at(6, 15),
                "duration": None,
            },
        ],
        transcripts={"A": CALL_A, "B": CALL_B},
        tags={"A": TAGS_A, "B": TAGS_B},
        deals=[{"deal_id": "D1", "outcome": "won", "amount": 1000.0, "closed_at": "2024-04-01"}],
    )


def test_conversation_metrics_match_hand_computed_values(two_calls: Dataset) -> None:
    m = call_metrics(two_calls).set_index("call_id")
    a = m.loc["A"]
    assert a["duration_s"] == 100
    assert a["rep_talk_ratio"] == pytest.approx(63 / 86)  # rep 10+19+7+6+7+14, customer 8+7+8
    assert a["longest_monologue_s"] == pytest.approx(30)  # utterances 0 and 1 merged
    assert a["rep_questions_per_min"] == pytest.approx(4 / (100 / 60))
    assert a["switches_per_min"] == pytest.approx(6 / (100 / 60))
    assert a["patience_s"] == pytest.approx((3 + 5) / 2)  # the interruption (-1 s) is left out
    assert a["n_utterances"] == len(CALL_A)


def test_behaviour_counts_scope_and_first_occurrence(two_calls: Dataset) -> None:
    a = call_metrics(two_calls).set_index("call_id").loc["A"]
    assert a["price_mention_count"] == 2  # customer and rep
    assert a["price_mention_first_s"] == 32 and a["price_mention_first_frac"] == pytest.approx(0.32)
    assert a["product_introduction_count"] == 1  # duplicate tag counted once
    assert a["product_introduction_first_s"] == 43
    assert a["referral_request_count"] == 1  # customer's referral tag is out of scope
    assert a["referral_request_first_s"] == 85


def test_duration_falls_back_to_last_utterance_end(two_calls: Dataset) -> None:
    b = call_metrics(two_calls).set_index("call_id").loc["B"]
    assert b["duration_s"] == 55
    assert b["longest_monologue_s"] == pytest.approx(20)  # 0-20, two rep utterances
    assert np.isnan(b["referral_request_first_s"]) and b["referral_request_count"] == 0


def test_behaviours_argument_adds_untagged_behaviours(two_calls: Dataset) -> None:
    m = call_metrics(two_calls, behaviours=["objection_handling"])
    assert (m["objection_handling_count"] == 0).all()
    f = deal_features(two_calls, behaviours=["objection_handling"])
    assert not f["has_objection_handling"].any()


def test_deal_features_price_timing(two_calls: Dataset) -> None:
    f = deal_features(two_calls).set_index("deal_id").loc["D1"]
    assert f["has_price_mention"] and f["has_product_introduction"] and f["has_referral_request"]
    # Call A: rep's first price at 54/100 (late) and after the product introduction at 43;
    # call B: price at 10/55 (early) with no product introduction -> both true for the deal.
    assert f["early_price_mention"] and f["price_before_product_introduction"]
    assert f["n_calls"] == 2 and f["won"] == 1.0 and f["rep_id"] == "r1"
    assert f["mean_duration_s"] == pytest.approx((100 + 55) / 2)


def test_price_before_product_and_early_are_per_call() -> None:
    # Price at 30 s of 100 (not early: 30% > 25%), product introduced first at 20 s.
    ds = build(
        calls=[
            {
                "call_id": "A",
                "rep_id": "r",
                "deal_id": "D",
                "started_at": at(4, 9),
                "duration": 100.0,
            }
        ],
        transcripts={
            "A": [
                ("rep", 20, 25, "Our product"),
                ("rep", 30, 35, "costs ten"),
                ("customer", 40, 50, "hm"),
            ]
        },
        tags={"A": [(0, "product_introduction"), (1, "price_mention"), (2, "price_mention")]},
        deals=[{"deal_id": "D", "outcome": "lost"}],
    )
    f = deal_features(ds).iloc[0]
    assert not f["early_price_mention"] and not f["price_before_product_introduction"]
    assert f["rep_mentioned_price"] and f["has_price_mention"]


def test_talk_tracks_order_and_other_group() -> None:
    calls, transcripts, tags, deals = [], {}, {}, []
    # 12 won deals follow product -> price; 12 lost deals follow price -> product; 3 deals
    # follow referral only (too few: pooled as "other"); 10 deals have no behaviour.
    plan = (
        [("product_introduction", "price_mention", "won")] * 12
        + [("price_mention", "product_introduction", "lost")] * 12
        + [("referral_request", None, "won")] * 3
        + [(None, None, "lost")] * 10
    )
    for i, (first, second, outcome) in enumerate(plan):
        cid, did = f"C{i}", f"D{i}"
        calls.append(
            {
                "call_id": cid,
                "rep_id": "r",
                "deal_id": did,
                "started_at": at(4, 9),
                "duration": 60.0,
            }
        )
        transcripts[cid] = [("rep", 1, 5, "a"), ("customer", 6, 9, "b"), ("rep", 10, 20, "c")]
        tags[cid] = [(k, b) for k, b in ((0, first), (2, second)) if b]
        deals.append({"deal_id": did, "outcome": outcome})
    ds = build(calls, transcripts, tags, deals)
    tr = talk_tracks(ds, min_deals=10).set_index("track")
    # Ranked by the Wilson lower bound, ties by win rate, then more deals; "other" last.
    assert list(tr.index) == [
        "product_introduction → price_mention",
        "price_mention → product_introduction",
        NO_TRACK,
        OTHER,
    ]
    assert tr.loc["product_introduction → price_mention", "win_rate"] == 1.0
    assert tr.loc["product_introduction → price_mention", "rank"] == 1
    assert tr.loc[OTHER, "n_deals"] == 3 and pd.isna(tr.loc[OTHER, "rank"])
    assert 0 < tr.loc[NO_TRACK, "ci_high"] < 0.35  # 0 of 10 won: Wilson upper bound ~0.28


def test_rep_kpis_and_call_times_in_local_time() -> None:
    # Rep r1: three calls on one deal on Mon 4th 09:00, Wed 6th 15:00 and Mon 11th 09:00 UTC.
    calls = [
        {
            "call_id": "A",
            "rep_id": "r1",
            "deal_id": "D1",
            "started_at": at(4, 9),
            "duration": 120.0,
        },
        {
            "call_id": "B",
            "rep_id": "r1",
            "deal_id": "D1",
            "started_at": at(6, 15),
            "duration": 240.0,
        },
        {
            "call_id": "C",
            "rep_id": "r1",
            "deal_id": "D1",
            "started_at": at(11, 9),
            "duration": 60.0,
        },
        {
            "call_id": "X",
            "rep_id": "r2",
            "deal_id": "NOPE",
            "started_at": at(5, 23),
            "duration": 60.0,
        },
    ]
    turn = [("rep", 0, 10, "hi"), ("customer", 11, 20, "hello")]
    ds = build(
        calls, {c["call_id"]: turn for c in calls}, {}, [{"deal_id": "D1", "outcome": "won"}]
    )
    k = rep_kpis(ds).set_index("rep_id")
    r1 = k.loc["r1"]
    assert r1["n_calls"] == 3 and r1["calls_per_deal"] == 3
    assert r1["weeks_active"] == pytest.approx(7 / 7)
    assert r1["calls_per_week"] == pytest.approx(3.0)
    assert r1["mean_call_duration_min"] == pytest.approx(140 / 60)
    assert r1["median_days_between_calls"] == pytest.approx((2.25 + 4.75) / 2)
    assert r1["n_won"] == 1 and r1["win_rate"] == 1.0
    assert k.loc["r2", "n_deals_called"] == 0 and np.isnan(k.loc["r2", "calls_per_deal"])

    # New York is UTC-5 until DST starts on 10 March 2024, UTC-4 after: the 23:00 UTC Tuesday
    # call is Tuesday 18:00 there, and the two Monday 09:00 UTC calls are 04:00 and 05:00.
    ct = call_times(ds, tz="America/New_York").set_index(["rep_id", "weekday", "hour"])
    assert ct.loc[("r2", 1, 18), "n_calls"] == 1
    assert ct.loc[("r1", 0, 4), "n_calls"] == 1 and ct.loc[("r1", 0, 5), "n_won_calls"] == 1
    slots = hour_slot_win_rates(ds).set_index("slot")
    assert slots.loc["08:00-10:00", "n_calls"] == 2 and slots.loc["08:00-10:00", "n_deals"] == 1
    assert slots.loc["18:00 and later", "n_deals"] == 0  # the unlinked call has no outcome


def test_price_timing_groups(two_calls: Dataset) -> None:
    pt = price_timing(deal_features(two_calls)).set_index("group")
    assert pt.loc["early", "n_deals"] == 1 and pt.loc["never", "n_deals"] == 0
