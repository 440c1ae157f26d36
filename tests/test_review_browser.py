"""End to end in a real headless Chromium against a real uvicorn server on a free port.

A coach signs in, opens the queue, opens the flagged call, plays the audio from an utterance,
rejects a tag, adds a missed behaviour and resolves the flag; the labels are then in the
database. Screenshots of each page (1366x768, a laptop screen) go to artifacts/.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from talktracks.store import AuditEvent, Flag, Label
from test_review_support import (
    PASSWORD,
    RESERVED_IDS,
    ReviewEnv,
    make_wav,
    seed_analysis,
    seed_review,
    use_cheap_argon2,
)

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VIEWPORT = {"width": 1366, "height": 768}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, ReviewEnv]]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed")
    use_cheap_argon2(monkeypatch)
    env = seed_review(tmp_path)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(env.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", env
    server.should_exit = True
    thread.join(timeout=10)
    env.store.dispose()


def test_coach_reviews_a_flagged_call_in_chromium(served: tuple[str, ReviewEnv]) -> None:
    base, env = served
    u = env.utterances
    early = env.flags["early"]
    ARTIFACTS.mkdir(exist_ok=True)
    audio_statuses: list[int] = []
    console_errors: list[str] = []

    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on(
                "response",
                lambda r: audio_statuses.append(r.status) if r.url.endswith("/audio") else None,
            )
            page.on(
                "console", lambda m: console_errors.append(m.text) if m.type == "error" else None
            )

            # Sign in (the queue sends us to the sign-in form and back).
            page.goto(f"{base}/queue")
            expect(page).to_have_url(re.compile(r"/login\?next="))
            page.screenshot(path=str(ARTIFACTS / "review-login.png"))
            page.get_by_label("User name").fill("cora")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(f"{base}/queue")
            expect(page.locator("#queue-count")).to_contain_text("3 flags match")
            page.screenshot(path=str(ARTIFACTS / "review-queue.png"))

            # Open the flagged call from the queue (the early_price row links to its moment).
            page.get_by_role("row", name=re.compile("early price")).get_by_role(
                "link", name="c1"
            ).click()
            expect(page).to_have_url(f"{base}/calls/c1#u-{u[2].id}")
            expect(page.locator(f"#flag-{early.id}")).to_contain_text(
                "before introducing the product"
            )

            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / "review-call.png"))

            # Play from an utterance: the player's position moves to it.
            page.locator(f"#u-{u[3].id} button.seek").click()
            page.wait_for_function(
                "() => document.getElementById('player').currentTime >= 7.0", timeout=10_000
            )
            position = page.evaluate("document.getElementById('player').currentTime")
            assert 7.0 <= position < 9.5
            # The same with the keyboard only: focus the time stamp, press Enter.
            page.locator(f"#u-{u[0].id} button.seek").focus()
            seek = page.locator(f"#u-{u[1].id} button.seek")
            for _ in range(6):  # Tab through the first utterance's controls to the next one
                page.keyboard.press("Tab")
                if seek.evaluate("el => el === document.activeElement"):
                    break
            assert seek.evaluate("el => el === document.activeElement")
            assert seek.evaluate("el => getComputedStyle(el).outlineStyle") != "none"  # visible
            page.keyboard.press("Enter")
            page.wait_for_function(
                "() => Math.abs(document.getElementById('player').currentTime - 2.5) < 1.0",
                timeout=10_000,
            )
            page.evaluate("document.getElementById('player').pause()")
            page.locator(f"#u-{u[2].id}").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "review-call-playing.png"))

            # Reject the machine's price tag on utterance 2.
            page.locator(f"#u-{u[2].id}").get_by_role(
                "button", name="Reject price mention at 0:04"
            ).click()
            expect(page.locator("#action-status")).to_have_text(
                "Tag rejected: price_mention.", timeout=15_000
            )
            expect(page.locator(f"#u-{u[2].id}")).to_contain_text("Rejected by cora")

            # Add a behaviour the machine missed on utterance 1 (the customer asks the price).
            utt1 = page.locator(f"#u-{u[1].id}")
            utt1.locator("summary").click()
            utt1.get_by_label("Behaviour the machine missed").select_option("price_mention")
            utt1.get_by_role("button", name="Add tag").click()
            expect(page.locator("#action-status")).to_have_text(
                "Behaviour added: price_mention.", timeout=15_000
            )
            expect(page.locator(f"#u-{u[1].id}")).to_contain_text("Added by cora")

            # Resolve the flag with a note.
            flag = page.locator(f"#flag-{early.id}")
            flag.get_by_label("Note (optional)").fill("Talked about leading with value.")
            flag.get_by_role("button", name="Resolve flag").click()
            expect(page.locator(f"#flag-{early.id}")).to_contain_text("Resolved by cora")
            page.screenshot(path=str(ARTIFACTS / "review-call-after.png"), full_page=True)

            seed_analysis(env.store)
            page.goto(f"{base}/team")
            expect(page.locator("#new-labels")).to_contain_text("2 new coach labels")
            charts = page.locator("figure.chart img")
            expect(charts).to_have_count(5)
            widths = charts.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
            assert all(w > 100 for w in widths), widths  # the SVG images decoded
            page.screenshot(path=str(ARTIFACTS / "review-team.png"), full_page=True)
        finally:
            browser.close()

    assert 206 in audio_statuses  # the player fetched by range, so it can seek
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors

    with env.store.session() as s:
        labels = {(lb.utterance_id, lb.behaviour): lb for lb in s.scalars(select(Label))}
        flag_row = s.get(Flag, early.id)
        actions = [
            a.action for a in s.scalars(select(AuditEvent).where(AuditEvent.actor == "cora"))
        ]
    rejected = labels[(u[2].id, "price_mention")]
    added = labels[(u[1].id, "price_mention")]
    assert (rejected.value, rejected.origin, rejected.author) == (False, "coach", "cora")
    assert rejected.text == u[2].text and rejected.speaker == "rep"
    assert (added.value, added.origin, added.speaker, added.text) == (
        True,
        "coach",
        "customer",
        u[1].text,
    )
    assert flag_row.status == "resolved" and flag_row.resolved_by == "cora"
    assert actions == ["login", "label.reject", "label.add", "flag.resolve"]


def test_calls_with_reserved_characters_in_their_ids_open_play_and_are_reviewed(
    served: tuple[str, ReviewEnv], tmp_path: Path
) -> None:
    """Calls imported (import-transcripts) with ids holding / .. ? # % spaces and non-ASCII:
    the queue links each to its own page and its own recording, and a coach reviews each."""
    from talktracks.coaching import compute_flags
    from talktracks.ingest.transcripts import import_transcripts
    from talktracks.store import Call, Comment

    base, env = served
    lines = []
    for n, call_id in enumerate(RESERVED_IDS):
        utterances = [
            {"speaker": "rep", "start": 0.0, "end": 1.0, "text": f"Hello, this is call {n}."},
            {"speaker": "rep", "start": 1.0, "end": 125.0, "text": "Let me walk you through it."},
            {"speaker": "customer", "start": 125.0, "end": 127.0, "text": "Okay."},
        ]
        row = {"call_id": call_id, "rep_id": "rep-zoe", "deal_id": None}
        lines.append(
            json.dumps(row | {"started_at": "2025-05-02T10:00:00+00:00", "utterances": utterances})
        )
    source = tmp_path / "reserved.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = import_transcripts(env.store, source)
    assert summary.imported == len(RESERVED_IDS) and not summary.rejected
    seconds = {}
    with env.store.session() as s:
        for n, call_id in enumerate(RESERVED_IDS):
            seconds[call_id] = 3.0 + n  # a different length each: the player shows whose it is
            wav = make_wav(env.audio_root / "reserved" / f"r{n}.wav", seconds=seconds[call_id])
            s.get(Call, call_id).recording = str(wav)
    compute_flags(env.store, env.settings)
    with env.store.session() as s:
        flag_of = {
            f.call_id: f.id
            for f in s.scalars(select(Flag).where(Flag.rule == "long_monologue"))
            if f.call_id in RESERVED_IDS
        }
    assert set(flag_of) == set(RESERVED_IDS)

    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{base}/login")
            page.get_by_label("User name").fill("cora")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(f"{base}/queue")
            for call_id in RESERVED_IDS:
                page.goto(f"{base}/queue?rule=long_monologue&rep=rep-zoe")
                links = page.locator("a.call-link")
                texts = links.evaluate_all("els => els.map(e => e.textContent)")
                links.nth(texts.index(call_id)).click()  # the link, as a coach follows it
                heading = page.locator("h1").evaluate("h => h.textContent")
                assert heading == f"Call {call_id}", (call_id, page.url)
                # Play from the second utterance: this call's own recording, seekable.
                page.locator(".utt").nth(1).locator("button.seek").click()
                page.wait_for_function(
                    "() => document.getElementById('player').currentTime >= 1.0", timeout=10_000
                )
                duration = page.evaluate("document.getElementById('player').duration")
                assert abs(duration - seconds[call_id]) < 0.05, (call_id, duration)
                page.evaluate("document.getElementById('player').pause()")
                # Review: add a behaviour, comment, resolve the flag.
                utt = page.locator(".utt").nth(0)
                utt.locator("summary").click()
                utt.get_by_label("Behaviour the machine missed").select_option("referral_request")
                utt.get_by_role("button", name="Add tag").click()
                expect(page.locator("#action-status")).to_have_text(  # in place (issue 15)
                    "Behaviour added: referral_request.", timeout=15_000
                )
                page.get_by_label("Comment on the whole call").fill(f"Reviewed {call_id}")
                page.get_by_role("button", name="Comment", exact=True).last.click()
                expect(page.locator(".flash")).to_have_text("Comment added.")
                flag = page.locator(f"#flag-{flag_of[call_id]}")
                flag.get_by_role("button", name="Resolve flag").click()
                expect(page.locator(f"#flag-{flag_of[call_id]}")).to_contain_text(
                    "Resolved by cora"
                )
                assert page.locator("h1").evaluate("h => h.textContent") == f"Call {call_id}"
        finally:
            browser.close()

    with env.store.session() as s:
        labelled = set(
            s.scalars(select(Label.call_id).where(Label.behaviour == "referral_request"))
        )
        commented = dict(s.execute(select(Comment.call_id, Comment.text)).all())
        resolved = {s.get(Flag, fid).status for fid in flag_of.values()}
    assert labelled == set(RESERVED_IDS)
    assert {cid: commented[cid] for cid in RESERVED_IDS} == {
        c: f"Reviewed {c}" for c in RESERVED_IDS
    }
    assert resolved == {"resolved"}
