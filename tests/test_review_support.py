"""Row builders shared by the coaching and review tests (no tests here).

Rows go in through the ORM, so tests never depend on transcription or tagging.
"""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from talktracks.config import Settings
from talktracks.review import ReviewOptions, create_app
from talktracks.review.access import link_rep
from talktracks.review.playlists import add_snippet
from talktracks.review.users import add_user
from talktracks.store import AnalysisResult, Call, Deal, Flag, Store, Tag, Utterance, open_store

UtteranceSpec = tuple[str, float, float, str]  # speaker, start, end, text


def make_store(tmp_path: Path, name: str = "talktracks.db", url: str | None = None) -> Store:
    return open_store(url or f"sqlite:///{tmp_path / name}")


def add_call(
    session: Session,
    call_id: str,
    utterances: list[UtteranceSpec],
    *,
    rep: str = "rep-ann",
    deal: str | None = None,
    started_at: datetime | None = None,
    recording: str | None = None,
    channels: str = "rep-left",
    duration: float | None = None,
) -> list[Utterance]:
    """A done call with its utterances (indexes in list order); returns the utterances."""
    call = Call(
        call_id=call_id,
        rep_id=rep,
        deal_id=deal,
        started_at=started_at or datetime(2025, 3, 4, 15, 0, tzinfo=UTC),
        channels=channels,
        recording=recording,
        status="done",
        duration=duration,
    )
    session.add(call)
    utts = [
        Utterance(call_id=call_id, idx=i, speaker=sp, start=a, end=b, text=text)
        for i, (sp, a, b, text) in enumerate(utterances)
    ]
    session.add_all(utts)
    session.flush()
    return utts


def add_tag(
    session: Session,
    utt: Utterance,
    behaviour: str,
    *,
    score: float = 0.9,
    span: tuple[int, int] | None = None,
    source: str = "model",
) -> Tag:
    start, end = span if span is not None else (0, len(utt.text))
    tag = Tag(
        utterance_id=utt.id,
        call_id=utt.call_id,
        behaviour=behaviour,
        score=score,
        source=source,
        evidence_start=start,
        evidence_end=end,
        model_version="test-1",
    )
    session.add(tag)
    session.flush()
    return tag


def add_deal(session: Session, deal_id: str, outcome: str = "won") -> Deal:
    deal = Deal(deal_id=deal_id, outcome=outcome, amount=1000.0)
    session.add(deal)
    session.flush()
    return deal


# --- review app ------------------------------------------------------------------------------

PASSWORD = "correct horse battery"
# Call ids the importers accept that are hard to put in a URL: each must open, play and be
# reviewable (test_review_browser, test_review_sessions).
RESERVED_IDS = [
    "c01-solar-intro",
    "c01-solar-intro/audio",
    "../../../etc/passwd",
    "..",
    "what?x=1&y=2",
    "deal#7",
    "50% off %2F",
    "call with  two spaces",  # the importers strip the ends
    "Müller–Anruf ☎ 東京",
    "~tilde/./x",
]
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_wav(path: Path, seconds: float = 10.0, rate: int = 16_000) -> Path:
    """A real stereo 16-bit WAV: a tone on the left, another on the right."""
    t = np.arange(int(seconds * rate)) / rate
    left = 0.2 * np.sin(2 * np.pi * 220 * t)
    right = 0.2 * np.sin(2 * np.pi * 330 * t)
    frames = (np.stack([left, right], axis=1) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())
    return path


def use_cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with light parameters: the defaults cost ~0.5 s a hash on a shared CI core.
    test_review_security checks the production parameters themselves."""
    monkeypatch.setattr(
        "talktracks.review.passwords._hasher",
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )


@dataclass
class ReviewEnv:
    settings: Settings
    store: Store
    app: FastAPI
    audio_root: Path
    utterances: list[Utterance]
    tags: dict[str, Tag]
    flags: dict[str, Flag]
    playlist_id: int = 0
    snippet_id: int = 0

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)


def seed_review(
    tmp_path: Path, options: ReviewOptions | None = None, url: str | None = None
) -> ReviewEnv:
    """A store with a coach (cora), an admin (adam), two calls with tags and flags, a real WAV.

    Call c1 (rep-ann, won deal D1) is the one the tests review: its price tag on utterance 2 is
    uncertain and early_price points at it.
    """
    audio_root = tmp_path / "recordings"
    wav = make_wav(audio_root / "2025" / "c1.wav")
    settings = Settings(
        data_dir=tmp_path / "data", recordings_dir=audio_root, models_dir=tmp_path / "models"
    )
    store = make_store(tmp_path, url=url)
    with store.session() as s:
        add_deal(s, "D1", "won")
        utts = add_call(
            s,
            "c1",
            [
                ("rep", 0.0, 2.5, "Hi, thanks for taking the time today."),
                ("customer", 2.5, 4.0, "Sure. What does it cost?"),
                ("rep", 4.0, 7.0, "It is 49 dollars per seat per month."),
                ("rep", 7.0, 9.5, "Our platform syncs your whole pipeline automatically."),
                ("customer", 9.5, 10.0, "Great."),
            ],
            deal="D1",
            recording=str(wav),
            duration=10.0,
            started_at=datetime(2025, 3, 4, 15, 0, tzinfo=UTC),
        )
        tags = {
            "price": add_tag(s, utts[2], "price_mention", score=0.55, span=(6, 16)),
            "intro": add_tag(s, utts[3], "product_introduction", score=0.92, span=(0, 12)),
        }
        other = add_call(
            s,
            "c2",
            [("rep", 0.0, 150.0, "A very long pitch."), ("customer", 150.0, 160.0, "Hm.")],
            rep="rep-bob",
            started_at=datetime(2025, 4, 10, 9, 0, tzinfo=UTC),
        )
        flags = {
            "early": Flag(
                call_id="c1",
                rule="early_price",
                severity="medium",
                reason="The rep first mentioned price at 0:04, before introducing the product.",
                at_seconds=4.0,
                utterance_id=utts[2].id,
                dedupe_key="early_price:c1",
            ),
            "unsure": Flag(
                call_id="c1",
                rule="uncertain_tag",
                severity="low",
                reason="The classifier is unsure whether this shows price mention (score 0.55).",
                at_seconds=4.0,
                utterance_id=utts[2].id,
                dedupe_key="uncertain_tag:c1:2:price_mention",
            ),
            "mono": Flag(
                call_id="c2",
                rule="long_monologue",
                severity="medium",
                reason="The rep spoke for 2:30 without the customer saying anything.",
                at_seconds=0.0,
                utterance_id=other[0].id,
                dedupe_key="long_monologue:c2",
            ),
            "done": Flag(
                call_id="c2",
                rule="low_talk_balance",
                severity="low",
                reason="The rep did 94% of the talking.",
                status="resolved",
                resolved_by="adam",
                resolved_at=datetime(2025, 4, 11, tzinfo=UTC),
                dedupe_key="low_talk_balance:c2",
            ),
        }
        s.add_all(flags.values())
    add_user(store, "cora", PASSWORD, "coach", actor="test")
    add_user(store, "adam", PASSWORD, "admin", actor="test")
    # A rep user: rita is rep-bob (call c2), so c1 (rep-ann) is another rep's call to her.
    add_user(store, "rita", PASSWORD, "rep", actor="test")
    link_rep(store, "rita", "rep-bob", actor="test")
    playlist_id, snippet_id = add_snippet(
        store, "test", "c1", 4.0, 7.0, "Price said plainly", "", "Seeded playlist"
    )
    app = create_app(settings, options, store=store)
    return ReviewEnv(settings, store, app, audio_root, utts, tags, flags, playlist_id, snippet_id)


def csrf_of(client: TestClient, path: str = "/login") -> str:
    match = CSRF_RE.search(client.get(path, headers={"accept": "text/html"}).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> None:
    r = client.post(
        "/login", data={"username": name, "password": password, "csrf_token": csrf_of(client)}
    )
    assert r.status_code == 303, r.text


def sign_out(client: TestClient) -> None:
    assert client.post("/logout", data={"csrf_token": csrf_of(client, "/queue")}).status_code == 303


def seed_analysis(store: Store) -> None:
    """analysis_results rows shaped like talktracks.analysis stores them (JSON records)."""
    rows = {
        "rep_kpis": [
            {
                "rep_id": "rep-ann",
                "n_calls": 12,
                "n_won": 5,
                "n_lost": 3,
                "win_rate": 0.625,
                "win_rate_low": 0.3,
                "win_rate_high": 0.86,
                "mean_rep_talk_ratio": 0.58,
                "calls_per_week": 3.5,
                "mean_call_duration_min": 22.25,
                "mean_longest_monologue_s": 71.0,
            },
            {
                "rep_id": "rep-bob",
                "n_calls": 9,
                "n_won": 2,
                "n_lost": 5,
                "win_rate": 0.2857,
                "win_rate_low": 0.08,
                "win_rate_high": 0.64,
                "mean_rep_talk_ratio": 0.81,
                "calls_per_week": 2.0,
                "mean_call_duration_min": 31.5,
                "mean_longest_monologue_s": 140.0,
            },
        ],
        "effects": [
            {
                "feature": "early_price_mention",
                "n_with": 14,
                "n_without": 20,
                "win_rate_with": 0.21,
                "win_rate_without": 0.55,
                "odds_ratio": 0.31,
                "ci_low": 0.12,
                "ci_high": 0.8,
                "p_value": 0.01,
                "q_value": 0.03,
                "status": "estimated",
            },
            {
                "feature": "has_referral_request",
                "n_with": 11,
                "n_without": 23,
                "win_rate_with": 0.64,
                "win_rate_without": 0.3,
                "odds_ratio": 2.9,
                "ci_low": 0.9,
                "ci_high": 9.4,
                "p_value": 0.07,
                "q_value": 0.11,
                "status": "estimated",
            },
        ],
        "tracks": [
            {
                "rank": 1,
                "track": "product_introduction → price_mention",
                "n_calls": 30,
                "n_deals": 15,
                "n_won": 9,
                "win_rate": 0.6,
                "ci_low": 0.36,
                "ci_high": 0.8,
            },
            {
                "rank": None,
                "track": "other",
                "n_calls": 12,
                "n_deals": 19,
                "n_won": 5,
                "win_rate": 0.26,
                "ci_low": 0.12,
                "ci_high": 0.49,
            },
        ],
        "price_timing": [
            {
                "label": "before any product introduction",
                "win_rate": 0.21,
                "ci_low": 0.08,
                "ci_high": 0.48,
                "n_deals": 14,
            },
            {
                "label": "after a product introduction",
                "win_rate": 0.55,
                "ci_low": 0.34,
                "ci_high": 0.74,
                "n_deals": 20,
            },
        ],
        "hour_slots": [
            {
                "slot": "08:00-10:00",
                "win_rate": 0.5,
                "ci_low": 0.25,
                "ci_high": 0.75,
                "n_deals": 12,
            },
            {
                "slot": "14:00-16:00",
                "win_rate": 0.3,
                "ci_low": 0.13,
                "ci_high": 0.55,
                "n_deals": 17,
            },
        ],
        "call_times": [
            {
                "rep_id": "rep-ann",
                "weekday": d,
                "weekday_name": "",
                "hour": h,
                "n_calls": 2 + d + h % 3,
                "n_closed_calls": 6,
                "n_won_calls": (d + h) % 5,
            }
            for d in range(5)
            for h in (9, 10, 14, 15)
        ],
        "summary": {
            "message": "Enough data: 34 closed deals (14 won, 20 lost).",
            "n_won": 14,
            "n_lost": 20,
        },
    }
    with store.session() as s:
        s.add_all(AnalysisResult(name=name, payload=payload) for name, payload in rows.items())
