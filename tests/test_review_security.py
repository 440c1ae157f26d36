"""Security of the review app, tested over real HTTP requests (Starlette TestClient).

Sign-in on every route, admin-only actions, CSRF on every state-changing request, escaping of
transcripts and comments, security headers, session cookie and secret, password hashing,
brute-force lockout, and the audio endpoint's confinement to the recordings root.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from talktracks.config import Settings
from talktracks.review import ReviewOptions, create_app
from talktracks.review.pages import TEMPLATES_DIR, safe_next
from talktracks.review.secret import SECRET_FILE
from talktracks.review.throttle import ThrottlePolicy
from talktracks.review.users import add_user
from talktracks.store import (
    AuditEvent,
    Call,
    Comment,
    Flag,
    Label,
    PlaylistShare,
    ReviewSession,
    Snippet,
    Store,
    User,
)
from test_review_support import (
    PASSWORD,
    ReviewEnv,
    add_call,
    csrf_of,
    make_store,
    seed_review,
    sign_in,
    sign_out,
    use_cheap_argon2,
)

PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReviewEnv:
    use_cheap_argon2(monkeypatch)
    e = seed_review(tmp_path)
    yield e
    e.store.dispose()


def form_for(env: ReviewEnv, path: str) -> dict[str, str]:
    """Valid form fields for each state-changing route, so only the check under test can refuse."""
    u = env.utterances
    forms = {
        "/login": {"username": "cora", "password": PASSWORD},
        "/logout": {},
        "/calls/{call_id}/labels": {
            "utterance_id": str(u[2].id),
            "behaviour": "price_mention",
            "value": "false",
        },
        "/calls/{call_id}/comments": {"utterance_id": str(u[2].id), "text": "nice"},
        "/calls/{call_id}/speakers": {"rep": "customer"},
        "/calls/{call_id}/relabel": {
            "utterance_id": str(u[2].id),
            "behaviour": "price_mention",
            "to": "referral_request",
        },
        "/calls/{call_id}/snippets": {
            "start": "1",
            "end": "3",
            "title": "t",
            "note": "",
            "playlist": "Seeded playlist",
        },
        "/playlists/{playlist_id}/share": {"name": "rita"},
        "/snippets/{snippet_id}/remove": {},
        "/flags/{flag_id}/resolve": {"note": "done"},
        "/flags/{flag_id}/reopen": {},
        "/admin/users": {"name": "mallory", "role": "admin", "password": "long enough password"},
        "/admin/users/{name}/disable": {},
        "/admin/users/{name}/enable": {},
        "/admin/users/{name}/password": {"password": "a fresh strong passphrase"},
        "/admin/users/{name}/unlock": {},
        "/admin/users/{name}/sessions/end": {},
        "/account/password": {
            "current": PASSWORD,
            "new": "another strong passphrase",
            "repeat": "another strong passphrase",
        },
        "/admin/flags/rerun": {},
    }
    assert path in forms, f"new state-changing route {path}: add it to the security tests"
    return forms[path]


def routes(env: ReviewEnv) -> list[tuple[str, str, str]]:
    """(method, path template, concrete url) for every route of the app, from its OpenAPI
    description (the app serves none, but builds one), so a new route is checked automatically."""
    values = {
        "call_id": "c1",
        "flag_id": str(env.flags["early"].id),
        "name": "cora",
        "deal_id": "D1",
        "playlist_id": str(env.playlist_id),
        "snippet_id": str(env.snippet_id),
    }
    out = []
    for path, operations in env.app.openapi()["paths"].items():
        url = path
        for param, value in values.items():
            url = url.replace("{" + param + "}", value)
        assert "{" not in url, f"no sample value for a parameter of {path}"
        for method in sorted(m.upper() for m in operations if m != "head"):
            out.append((method, path, url))
    assert len(out) >= 14
    return out


def snapshot(store: Store) -> dict[str, object]:
    """What a refused request must leave as it was."""
    with store.session() as s:
        return {
            "labels": s.scalar(select(func.count()).select_from(Label)),
            "comments": s.scalar(select(func.count()).select_from(Comment)),
            "users": sorted((u.name, u.disabled) for u in s.scalars(select(User))),
            "flags": sorted((f.id, f.status) for f in s.scalars(select(Flag))),
            "snippets": s.scalar(select(func.count()).select_from(Snippet)),
            "shares": s.scalar(select(func.count()).select_from(PlaylistShare)),
        }


# --- sign-in and roles ------------------------------------------------------------------------


def test_every_route_needs_a_signed_in_user(env: ReviewEnv) -> None:
    client = env.client()
    anon_token = csrf_of(client)  # a signed-out session has a token too (for the sign-in form)
    before = snapshot(env.store)
    checked = 0
    for method, path, url in routes(env):
        if (method, path) in PUBLIC:
            continue
        checked += 1
        if method == "GET":
            page = client.get(url, headers={"accept": "text/html"})
            assert page.status_code == 303, url
            assert page.headers["location"].startswith("/login?next="), url
            api = client.get(url)
            assert api.status_code == 401, url
            assert "pipeline" not in api.text and "dollars" not in api.text
        else:
            data = form_for(env, path) | {"csrf_token": anon_token}
            r = client.request(method, url, data=data)
            assert r.status_code == 401, (method, url, r.status_code)
    assert checked >= 10
    assert client.get("/calls/c1/audio", headers={"range": "bytes=0-9"}).status_code == 401
    assert snapshot(env.store) == before


def test_only_static_files_and_sign_in_are_public(env: ReviewEnv) -> None:
    client = env.client()
    assert client.get("/login").status_code == 200
    assert client.get("/static/app.css").status_code == 200
    for hidden in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(hidden).status_code == 404


def test_coach_cannot_use_admin_pages_or_actions(env: ReviewEnv) -> None:
    client = env.client()
    sign_in(client, "cora")
    token = csrf_of(client, "/queue")
    before = snapshot(env.store)
    admin_routes = [(m, p, u) for m, p, u in routes(env) if p.startswith("/admin")]
    assert len(admin_routes) >= 5
    for method, path, url in admin_routes:
        if method == "GET":
            assert client.get(url).status_code == 403
        else:
            r = client.request(method, url, data=form_for(env, path) | {"csrf_token": token})
            assert r.status_code == 403, url
    assert snapshot(env.store) == before
    assert "/admin" not in client.get("/queue").text  # no link to what they may not use
    sign_out(client)
    sign_in(client, "adam")
    assert client.get("/admin").status_code == 200


def test_disabling_a_user_ends_their_session_at_once(env: ReviewEnv) -> None:
    coach = env.client()
    sign_in(coach, "cora")
    assert coach.get("/queue").status_code == 200
    admin = env.client()
    sign_in(admin, "adam")
    token = csrf_of(admin, "/admin")
    assert admin.post("/admin/users/cora/disable", data={"csrf_token": token}).status_code == 303
    assert coach.get("/queue").status_code == 401
    r = coach.post(
        "/login", data={"username": "cora", "password": PASSWORD, "csrf_token": csrf_of(coach)}
    )
    assert r.status_code == 401


# --- CSRF -------------------------------------------------------------------------------------


def test_every_state_changing_request_needs_the_csrf_token(env: ReviewEnv) -> None:
    other = env.client()
    other_token = csrf_of(other)
    client = env.client()
    sign_in(client, "adam")
    token = csrf_of(client, "/queue")
    before = snapshot(env.store)
    posts = [(m, p, u) for m, p, u in routes(env) if m != "GET"]
    assert {p for _, p, _ in posts} >= {"/login", "/logout", "/calls/{call_id}/labels"}
    for method, path, url in posts:
        data = form_for(env, path)
        for bad in (
            None,
            "",
            "x" * 43,
            token[:-1] + ("A" if token[-1] != "A" else "B"),
            other_token,
        ):
            sent = data if bad is None else data | {"csrf_token": bad}
            r = client.request(method, url, data=sent)
            assert r.status_code == 403, (url, bad, r.status_code)
        r = client.request(method, url, data=data, headers={"x-csrf-token": "nope"})
        assert r.status_code == 403
    assert snapshot(env.store) == before
    assert client.get("/queue").status_code == 200  # the refused /logout did not sign out
    # Positive control: the right token works, in the form or the header.
    ok = client.post("/calls/c1/comments", data={"text": "fine", "csrf_token": token})
    assert ok.status_code == 303
    ok = client.post("/calls/c1/comments", data={"text": "fine"}, headers={"x-csrf-token": token})
    assert ok.status_code == 303


def test_sign_in_rotates_the_session_and_its_csrf_token(env: ReviewEnv) -> None:
    client = env.client()
    before = csrf_of(client)
    sign_in(client, "cora")
    after = csrf_of(client, "/queue")
    assert after != before
    r = client.post("/calls/c1/comments", data={"text": "x", "csrf_token": before})
    assert r.status_code == 403


# --- escaping and headers ---------------------------------------------------------------------

XSS_TEXT = 'It costs <script>alert("t")</script> <img src=x onerror=alert(1)> "quoted" & more'
XSS_COMMENT = '</p><script>alert("c")</script><svg onload=alert(2)>'


def test_transcript_and_comment_payloads_render_as_inert_text(env: ReviewEnv) -> None:
    with env.store.session() as s:
        utts = add_call(
            s,
            "x1",
            [("rep", 0, 3, XSS_TEXT), ("customer", 3, 4, "<b onmouseover=alert(3)>hi</b>")],
            rep='<script>alert("rep")</script>',
        )
        from test_review_support import add_tag

        add_tag(s, utts[0], "price_mention", span=(9, 20))  # cuts through the <script> tag
        add_tag(s, utts[0], "product_introduction", span=(15, 45))  # overlapping
        s.add(
            Flag(
                call_id="x1",
                rule="early_price",
                severity="high",
                reason='<img src=x onerror=alert("r")>',
                at_seconds=0.0,
                utterance_id=utts[0].id,
                dedupe_key="early_price:x1",
            )
        )
    client = env.client()
    sign_in(client, "cora")
    token = csrf_of(client, "/calls/x1")
    r = client.post(
        "/calls/x1/comments",
        data={"text": XSS_COMMENT, "utterance_id": utts[0].id, "csrf_token": token},
    )
    assert r.status_code == 303
    for url in ("/calls/x1", "/queue"):
        html = client.get(url).text
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert all('src="/static/' in tag for tag in scripts), scripts
        assert not re.search(r"<(img|svg|b)\b[^>]*\son\w+=", html, re.I)
        assert "&lt;script&gt;" in html or "&lt;img" in html
    html = client.get("/calls/x1").text
    assert "&lt;/p&gt;&lt;script&gt;alert(&#34;c&#34;)&lt;/script&gt;" in html
    assert "&lt;b onmouseover=alert(3)&gt;hi&lt;/b&gt;" in html
    assert '<mark class="tag"' in html  # highlighting still happened, around escaped pieces


def test_security_headers_on_every_kind_of_response(env: ReviewEnv) -> None:
    client = env.client()
    responses = [client.get("/login"), client.get("/static/app.css"), client.get("/nope")]
    sign_in(client, "cora")
    responses += [client.get("/queue"), client.get("/calls/c1"), client.get("/calls/c1/audio")]
    for r in responses:
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "default-src 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
    assert responses[3].headers["cache-control"] == "no-store"


def test_templates_have_no_inline_script_handlers_or_styles() -> None:
    for template in TEMPLATES_DIR.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "style=" not in text and "javascript:" not in text, template.name
        assert "|safe" not in text, template.name  # markup is built in Python with markupsafe


# --- sessions, secret, passwords ----------------------------------------------------------------


def test_session_cookie_is_an_opaque_random_token(env: ReviewEnv) -> None:
    client = env.client()
    r = client.post(
        "/login", data={"username": "cora", "password": PASSWORD, "csrf_token": csrf_of(client)}
    )
    cookie = next(c for c in r.headers.get_list("set-cookie") if "talktracks_session=" in c)
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "secure" not in lowered
    assert "path=/" in lowered
    value = client.cookies.get("talktracks_session")
    assert value and len(value) >= 40 and client.get("/queue").status_code == 200
    assert "cora" not in value and "." not in value  # nothing readable, nothing to forge
    with env.store.session() as s:
        stored = s.scalars(select(ReviewSession.id)).all()
    assert value not in stored  # only its hash is stored
    for bad in (value[:-1] + ("A" if value[-1] != "A" else "B"), "", "x" * 300):
        client.cookies.clear()
        client.cookies.set("talktracks_session", bad)
        assert client.get("/queue").status_code == 401

    secure = TestClient(
        create_app(env.settings, ReviewOptions(secure_cookies=True), store=env.store),
        base_url="https://testserver",
        follow_redirects=False,
    )
    token_page = secure.get("/login")
    assert "__Host-talktracks_signin=" in token_page.headers["set-cookie"]
    r = secure.post(
        "/login", data={"username": "cora", "password": PASSWORD, "csrf_token": csrf_of(secure)}
    )
    cookie = next(c for c in r.headers.get_list("set-cookie") if "_session=" in c)
    assert cookie.startswith("__Host-talktracks_session=") and "; Secure" in cookie
    assert "Domain" not in cookie and "Path=/" in cookie


def test_session_secret_is_generated_private_and_reused(env: ReviewEnv) -> None:
    path = env.settings.data_dir / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text().strip()
    assert len(secret) >= 32
    client = env.client()
    sign_in(client, "cora")
    # A second app on the same data dir (a restart) keeps the secret; sessions (rows) survive.
    restarted = create_app(env.settings, store=env.store)
    assert path.read_text().strip() == secret
    again = TestClient(restarted, follow_redirects=False, cookies=dict(client.cookies))
    assert again.get("/queue").status_code == 200
    package = Path(__import__("talktracks").__file__).parent
    assert not any(secret in p.read_text(errors="ignore") for p in package.rglob("*.py"))


def test_loose_secret_permissions_are_tightened(tmp_path: Path) -> None:
    from talktracks.review.secret import load_or_create_secret

    first = load_or_create_secret(tmp_path)
    os.chmod(tmp_path / SECRET_FILE, 0o644)
    assert load_or_create_secret(tmp_path) == first
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600


def test_passwords_are_stored_as_argon2id_hashes(tmp_path: Path) -> None:
    store = make_store(tmp_path)  # production hasher parameters: no cheap_argon2 here
    add_user(store, "paula", PASSWORD, "coach", actor="test")
    with store.session() as s:
        hashed = s.scalar(select(User.password_hash).where(User.name == "paula"))
    assert hashed.startswith("$argon2id$") and "m=65536" in hashed and PASSWORD not in hashed
    store.dispose()


# --- brute force (more in test_review_sessions.py, over a real server) --------------------


def test_lockout_per_user_and_address_and_per_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_cheap_argon2(monkeypatch)
    policy = ThrottlePolicy(pair_limit=3, address_limit=5, user_slow_after=50)
    env = seed_review(tmp_path, ReviewOptions(throttle=policy))
    client = env.client()

    def attempt(name: str, password: str) -> int:
        data = {"username": name, "password": password, "csrf_token": csrf_of(client)}
        return client.post("/login", data=data).status_code

    assert [attempt("cora", "wrong password") for _ in range(3)] == [401, 401, 401]
    r_code = attempt("cora", PASSWORD)
    assert r_code == 429  # locked for this address, even with the right password
    page = client.post(
        "/login", data={"username": "CORA", "password": PASSWORD, "csrf_token": csrf_of(client)}
    )
    assert page.status_code == 429 and "Too many failed sign-in attempts" in page.text
    assert attempt("adam", PASSWORD) == 303  # another user from the same address: 3 < 5
    sign_out(client)
    assert attempt("ghost", "x") == 401 and attempt("ghost2", "x") == 401  # 5 from this address
    assert attempt("adam", PASSWORD) == 429
    with env.store.session() as s:
        failed = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login.failed")
        )
    assert failed == 5
    env.store.dispose()


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
    ],
)
def test_sign_in_never_redirects_off_site(target: str) -> None:
    assert safe_next(target) == "/queue"
    assert safe_next("/calls/c1#u-3") == "/calls/c1#u-3"


def test_sign_in_next_parameter_is_sanitised(env: ReviewEnv) -> None:
    client = env.client()
    data = {
        "username": "cora",
        "password": PASSWORD,
        "csrf_token": csrf_of(client),
        "next": "//evil.example/",
    }
    assert client.post("/login", data=data).headers["location"] == "/queue"


# --- audio ------------------------------------------------------------------------------------


def test_audio_supports_ranges_for_seeking(env: ReviewEnv) -> None:
    client = env.client()
    sign_in(client, "cora")
    wav = (env.audio_root / "2025" / "c1.wav").read_bytes()
    full = client.get("/calls/c1/audio")
    assert full.status_code == 200 and full.content == wav
    assert full.headers["content-type"] == "audio/wav"
    assert full.headers["accept-ranges"] == "bytes"
    part = client.get("/calls/c1/audio", headers={"range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(wav)}"
    assert part.content == wav[100:200]
    tail = client.get("/calls/c1/audio", headers={"range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == wav[-50:]
    bad = client.get("/calls/c1/audio", headers={"range": f"bytes={len(wav) + 10}-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{len(wav)}"
    head = client.head("/calls/c1/audio")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(wav))


@pytest.mark.parametrize(
    ("ext", "media_type"),
    [
        ("ogg", "audio/ogg"),
        ("mp3", "audio/mpeg"),
        ("m4a", "audio/mp4"),
        ("flac", "audio/flac"),
        ("wav", "audio/wav"),
    ],
)
def test_audio_content_type_follows_the_extension(
    env: ReviewEnv, ext: str, media_type: str
) -> None:
    path = env.audio_root / f"clip.{ext.upper() if ext == 'mp3' else ext}"
    path.write_bytes(b"\0" * 64)
    with env.store.session() as s:
        add_call(s, f"k-{ext}", [], recording=str(path))
    client = env.client()
    sign_in(client, "cora")
    r = client.get(f"/calls/k-{ext}/audio")
    assert r.status_code == 200 and r.headers["content-type"] == media_type


def test_audio_never_leaves_the_recordings_root(env: ReviewEnv, tmp_path: Path) -> None:
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"RIFF-top-secret")
    (env.audio_root / "notes.txt").write_text("not audio")
    (env.audio_root / "link.wav").symlink_to(outside)
    (env.audio_root / "dir.wav").mkdir()
    stored = {
        "abs-outside": str(outside),
        "dotdot": str(env.audio_root / ".." / "secret.wav"),
        "relative-dotdot": "../secret.wav",
        "symlink-out": str(env.audio_root / "link.wav"),
        "not-audio": str(env.audio_root / "notes.txt"),
        "missing": str(env.audio_root / "gone.wav"),
        "directory": str(env.audio_root / "dir.wav"),
        "nul": str(env.audio_root / "a\0.wav"),
        "none": None,
        "etc": "/etc/passwd",
    }
    with env.store.session() as s:
        for call_id, recording in stored.items():
            s.add(Call(call_id=call_id, recording=recording, status="done"))
    client = env.client()
    sign_in(client, "cora")
    for call_id in stored:
        r = client.get(f"/calls/{call_id}/audio")
        assert r.status_code == 404, call_id
        assert b"top-secret" not in r.content and "root" not in r.text
    for url in (
        "/calls/..%2F..%2Fsecret.wav/audio",
        "/calls/c1/audio/../../secret.wav",
        "/calls/%2Fetc%2Fpasswd/audio",
        "/calls/c1/audio?path=/etc/passwd",
    ):
        r = client.get(url)
        assert b"top-secret" not in r.content and b"root:" not in r.content, url
    assert "No playable recording is stored" in client.get("/calls/abs-outside").text
    # A relative recording inside the root is fine.
    with env.store.session() as s:
        s.add(Call(call_id="rel", recording="2025/c1.wav", status="done"))
    assert client.get("/calls/rel/audio").status_code == 200


def test_audio_root_is_the_configured_recordings_root(env: ReviewEnv, tmp_path: Path) -> None:
    """Settings.recordings_root narrows what may be served, even below recordings_dir."""
    narrowed = env.settings.with_overrides(recordings_root=env.audio_root / "elsewhere")
    (env.audio_root / "elsewhere").mkdir()
    client = TestClient(create_app(narrowed, store=env.store), follow_redirects=False)
    sign_in(client, "cora")
    assert client.get("/calls/c1/audio").status_code == 404
    assert isinstance(narrowed, Settings)


def test_highlight_escapes_every_piece_and_clamps_offsets() -> None:
    from talktracks.review.highlight import Span, highlight

    text = '<b>"x" & y</b>'
    spans = [Span(-5, 3, "a_b", 0.5), Span(2, 99, "c", 0.9, rejected=True), Span(7, 4, "d", 0.1)]
    html = str(highlight(text, spans))
    assert "<b>" not in html and "</b>" not in html and "&lt;/b&gt;" in html
    assert "&amp;" in html and "&#34;x&#34;" in html
    assert (
        html.count("<mark") == 3
    )  # [0,2) a_b, [2,3) a_b+c, [3,end) c; the reversed span is ignored
    assert 'class="tag rejected" data-behaviours="c"' in html
    assert 'data-behaviours="a_b c" title="a b 0.50; c 0.90"' in html
    assert str(highlight("", spans)) == ""
