"""Coaching flag rules over rows inserted through the ORM: each rule, idempotence, config."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from stores import both_stores
from talktracks.coaching import compute_flags, load_rules
from talktracks.config import Settings
from talktracks.errors import ConfigError
from talktracks.store import Flag, Label, Store
from test_review_support import add_call, add_deal, add_tag, make_store


@pytest.fixture()
def store(tmp_path: Path, db_url: str) -> Store:
    s = make_store(tmp_path, url=db_url)
    yield s
    s.dispose()


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


def flags_by_rule(store: Store) -> dict[str, list[Flag]]:
    with store.session() as s:
        out: dict[str, list[Flag]] = {}
        for f in s.scalars(select(Flag).order_by(Flag.id)):
            out.setdefault(f.rule, []).append(f)
        return out


@both_stores
def test_each_rule_fires_with_reason_and_moment(store: Store, settings: Settings) -> None:
    with store.session() as s:
        # c1: price at 10 s before any introduction (intro at 60 s); rep talks almost all the
        # time, one 150 s monologue; deal won without a referral request.
        u = add_call(
            s,
            "c1",
            [
                ("rep", 0, 5, "Hi, thanks for joining."),
                ("rep", 10, 20, "It costs 500 dollars a month."),
                ("customer", 20, 22, "OK."),
                ("rep", 60, 140, "Let me introduce the product."),
                ("rep", 140, 210, "And it also does reports."),
                ("customer", 210, 215, "Right."),
            ],
            deal="D1",
        )
        add_tag(s, u[1], "price_mention", score=0.95)
        add_tag(s, u[3], "product_introduction", score=0.5)
        add_deal(s, "D1", "won")
        # c2: intro first, price late; balanced; lost deal.
        v = add_call(
            s,
            "c2",
            [
                ("rep", 0, 30, "Our platform does X."),
                ("customer", 30, 70, "Tell me more."),
                ("rep", 70, 90, "Pricing is 300 a seat."),
                ("customer", 90, 100, "Great."),
            ],
            deal="D2",
        )
        add_tag(s, v[0], "product_introduction")
        add_tag(s, v[2], "price_mention")
        add_deal(s, "D2", "lost")

    summary = compute_flags(store, settings)
    flags = flags_by_rule(store)
    assert summary.created == {
        "early_price": 1,
        "long_monologue": 1,
        "low_talk_balance": 1,
        "missed_referral": 1,
        "uncertain_tag": 1,
    }
    assert {f.call_id for fs in flags.values() for f in fs} == {"c1"}
    early = flags["early_price"][0]
    assert early.at_seconds == 10 and early.utterance_id == u[1].id
    assert "0:10" in early.reason and "before introducing the product" in early.reason
    assert "first 25%" in early.reason
    mono = flags["long_monologue"][0]
    assert mono.at_seconds == 60 and "2:30" in mono.reason and "limit 2:00" in mono.reason
    assert "%" in flags["low_talk_balance"][0].reason
    assert "D1" in flags["missed_referral"][0].reason
    unsure = flags["uncertain_tag"][0]
    assert unsure.utterance_id == u[3].id and "0.50" in unsure.reason
    assert all(
        f.status == "open" and f.severity in {"low", "medium", "high"}
        for fs in flags.values()
        for f in fs
    )


@both_stores
def test_rerun_does_not_duplicate_or_reopen(store: Store, settings: Settings) -> None:
    with store.session() as s:
        u = add_call(
            s, "c1", [("rep", 0, 200, "A very long pitch."), ("customer", 200, 300, "Hm.")]
        )
        add_tag(s, u[0], "price_mention", score=0.5)
    first = compute_flags(store, settings)
    assert first.total_created == 3  # long_monologue, early_price, uncertain_tag
    with store.session() as s:
        flag = s.scalars(select(Flag).where(Flag.rule == "long_monologue")).one()
        flag.status, flag.resolved_by, flag.resolved_at = "resolved", "ann", datetime.now(UTC)
    again = compute_flags(store, settings)
    assert again.total_created == 0 and again.unchanged == 3
    with store.session() as s:
        assert (
            s.scalars(select(Flag).where(Flag.rule == "long_monologue")).one().status == "resolved"
        )
        assert len(s.scalars(select(Flag)).all()) == 3


def test_open_flag_is_refreshed_when_thresholds_change(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    with store.session() as s:
        add_call(s, "c1", [("rep", 0, 200, "Pitch."), ("customer", 200, 230, "Hm.")])
    compute_flags(store, settings)
    custom = tmp_path / "rules.toml"
    custom.write_text('[long_monologue]\nmax_seconds = 90\nseverity = "high"\n')
    summary = compute_flags(store, settings.with_overrides(coaching_rules=custom))
    assert summary.total_created == 0 and summary.refreshed == 1
    flag = flags_by_rule(store)["long_monologue"][0]
    assert flag.severity == "high" and "limit 1:30" in flag.reason


@both_stores
def test_coach_judgements_override_the_machine(store: Store, settings: Settings) -> None:
    with store.session() as s:
        u = add_call(
            s,
            "c1",
            [
                ("rep", 0, 5, "Hello."),
                ("rep", 6, 9, "It is 10 dollars."),
                ("customer", 9, 60, "ok"),
            ],
            deal="D1",
        )
        add_deal(s, "D1", "won")
        add_tag(s, u[1], "price_mention")
        for behaviour, utt, value in (
            ("price_mention", u[1], False),  # coach rejected the price tag
            ("referral_request", u[0], True),  # coach added a referral the machine missed
        ):
            s.add(
                Label(
                    utterance_id=utt.id,
                    call_id="c1",
                    text=utt.text,
                    speaker=utt.speaker,
                    behaviour=behaviour,
                    value=value,
                    author="ann",
                    origin="coach",
                )
            )
    compute_flags(store, settings)
    assert set(flags_by_rule(store)) == set()


def test_uncertain_tags_limited_per_call_and_skip_judged(store: Store, settings: Settings) -> None:
    with store.session() as s:
        u = add_call(s, "c1", [("rep", i, i + 1, f"line {i}") for i in range(6)])
        for utt, score in zip(u, (0.36, 0.5, 0.52, 0.62, 0.9, 0.49), strict=True):
            add_tag(s, utt, "product_introduction", score=score)
        s.add(
            Label(
                utterance_id=u[1].id,
                call_id="c1",
                text="line 1",
                speaker="rep",
                behaviour="product_introduction",
                value=True,
                author="ann",
                origin="coach",
            )
        )
    compute_flags(store, settings)
    picked = sorted(f.utterance_id for f in flags_by_rule(store)["uncertain_tag"])
    assert picked == sorted([u[5].id, u[2].id, u[3].id])  # nearest 0.5, judged u[1] skipped


def test_bad_rules_file_is_one_line_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text("[long_monologue]\nmax_secs = 90\n")
    with pytest.raises(ConfigError, match=r"long_monologue\.max_secs"):
        load_rules(bad)
    bad.write_text("[uncertain_tag]\nmin_score = 0.8\nmax_score = 0.2\n")
    with pytest.raises(ConfigError, match="min_score"):
        load_rules(bad)
    assert load_rules().long_monologue.max_seconds == 120
    assert load_rules().low_talk_balance.max_rep_talk_ratio == 0.75


def test_rules_naming_unknown_behaviour_are_refused(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    custom = tmp_path / "rules.toml"
    custom.write_text('[missed_referral]\nreferral_behaviour = "referal_request"\n')
    with pytest.raises(ConfigError, match="referal_request"):
        compute_flags(store, settings.with_overrides(coaching_rules=custom))


def test_talk_numbers_are_those_of_the_analysis(store: Store) -> None:
    """Flags quote the report's numbers: same talk ratio and longest monologue per call."""
    analysis = pytest.importorskip("talktracks.analysis")
    from talktracks.coaching import facts

    with store.session() as s:
        add_call(
            s,
            "m1",
            [
                ("rep", 0, 40, "a"),
                ("unknown", 41, 45, "b"),  # neither ends nor extends a monologue
                ("rep", 46, 130, "c"),
                ("customer", 130, 150, "d"),
                ("rep", 151, 160, "e"),
                ("rep", 150, 170, "f"),  # overlapping utterances: the run ends at the latest end
            ],
        )
        add_call(s, "m2", [("customer", 0, 10, "x"), ("rep", 12, 20, "y")], duration=60.0)
        add_call(s, "m3", [("unknown", 0, 30, "mono call")], channels="mono")
    with store.session() as s:
        mine = {t.call_id: t for t in facts.call_talk(s, 120)}
    theirs = analysis.call_metrics(store).set_index("call_id")
    for call_id, talk in mine.items():
        row = theirs.loc[call_id]
        assert talk.longest_monologue_s == pytest.approx(row["longest_monologue_s"]), call_id
        if talk.rep_talk_ratio is None:
            assert row["rep_talk_ratio"] != row["rep_talk_ratio"]  # NaN
        else:
            assert talk.rep_talk_ratio == pytest.approx(row["rep_talk_ratio"]), call_id
        assert talk.duration == pytest.approx(row["duration_s"]), call_id
