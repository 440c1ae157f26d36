"""The review app as a work surface, end to end in real headless Chromium (issue 15).

Search finds an utterance and plays it from its moment; a deal page lists its calls; a count on
the team page drills down to the right call list; a coach makes a snippet into a playlist that
a rep user then plays, while other reps' calls stay closed to them; confirm and reject happen
without a reload while the audio keeps playing; the ADPCM sample plays; the keyboard shortcuts
work. Screenshots go to artifacts/ beside the first browser test's.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from talktracks.store import Label, Snippet
from test_review_browser import (  # noqa: F401  (served is a fixture)
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    served,
)
from test_review_support import PASSWORD, ReviewEnv, add_call, seed_analysis

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=15_000)  # two cores shared by many jobs: give pages time

pytestmark = pytest.mark.browser

SAMPLE_ADPCM = Path(__file__).resolve().parents[1] / "sample_audio" / "c09-pest-control.wav"
PLAYER_TIME = "document.getElementById('player').currentTime"


@contextmanager
def signed_in(base: str, name: str) -> Iterator[object]:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/login")
            page.get_by_label("User name").fill(name)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            yield page
        finally:
            browser.close()
    script_errors = [e for e in errors if "404" not in e]  # a 404 page is an expected refusal
    assert not script_errors, script_errors


def playing_past(page, seconds: float) -> None:
    page.wait_for_function(
        f"() => !document.getElementById('player').paused && {PLAYER_TIME} > {seconds}",
        timeout=15_000,
    )


def test_search_finds_an_utterance_and_plays_it_from_its_moment(
    served: tuple[str, ReviewEnv],  # noqa: F811
) -> None:
    base, env = served
    u2 = env.utterances[2]
    with signed_in(base, "cora") as page:
        page.get_by_role("link", name="Calls").click()
        page.get_by_label("Words in the transcript").fill("dollars seat")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#calls-count")).to_contain_text("1 utterance matches")
        hit = page.locator(f"#hit-{u2.id}")
        expect(hit.locator("mark.hit")).to_have_count(2)
        hit.get_by_role("button", name="Play c1 from 0:04").click()
        playing_past(page, 4.3)  # started at the utterance's moment and moves on
        assert page.evaluate(PLAYER_TIME) < 7.0
        page.screenshot(path=str(ARTIFACTS / "review-search.png"))
        # The result's link opens the call cued to that moment, with the utterance selected.
        hit.get_by_role("link", name="c1").click()
        expect(page).to_have_url(re.compile(rf"/calls/c1\?t=4\.0#u-{u2.id}$"))
        page.wait_for_function(f"() => Math.abs({PLAYER_TIME} - 4.0) < 0.05", timeout=10_000)
        expect(page.locator(f"#u-{u2.id}")).to_have_class(re.compile(r"\bselected\b"))
        page.screenshot(path=str(ARTIFACTS / "review-call-cued.png"))


def test_team_count_drills_down_and_deal_page_lists_its_calls(
    served: tuple[str, ReviewEnv],  # noqa: F811
) -> None:
    base, env = served
    seed_analysis(env.store)
    with signed_in(base, "cora") as page:
        page.goto(f"{base}/team")
        row = page.get_by_role("row", name=re.compile("rep-bob"))
        row.get_by_role("link", name="9", exact=True).click()  # rep-bob's n_calls
        expect(page).to_have_url(f"{base}/calls?rep=rep-bob")
        expect(page.get_by_label("Rep")).to_have_value("rep-bob")
        calls = page.locator("#call-table tbody tr")
        expect(calls).to_have_count(1)
        expect(calls.first).to_contain_text("c2")
        page.go_back()
        page.get_by_role("row", name=re.compile("has_referral_request")).get_by_role(
            "link", name="11", exact=True
        ).click()
        expect(page).to_have_url(re.compile(r"/calls\?.*has=referral_request"))
        expect(page.get_by_label("Behaviour present")).to_have_value("referral_request")
        expect(page.get_by_label("Behaviour in")).to_have_value("deal")
        page.goto(f"{base}/calls")
        page.screenshot(path=str(ARTIFACTS / "review-calls.png"), full_page=True)
        page.get_by_role("link", name="D1").click()
        expect(page).to_have_url(f"{base}/deals/D1")
        expect(page.locator("#deal-meta")).to_contain_text("won")
        expect(page.locator(".deal-call")).to_have_count(1)
        expect(page.locator(".deal-call").first).to_contain_text("product introduction ×1")
        page.screenshot(path=str(ARTIFACTS / "review-deal.png"), full_page=True)
        page.locator(".deal-call").get_by_role("link", name="c1").click()
        expect(page).to_have_url(f"{base}/calls/c1")


def test_coach_shares_a_snippet_playlist_and_a_rep_plays_it(
    served: tuple[str, ReviewEnv],  # noqa: F811
) -> None:
    base, env = served
    with signed_in(base, "cora") as page:
        page.goto(f"{base}/calls/c1")
        form = page.locator("#snippet-form")
        form.get_by_label("Start (seconds)").fill("4")
        form.get_by_label("End (seconds)").fill("7")
        form.get_by_label("Title").fill("Price <b>early</b>")
        form.get_by_label("Note").fill("Listen to how soon the price comes.")
        form.get_by_label("Playlist (an existing name, or a new one)").fill("Best price talk")
        form.get_by_role("button", name="Add to playlist").click()
        expect(page.locator(".flash")).to_have_text("Snippet added to playlist Best price talk.")
        page.get_by_role("link", name="Playlists").click()
        page.get_by_role("link", name="Best price talk").click()
        expect(page.locator(".snippet")).to_have_count(1)
        expect(page.locator(".snippet-title")).to_contain_text("Price <b>early</b>")
        page.get_by_label("Rep user").select_option("rita")
        page.get_by_role("button", name="Share").click()
        expect(page.locator(".flash")).to_have_text("Shared with rita.")
        page.screenshot(path=str(ARTIFACTS / "review-playlist.png"), full_page=True)
    with env.store.session() as s:
        snippet = s.scalar(select(Snippet).where(Snippet.title == "Price <b>early</b>"))
    assert (snippet.call_id, snippet.start, snippet.end) == ("c1", 4.0, 7.0)

    with signed_in(base, "rita") as page:
        expect(page).to_have_url(f"{base}/playlists")
        page.get_by_role("link", name="Best price talk").click()
        page.get_by_role("button", name="Play all").click()
        playing_past(page, 0.5)  # the clip (3 s of c1) plays
        assert page.evaluate("document.getElementById('player').duration") == pytest.approx(
            3.0, abs=0.05
        )
        page.screenshot(path=str(ARTIFACTS / "review-rep-playlist.png"))
        page.get_by_role("link", name="My calls").click()
        expect(page.locator("#call-table tbody tr")).to_have_count(1)
        expect(page.locator("#call-table")).to_contain_text("c2")
        page.screenshot(path=str(ARTIFACTS / "review-rep-calls.png"))
        response = page.goto(f"{base}/calls/c1")
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("Not found")
        audio = page.request.get(f"{base}/calls/c1/audio")
        assert audio.status == 404


def test_confirm_and_reject_without_reload_keep_the_audio_playing(
    served: tuple[str, ReviewEnv],  # noqa: F811
) -> None:
    base, env = served
    u = env.utterances
    with signed_in(base, "cora") as page:
        page.goto(f"{base}/calls/c1")
        page.evaluate("window.__sameDocument = true")
        page.locator(f"#u-{u[0].id} button.seek").click()
        playing_past(page, 0.3)
        utt = page.locator(f"#u-{u[2].id}")
        utt.get_by_role("button", name="Reject price mention at 0:04").click()
        expect(utt).to_contain_text("Rejected by cora")
        before = page.evaluate(PLAYER_TIME)
        playing_past(page, before + 0.2)  # still playing after the action
        utt.get_by_role("button", name="Confirm price mention at 0:04").click()
        expect(utt).to_contain_text("Confirmed by cora")
        utt.get_by_label("Relabel price mention at 0:04 as").select_option("referral_request")
        utt.get_by_role("button", name="Relabel price mention at 0:04").click()
        expect(utt).to_contain_text("Added by cora")
        expect(page.locator("#action-status")).to_have_text(
            "Relabelled: price_mention → referral_request."
        )
        assert page.evaluate("window.__sameDocument") is True  # no reload happened
        assert page.evaluate("!document.getElementById('player').paused")
        page.screenshot(path=str(ARTIFACTS / "review-call-inplace.png"))
    with env.store.session() as s:
        labels = {
            (lb.behaviour, lb.value)
            for lb in s.scalars(select(Label).where(Label.utterance_id == u[2].id))
        }
    assert labels == {("price_mention", False), ("referral_request", True)}


def test_keyboard_shortcuts(served: tuple[str, ReviewEnv]) -> None:  # noqa: F811
    base, env = served
    u = env.utterances
    with signed_in(base, "cora") as page:
        # Opened from the queue (#u-<id>): cued to that utterance, which is selected.
        page.goto(f"{base}/calls/c1#u-{u[3].id}")
        page.wait_for_function(f"() => Math.abs({PLAYER_TIME} - 7.0) < 0.05", timeout=15_000)
        expect(page.locator(f"#u-{u[3].id}")).to_have_class(re.compile(r"\bselected\b"))
        page.goto(f"{base}/calls/c1")
        expect(page.locator(".shortcuts")).to_contain_text("next / previous flag")
        page.locator("h1").click()  # focus on the page, not a control
        page.keyboard.press("j")
        expect(page.locator(f"#u-{u[0].id}")).to_have_class(re.compile(r"\bselected\b"))
        page.keyboard.press("j")
        expect(page.locator(f"#u-{u[1].id}")).to_have_class(re.compile(r"\bselected\b"))
        playing_past(page, 2.5)  # J plays the utterance it moves to
        page.keyboard.press("k")
        page.wait_for_function("() => document.getElementById('player').paused", timeout=5_000)
        page.keyboard.press(" ")
        page.wait_for_function("() => !document.getElementById('player').paused", timeout=5_000)
        page.keyboard.press("u")
        expect(page.locator(f"#u-{u[0].id}")).to_have_class(re.compile(r"\bselected\b"))
        page.keyboard.press("n")  # first flag: early price, on utterance 2
        expect(page.locator(f"#u-{u[2].id}")).to_have_class(re.compile(r"\bselected\b"))
        page.keyboard.press("x")
        expect(page.locator(f"#u-{u[2].id}")).to_contain_text("Rejected by cora")
        page.keyboard.press("c")
        expect(page.locator(f"#u-{u[2].id}")).to_contain_text("Confirmed by cora")
        page.locator(f"#u-{u[2].id}").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "review-call-shortcuts.png"))
    with env.store.session() as s:
        label = s.scalar(select(Label).where(Label.utterance_id == u[2].id))
    assert (label.behaviour, label.value, label.author) == ("price_mention", True, "cora")


def test_adpcm_sample_plays_in_chromium(served: tuple[str, ReviewEnv]) -> None:  # noqa: F811
    base, env = served
    target = env.audio_root / "c09-pest-control.wav"
    shutil.copyfile(SAMPLE_ADPCM, target)
    with env.store.session() as s:
        add_call(
            s, "c09", [("rep", 0.0, 5.0, "Pest control, how can I help?")], recording=str(target)
        )
        add_call(s, "imported", [("rep", 0.0, 5.0, "No audio for this one.")])
    with signed_in(base, "cora") as page:
        page.goto(f"{base}/calls/c09")
        page.get_by_role("button", name="Play from 0:00").click()
        playing_past(page, 1.0)  # Chromium decodes what the server sent: currentTime advances
        page.screenshot(path=str(ARTIFACTS / "review-call-adpcm.png"))
        page.goto(f"{base}/calls/imported")
        expect(page.locator("#no-audio")).to_be_visible()
        expect(page.locator("audio")).to_have_count(0)
        expect(page.locator("button.seek")).to_have_count(0)
