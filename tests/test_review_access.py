"""Who may see and do what on the routes issue 15 added, over real HTTP (TestClient): the rep
role (own calls and shared playlists only, read-only), coach-only actions, CSRF on the new
forms, escaping of search queries and snippet titles, snippets and playlists, browser-playable
audio (the ADPCM sample transcoded once, served with ranges), and actions answered as
fragments for the call page's script."""

from __future__ import annotations

import re
import shutil
import wave
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from talktracks.review.playable import cache_dir, codec_of
from talktracks.store import AuditEvent, Call, Label, PlaylistShare, Snippet
from test_review_security import form_for, routes, snapshot
from test_review_support import (
    ReviewEnv,
    add_call,
    csrf_of,
    seed_review,
    sign_in,
    use_cheap_argon2,
)

SAMPLE_ADPCM = Path(__file__).resolve().parents[1] / "sample_audio" / "c09-pest-control.wav"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReviewEnv:
    use_cheap_argon2(monkeypatch)
    e = seed_review(tmp_path)
    yield e
    e.store.dispose()


def share_with_rita(env: ReviewEnv) -> None:
    coach = env.client()
    sign_in(coach, "cora")
    token = csrf_of(coach, "/playlists")
    r = coach.post(
        f"/playlists/{env.playlist_id}/share", data={"name": "rita", "csrf_token": token}
    )
    assert r.status_code == 303


# Routes a rep may GET (others: 403, or a redirect to their start page).
REP_READABLE = {
    "/calls",
    "/calls/{call_id}",
    "/calls/{call_id}/audio",
    "/playlists",
    "/playlists/{playlist_id}",
    "/snippets/{snippet_id}/audio",
}
# A signed-in user's own account (issue 9: change your own password) is open to reps too.
OWN_ACCOUNT = {"/account", "/account/password"}


def test_rep_sees_own_calls_and_shared_playlists_only(env: ReviewEnv) -> None:
    rep = env.client()
    sign_in(rep, "rita")  # rep-bob: call c2 is hers, c1 (rep-ann) is not
    token = csrf_of(rep, "/playlists")
    before = snapshot(env.store)
    for method, path, url in routes(env):
        if path in ("/login", "/logout") or path in OWN_ACCOUNT:
            continue
        if method != "GET":
            r = rep.request(method, url, data=form_for(env, path) | {"csrf_token": token})
            assert r.status_code == 403, (method, url, r.status_code)
        elif path in ("/", "/queue"):
            r = rep.get(url)
            assert r.status_code == 303 and r.headers["location"] == "/playlists"
        elif path not in REP_READABLE:
            assert rep.get(url).status_code == 403, url
    assert snapshot(env.store) == before  # nothing a rep sent changed anything
    assert rep.get("/account").status_code == 200
    wrong = {"current": "not her password", "new": "x" * 20, "repeat": "x" * 20}
    r = rep.post("/account/password", data=wrong | {"csrf_token": token})
    assert r.status_code == 400 and "Password not changed" in r.text
    # Another rep's call, its audio and its words are invisible (404, like a missing call).
    assert rep.get("/calls/c1").status_code == 404
    assert rep.get("/calls/c1/audio", headers={"range": "bytes=0-99"}).status_code == 404
    listing = rep.get("/calls").text
    assert ">c2<" in listing and ">c1<" not in listing
    found = rep.get("/calls?q=dollars").text
    assert "per seat per month" not in found and "<strong>0</strong>" in found
    assert "rep-ann" not in rep.get("/calls?rep=rep-ann").text.split("</form>")[1]
    own = rep.get("/calls/c2")
    assert own.status_code == 200 and "A very long pitch." in own.text
    assert 'action="/calls/c2/labels"' not in own.text  # read-only: no action forms
    # The playlist is invisible until shared, then its snippet plays (the span only).
    assert rep.get(f"/playlists/{env.playlist_id}").status_code == 404
    assert rep.get(f"/snippets/{env.snippet_id}/audio").status_code == 404
    assert "Seeded playlist" not in rep.get("/playlists").text
    share_with_rita(env)
    page = rep.get(f"/playlists/{env.playlist_id}")
    assert page.status_code == 200 and "Price said plainly" in page.text
    assert "It is 49 dollars per seat per month." in page.text  # the words of the span
    assert 'href="/calls/c1' not in page.text  # no link into a call she may not open
    clip = rep.get(f"/snippets/{env.snippet_id}/audio")
    assert clip.status_code == 200 and clip.headers["content-type"] == "audio/wav"
    with wave.open(str(next(cache_dir(env.settings.data_dir).glob("clip-*.wav")))) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(3.0, abs=0.01)
    assert clip.content == next(cache_dir(env.settings.data_dir).glob("clip-*.wav")).read_bytes()
    part = rep.get(f"/snippets/{env.snippet_id}/audio", headers={"range": "bytes=0-9"})
    assert part.status_code == 206 and len(part.content) == 10
    assert rep.get("/calls/c1").status_code == 404  # sharing a snippet opens no call
    assert "Seeded playlist" in rep.get("/playlists").text


def test_a_rep_without_a_link_sees_no_calls(env: ReviewEnv) -> None:
    from talktracks.review.users import add_user
    from test_review_support import PASSWORD

    add_user(env.store, "nora", PASSWORD, "rep", actor="test")
    rep = env.client()
    sign_in(rep, "nora")
    assert "<strong>0</strong>" in rep.get("/calls").text
    assert rep.get("/calls/c2").status_code == 404


def test_new_routes_refuse_signed_out_users_and_bad_tokens(env: ReviewEnv) -> None:
    anon = env.client()
    for url in (
        "/calls",
        "/calls?q=dollars",
        "/deals/D1",
        "/playlists",
        f"/playlists/{env.playlist_id}",
        f"/snippets/{env.snippet_id}/audio",
    ):
        r = anon.get(url)
        assert r.status_code == 401 and "dollars" not in r.text, url
    coach = env.client()
    sign_in(coach, "cora")
    before = snapshot(env.store)
    posts = {
        "/calls/c1/relabel": form_for(env, "/calls/{call_id}/relabel"),
        "/calls/c1/snippets": form_for(env, "/calls/{call_id}/snippets"),
        f"/playlists/{env.playlist_id}/share": {"name": "rita"},
    }
    for url, data in posts.items():
        assert coach.post(url, data=data).status_code == 403, url
        assert coach.post(url, data=data | {"csrf_token": "forged"}).status_code == 403, url
        r = coach.post(url, data=data, headers={"x-fragment": "utterance", "x-csrf-token": "no"})
        assert r.status_code == 403
    assert snapshot(env.store) == before


def test_search_queries_and_snippet_titles_render_as_inert_text(env: ReviewEnv) -> None:
    with env.store.session() as s:
        add_call(s, "x9", [("rep", 0, 3, f"We say {XSS} on calls")], rep="rep-ann")
    coach = env.client()
    sign_in(coach, "cora")
    page = coach.get("/calls", params={"q": XSS}).text
    assert "<img src=x" not in page and "&lt;script&gt;" in page
    assert re.findall(r"<script\b[^>]*>", page) == ['<script src="/static/clips.js" defer>']
    token = csrf_of(coach, "/calls/c1")
    r = coach.post(
        "/calls/c1/snippets",
        data={
            "start": "0",
            "end": "2",
            "title": XSS,
            "note": XSS,
            "playlist": XSS,
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    for url in ("/playlists", f"/playlists/{env.playlist_id + 1}", "/calls/c1"):
        html = coach.get(url).text
        assert "<img src=x" not in html and "<script>alert" not in html, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, url


def test_coach_makes_snippets_into_playlists_audited(env: ReviewEnv) -> None:
    coach = env.client()
    sign_in(coach, "cora")
    token = csrf_of(coach, "/calls/c1")

    def snip(**fields: str) -> str:
        data = {"start": "7", "end": "9.5", "title": "Intro", "note": "", "playlist": "Best intros"}
        r = coach.post("/calls/c1/snippets", data=data | fields | {"csrf_token": token})
        assert r.status_code == 303
        return coach.get(r.headers["location"]).text

    assert "Snippet added to playlist Best intros." in snip()
    assert "Snippet added to playlist Best intros." in snip(start="0", end="2", title="Greeting")
    assert "must end after it starts" in snip(start="5", end="5")
    assert "after the call ends" in snip(start="11", end="12")
    assert "title cannot be empty" in snip(title="   ")
    with env.store.session() as s:
        rows = s.execute(
            select(Snippet.title, Snippet.position)
            .order_by(Snippet.id)
            .where(Snippet.created_by == "cora")
        ).all()
        audit = list(
            s.scalars(
                select(AuditEvent.action).where(AuditEvent.actor == "cora").order_by(AuditEvent.id)
            )
        )
    assert rows == [("Intro", 1), ("Greeting", 2)]
    assert audit == ["login", "playlist.create", "snippet.add", "snippet.add"]
    listing = coach.get("/playlists").text
    assert "Best intros" in listing and "Seeded playlist" in listing
    pid = int(re.search(r'href="/playlists/(\d+)">Best intros', listing).group(1))
    page = coach.get(f"/playlists/{pid}").text
    assert page.index("Intro") < page.index("Greeting")
    r = coach.post(f"/playlists/{pid}/share", data={"name": "cora", "csrf_token": token})
    assert "sees every playlist already" in coach.get(r.headers["location"]).text
    coach.post(f"/playlists/{pid}/share", data={"name": "rita", "csrf_token": token})
    with env.store.session() as s:
        assert s.scalar(select(func.count()).select_from(PlaylistShare)) == 1
        intro = s.scalar(select(Snippet.id).where(Snippet.title == "Intro"))
    r = coach.post(f"/snippets/{intro}/remove", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"/playlists/{pid}"
    page = coach.get(f"/playlists/{pid}").text
    assert "Snippet removed." in page and 'aria-label="Play snippet Greeting"' in page
    assert 'aria-label="Play snippet Intro"' not in page
    assert coach.post(f"/snippets/{intro}/remove", data={"csrf_token": token}).status_code == 404
    with env.store.session() as s:
        removed = s.scalar(
            select(AuditEvent).where(AuditEvent.action == "snippet.remove").order_by(AuditEvent.id)
        )
    assert removed.actor == "cora" and removed.details["title"] == "Intro"


def test_relabel_in_one_step_and_fragment_answers(env: ReviewEnv) -> None:
    coach = env.client()
    sign_in(coach, "cora")
    token = csrf_of(coach, "/calls/c1")
    u2 = env.utterances[2].id
    r = coach.post(
        "/calls/c1/relabel",
        data={"utterance_id": u2, "behaviour": "price_mention", "to": "referral_request"},
        headers={"x-csrf-token": token, "x-fragment": "utterance"},
    )
    assert r.status_code == 200 and r.text.lstrip().startswith(f'<li id="u-{u2}"')
    assert "Rejected by cora" in r.text and "Added by cora" in r.text
    assert "<html" not in r.text
    assert unquote(r.headers["x-message"]) == "Relabelled: price_mention → referral_request."
    with env.store.session() as s:
        labels = {
            (lb.behaviour, lb.value)
            for lb in s.scalars(select(Label).where(Label.utterance_id == u2))
        }
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.actor == "cora")))
    assert labels == {("price_mention", False), ("referral_request", True)}
    assert actions == ["login", "label.relabel"]
    flag = env.flags["early"].id
    r = coach.post(
        f"/flags/{flag}/resolve",
        data={"note": ""},
        headers={"x-csrf-token": token, "x-fragment": "flag"},
    )
    assert r.status_code == 200 and r.text.lstrip().startswith(f'<article id="flag-{flag}"')
    assert "Resolved by cora" in r.text
    # Without the header the same actions redirect (the no-script path).
    r = coach.post(f"/flags/{flag}/reopen", data={"csrf_token": token})
    assert r.status_code == 303


def test_adpcm_recording_is_transcoded_once_and_served_with_ranges(env: ReviewEnv) -> None:
    assert codec_of(SAMPLE_ADPCM) == "adpcm_ms"
    target = env.audio_root / "c09.wav"
    shutil.copyfile(SAMPLE_ADPCM, target)  # under the recordings root, like a real import
    with env.store.session() as s:
        add_call(s, "c09", [("rep", 0, 2, "Hi.")], recording=str(target))
        add_call(s, "silent", [("rep", 0, 2, "Imported without audio.")])
    coach = env.client()
    sign_in(coach, "cora")
    full = coach.get("/calls/c09/audio")
    assert full.status_code == 200 and full.headers["content-type"] == "audio/wav"
    cached = list(cache_dir(env.settings.data_dir).glob("*.wav"))
    assert len(cached) == 1 and full.content == cached[0].read_bytes()
    with wave.open(str(cached[0])) as w:
        assert w.getsampwidth() == 2 and w.getnframes() / w.getframerate() == pytest.approx(
            64.9, abs=0.2
        )
    mtime = cached[0].stat().st_mtime_ns
    part = coach.get("/calls/c09/audio", headers={"range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == full.content[1000:2000]
    assert cached[0].stat().st_mtime_ns == mtime  # not transcoded again
    assert coach.get("/calls/c1/audio").content == (env.audio_root / "2025" / "c1.wav").read_bytes()
    page = coach.get("/calls/silent").text
    assert "No playable recording is stored for this call" in page
    assert "data-seek" not in page and "<audio" not in page
    with env.store.session() as s:
        assert s.get(Call, "c09").recording == str(target)  # nothing stored changed


def test_rep_users_are_made_from_the_admin_page_and_the_command_line(
    env: ReviewEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from talktracks.cli import main
    from test_review_support import PASSWORD

    admin = env.client()
    sign_in(admin, "adam")
    token = csrf_of(admin, "/admin")
    form = {"name": "ron", "role": "rep", "password": PASSWORD, "csrf_token": token}
    admin.post("/admin/users", data=form)
    assert "needs the rep id" in admin.get("/admin").text
    admin.post("/admin/users", data=form | {"rep_id": "rep-ann"})
    rep = env.client()
    sign_in(rep, "ron")
    assert rep.get("/calls/c1").status_code == 200 and rep.get("/calls/c2").status_code == 404
    db = ["--db", env.store.url]
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "sam", "--role", "rep", *db]) == 2
    assert "--role rep needs --rep-id" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "sam", "--role", "rep", "--rep-id", "rep-bob", *db]) == 0
    assert "added sam (rep, rep rep-bob)" in capsys.readouterr().out
    with env.store.session() as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action).where(AuditEvent.target.in_(["user:ron", "user:sam"]))
            )
        )
    assert actions == ["user.add", "user.link_rep", "user.add", "user.link_rep"]
