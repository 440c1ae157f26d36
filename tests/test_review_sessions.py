"""Sessions, sign-in throttling, passwords and request bounds of the review app, over real HTTP.

Every test talks to a real uvicorn server on a free port (in a thread, or `talktracks review
serve` as a child process where a restart or uvicorn's proxy handling is the point) with httpx,
the way a browser or an attacker would: cookies captured and replayed, forged headers, raw
percent-encoded paths.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select, update

from talktracks.cli import main
from talktracks.review.callpaths import call_url, deal_url
from talktracks.review.users import add_user
from talktracks.store import AuditEvent, Comment, ReviewSession, SignInBucket, User
from talktracks.store.models import utcnow
from test_review_support import (
    CSRF_RE,
    PASSWORD,
    RESERVED_IDS,
    ReviewEnv,
    add_call,
    make_store,
    make_wav,
    seed_review,
    use_cheap_argon2,
)

SECURITY_HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn server in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture()
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, ReviewEnv]]:
    use_cheap_argon2(monkeypatch)
    env = seed_review(tmp_path)
    with serving(env.app) as base:
        yield base, env
    env.store.dispose()


def browser(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, follow_redirects=False, timeout=30)


def token_of(client: httpx.Client, path: str = "/login") -> str:
    r = client.get(path, headers={"accept": "text/html"})
    match = CSRF_RE.search(r.text)
    assert match, f"no form token on {path} ({r.status_code})"
    return match.group(1)


def login(client: httpx.Client, name: str, password: str = PASSWORD, **headers: str) -> int:
    data = {"username": name, "password": password, "csrf_token": token_of(client)}
    return client.post("/login", data=data, headers=headers).status_code


def signed_in(name: str, base: str, password: str = PASSWORD) -> httpx.Client:
    client = browser(base)
    assert login(client, name, password) == 303
    assert client.get("/queue").status_code == 200
    return client


def replay(base: str, cookies: httpx.Cookies) -> httpx.Client:
    """A second browser holding a copy of captured cookies (an attacker's, say)."""
    client = browser(base)
    for cookie in cookies.jar:
        client.cookies.set(cookie.name, cookie.value)
    return client


def comments(env: ReviewEnv) -> int:
    with env.store.session() as s:
        return s.scalar(select(func.count()).select_from(Comment)) or 0


# --- sessions end when they should -----------------------------------------------------------


def test_a_cookie_captured_before_sign_out_is_refused(served: tuple[str, ReviewEnv]) -> None:
    base, env = served
    cora = signed_in("cora", base)
    token = token_of(cora, "/calls/c1")
    stolen = replay(base, cora.cookies)
    assert stolen.get("/queue").status_code == 200  # the copy works while the session lives
    first = cora.cookies.get("talktracks_session")
    assert cora.post("/logout", data={"csrf_token": token}).status_code == 303
    with env.store.session() as s:
        assert s.scalar(select(func.count()).select_from(ReviewSession)) == 0  # row deleted
    before = comments(env)
    assert stolen.get("/queue").status_code == 401
    r = stolen.post("/calls/c1/comments", data={"text": "still here?", "csrf_token": token})
    assert r.status_code == 403  # the old form token died with its session
    assert comments(env) == before
    # Signing in again gives a new session id (rotated), not the old one back.
    assert login(cora, "cora") == 303
    assert cora.cookies.get("talktracks_session") not in (None, first)


def test_a_password_change_by_cli_or_admin_ends_every_session(
    served: tuple[str, ReviewEnv],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, env = served
    laptop, phone = signed_in("cora", base), signed_in("cora", base)
    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new passphrase\n"))
    assert main(["users", "password", "cora", "--db", env.store.url]) == 0
    assert "2 session(s) ended" in capsys.readouterr().out
    assert laptop.get("/queue").status_code == 401 and phone.get("/queue").status_code == 401
    assert login(browser(base), "cora") == 401  # the old password is gone too
    cora = signed_in("cora", base, "a brand new passphrase")

    # An admin reset in the web app does the same.
    adam = signed_in("adam", base)
    r = adam.post(
        "/admin/users/cora/password",
        data={
            "password": "reset by the admin today",
            "csrf_token": token_of(adam, "/admin/users/cora"),
        },
    )
    assert r.status_code == 303
    page = adam.get("/admin/users/cora").text
    assert "Password of cora reset; 1 session(s) ended." in page
    assert cora.get("/queue").status_code == 401
    signed_in("cora", base, "reset by the admin today")


def test_a_disable_then_enable_leaves_old_cookies_dead(served: tuple[str, ReviewEnv]) -> None:
    base, env = served
    cora = signed_in("cora", base)
    stolen = replay(base, cora.cookies)
    adam = signed_in("adam", base)
    token = token_of(adam, "/admin")
    assert adam.post("/admin/users/cora/disable", data={"csrf_token": token}).status_code == 303
    assert adam.post("/admin/users/cora/enable", data={"csrf_token": token}).status_code == 303
    assert cora.get("/queue").status_code == 401 and stolen.get("/queue").status_code == 401
    signed_in("cora", base)  # cora herself just signs in again
    # The CLI's disable/enable ends sessions the same way.
    cora = signed_in("cora", base)
    assert main(["users", "disable", "cora", "--db", env.store.url]) == 0
    assert main(["users", "enable", "cora", "--db", env.store.url]) == 0
    assert cora.get("/queue").status_code == 401


def test_an_idle_session_expires_and_an_active_one_does_not(served: tuple[str, ReviewEnv]) -> None:
    base, env = served
    assert env.settings.review_session_idle_minutes == 30  # the default under test
    idle, busy, old = signed_in("cora", base), signed_in("cora", base), signed_in("adam", base)

    def age(client: httpx.Client, **columns: object) -> None:
        from talktracks.review.sessions import token_hash

        sid = token_hash(client.cookies["talktracks_session"])
        with env.store.session() as s:
            s.execute(update(ReviewSession).where(ReviewSession.id == sid).values(**columns))

    now = utcnow()
    age(idle, last_seen_at=now - timedelta(minutes=31))
    age(busy, last_seen_at=now - timedelta(minutes=29))
    # Used within 30 minutes all along, but signed in longer ago than the absolute lifetime.
    age(old, created_at=now - timedelta(hours=13), expires_at=now - timedelta(minutes=1))
    r = idle.get("/queue", headers={"accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert "talktracks_session=;" in r.headers["set-cookie"]  # the browser is told to forget it
    assert busy.get("/queue").status_code == 200
    assert old.get("/queue").status_code == 401
    with env.store.session() as s:
        rows = s.scalars(select(ReviewSession)).all()
    assert len(rows) == 1 and utcnow() - rows[0].last_seen_at < timedelta(minutes=1)  # touched


def test_admin_sees_and_ends_a_users_sessions(served: tuple[str, ReviewEnv]) -> None:
    base, _env = served
    laptop = signed_in("cora", base)
    phone = browser(base)
    data = {"username": "cora", "password": PASSWORD, "csrf_token": token_of(phone)}
    phone.post("/login", data=data, headers={"user-agent": "PhoneBrowser/1.0"})
    adam = signed_in("adam", base)
    page = adam.get("/admin/users/cora")
    assert page.status_code == 200 and page.text.count('name="session" value="') == 2
    assert "PhoneBrowser/1.0" in page.text and "127.0.0.1" in page.text
    # End one session (the phone's): its row id is on the page, its cookie token never is.
    assert phone.cookies["talktracks_session"] not in page.text
    phone_row = page.text.split("PhoneBrowser/1.0")[1].split('name="session" value="')[1][:64]
    token = token_of(adam, "/admin/users/cora")
    r = adam.post(
        "/admin/users/cora/sessions/end", data={"session": phone_row, "csrf_token": token}
    )
    assert r.status_code == 303
    assert phone.get("/queue").status_code == 401 and laptop.get("/queue").status_code == 200
    r = adam.post("/admin/users/cora/sessions/end", data={"csrf_token": token})
    assert laptop.get("/queue").status_code == 401
    assert "No open sessions." in adam.get("/admin/users/cora").text
    assert adam.get("/queue").status_code == 200  # the admin's own session is untouched


# --- own password, policy ------------------------------------------------------------------


def test_own_password_change_needs_the_current_one_and_ends_the_other_sessions(
    served: tuple[str, ReviewEnv],
) -> None:
    base, _env = served
    here, elsewhere = signed_in("cora", base), signed_in("cora", base)
    token = token_of(here, "/account")

    def change(current: str, new: str, repeat: str | None = None) -> httpx.Response:
        data = {"current": current, "new": new, "repeat": repeat or new, "csrf_token": token}
        return here.post("/account/password", data=data)

    r = change("not my password", "a much better passphrase")
    assert r.status_code == 400 and "the current password is not right" in r.text
    r = change(PASSWORD, "a much better passphrase", "a much better passfrase")
    assert r.status_code == 400 and "its repetition differ" in r.text
    r = change(PASSWORD, "cora1234cora5678")
    assert r.status_code == 400 and "contains the user name" in r.text
    assert elsewhere.get("/queue").status_code == 200  # nothing changed yet
    r = change(PASSWORD, "a much better passphrase")
    assert r.status_code == 303
    assert "Password changed. 1 other session(s) ended." in here.get("/account").text
    assert here.get("/queue").status_code == 200  # this session goes on
    assert elsewhere.get("/queue").status_code == 401
    assert login(browser(base), "cora") == 401
    signed_in("cora", base, "a much better passphrase")


WEAK = {
    "aaaaaaaaaaaa": "too easy to guess (Repeats like",
    "123456789012": "too easy to guess",
    " " * 12: "only spaces",
    "password1234": "too easy to guess",
    "qwertyuiop[]": "too easy to guess",
    "short pw": "too short: it has 8 characters, use at least 12",
    "dora-the-explorer-2024": "contains the user name",
}


def test_weak_passwords_are_refused_by_cli_and_web_saying_what_to_change(
    served: tuple[str, ReviewEnv],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, env = served
    adam = signed_in("adam", base)
    token = token_of(adam, "/admin")
    for password, why in WEAK.items():
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        assert main(["users", "add", "dora", "--role", "coach", "--db", env.store.url]) == 2
        err = capsys.readouterr().err
        assert err.startswith("talktracks: error: password") and why in err, (password, err)
        assert len(err.strip().splitlines()) == 1
        r = adam.post(
            "/admin/users",
            data={"name": "dora", "role": "coach", "password": password, "csrf_token": token},
        )
        assert r.status_code == 303
        assert why in adam.get("/admin").text, password
    with env.store.session() as s:
        assert s.scalar(select(User).where(User.name == "dora")) is None
    monkeypatch.setattr("sys.stdin", io.StringIO("harbour lantern quietly\n"))
    assert main(["users", "add", "dora", "--role", "coach", "--db", env.store.url]) == 0
    signed_in("dora", base, "harbour lantern quietly")


# --- bounds, headers, audio ----------------------------------------------------------------


def test_out_of_range_input_gives_4xx_with_the_security_headers(
    served: tuple[str, ReviewEnv],
) -> None:
    base, env = served
    cora = signed_in("cora", base)
    token = token_of(cora, "/calls/c1")
    huge = str(10**30)
    answers = [
        cora.post(
            "/calls/c1/labels",
            data={
                "utterance_id": huge,
                "behaviour": "price_mention",
                "value": "true",
                "csrf_token": token,
            },
        ),
        cora.post(
            "/calls/c1/comments", data={"utterance_id": huge, "text": "x", "csrf_token": token}
        ),
        cora.post(
            "/calls/c1/comments", data={"utterance_id": "-1", "text": "x", "csrf_token": token}
        ),
        cora.post(f"/flags/{huge}/resolve", data={"csrf_token": token}),
        cora.post(f"/flags/{2**63}/reopen", data={"csrf_token": token}),
        cora.get("/queue?date_to=9999-12-31", headers={"accept": "text/html"}),
        cora.get("/queue?date_from=0001-01-01"),
        cora.get(f"/queue?page={huge}"),
        cora.get("/calls/" + "x" * 5000),
        cora.get("/calls/%FF%FE"),  # not UTF-8
    ]
    for r in answers:
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code)
        for header in SECURITY_HEADERS:
            assert header in r.headers, (r.request.url, header)
        assert r.headers["cache-control"] == "no-store"
    assert "Invalid utterance_id" in answers[0].text  # the usual page, saying what is wrong
    assert "outside 1900-01-01 to 9998-12-31" in answers[5].text
    assert "/queue" in answers[5].text and "Flag queue" in answers[5].text

    # An unexpected error is still a page with every header (the middleware answers it).
    def boom() -> None:
        raise RuntimeError("an internal bug")

    env.app.add_api_route("/boom", boom)
    r = cora.get("/boom")
    assert r.status_code == 500 and "an internal bug" not in r.text
    for header in SECURITY_HEADERS:
        assert header in r.headers
    assert r.headers["cache-control"] == "no-store"


def test_issue_15_routes_bound_their_input_too(served: tuple[str, ReviewEnv]) -> None:
    """The routes the coach-workflow branch added check ids, pages and dates at the boundary."""
    base, env = served
    cora = signed_in("cora", base)
    token = token_of(cora, "/calls/c1")
    huge = str(10**30)
    relabel = {"utterance_id": huge, "behaviour": "price_mention", "to": "referral_request"}
    answers = [
        cora.post("/calls/c1/relabel", data=relabel | {"csrf_token": token}),
        cora.get(f"/playlists/{huge}"),
        cora.get(f"/playlists/{2**63}"),
        cora.post(f"/playlists/{huge}/share", data={"name": "rita", "csrf_token": token}),
        cora.post(f"/snippets/{huge}/remove", data={"csrf_token": token}),
        cora.get(f"/snippets/{huge}/audio"),
        cora.get("/playlists/0"),
        cora.get(f"/calls?page={huge}"),
        cora.get("/deals/" + "x" * 5000),
    ]
    for r in answers:
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code)
        for header in SECURITY_HEADERS:
            assert header in r.headers, (r.request.url, header)
    assert "Invalid utterance_id" in answers[0].text
    # The call list names a date it cannot compute with and ignores it, as any bad filter.
    listing = cora.get("/calls?date_to=9999-12-31", headers={"accept": "text/html"})
    assert listing.status_code == 200 and "outside 1900-01-01 to 9998-12-31" in listing.text


def test_recordings_are_never_cached(served: tuple[str, ReviewEnv]) -> None:
    base, _env = served
    cora = signed_in("cora", base)
    for r in (
        cora.get("/calls/c1/audio"),
        cora.get("/calls/c1/audio", headers={"range": "bytes=0-99"}),
    ):
        assert r.status_code in (200, 206) and r.headers["cache-control"] == "no-store"


def test_call_ids_with_reserved_characters_open_and_play_over_http(
    served: tuple[str, ReviewEnv],
) -> None:
    base, env = served
    sizes = {}
    with env.store.session() as s:
        for n, call_id in enumerate(RESERVED_IDS):
            wav = make_wav(env.audio_root / f"r{n}.wav", seconds=1.0 + n / 10)
            sizes[call_id] = wav.stat().st_size
            # Each call's deal has the same awkward id, so deal pages are covered too.
            add_call(
                s,
                call_id,
                [("rep", 0, 1, f"utterance of call number {n}")],
                recording=str(wav),
                deal=call_id,
            )
    cora = signed_in("cora", base)
    for n, call_id in enumerate(RESERVED_IDS):
        url = call_url(call_id)
        assert url.count("/") == 2, url  # one segment, whatever the id holds
        page = cora.get(url)
        assert page.status_code == 200, (call_id, url)
        assert f"utterance of call number {n}<" in page.text
        assert f'src="{url}/audio"' in page.text
        audio = cora.get(url + "/audio")
        assert audio.status_code == 200 and len(audio.content) == sizes[call_id], call_id
        token = CSRF_RE.search(page.text).group(1)
        r = cora.post(url + "/comments", data={"text": f"seen {n}", "csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == url
        # The coach-workflow surfaces link and act through the same encoding.
        assert f'href="{url}"' in cora.get("/calls").text
        deal = deal_url(call_id)
        assert deal.count("/") == 2 and f'href="{deal}"' in page.text, (call_id, deal)
        deal_page = cora.get(deal)
        assert deal_page.status_code == 200, (call_id, deal)
        assert f'href="{url}"' in deal_page.text and "1 call" in deal_page.text
        u_id = int(re.search(r'id="u-(\d+)"', page.text).group(1))
        label = {"utterance_id": str(u_id), "behaviour": "price_mention", "value": "true"}
        r = cora.post(
            url + "/labels", data=label | {"csrf_token": token}, headers={"x-fragment": "utterance"}
        )
        assert r.status_code == 200 and f'action="{url}/labels"' in r.text, call_id
        cut = {"start": "0", "end": "1", "title": f"cut {n}", "playlist": "Reserved ids"}
        r = cora.post(url + "/snippets", data=cut | {"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == f"{url}?t=0#snippet-form"
    with env.store.session() as s:
        stored = dict(s.execute(select(Comment.call_id, Comment.text)).all())
    assert stored == {call_id: f"seen {n}" for n, call_id in enumerate(RESERVED_IDS)}
    # Signing in from a deep link comes back to the same (encoded) call.
    anon = browser(base)
    url = call_url("c01-solar-intro/audio")
    r = anon.get(url, headers={"accept": "text/html"})
    assert r.status_code == 303
    data = {"username": "cora", "password": PASSWORD, "csrf_token": token_of(anon)}
    login_page = anon.get(r.headers["location"]).text
    data["next"] = login_page.split('name="next" value="')[1].split('"')[0]
    assert anon.post("/login", data=data).headers["location"] == url


# --- throttling: restarts, addresses, proxies (a real `talktracks review serve`) -----------------


@contextmanager
def review_serve(tmp_path: Path, db_url: str, **env_vars: str) -> Iterator[str]:
    exe = Path(sys.executable).with_name("talktracks")
    if not exe.exists():
        pytest.skip(f"no talktracks console script beside {sys.executable}")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TALKTRACKS_DATA_DIR": str(tmp_path / "data"),
        "TALKTRACKS_CONFIG": str(tmp_path / "none.toml"),
        "TALKTRACKS_DB_URL": db_url,
        "FORWARDED_ALLOW_IPS": "*",  # uvicorn's own knob must not widen the trust
        **env_vars,
    }
    log = (tmp_path / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(
        [str(exe), "review", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "review serve did not start"
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture()
def users_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    use_cheap_argon2(monkeypatch)  # the server checks these hashes with their own parameters
    store = make_store(tmp_path)
    add_user(store, "cora", PASSWORD, "coach", actor="test")
    add_user(store, "adam", PASSWORD, "admin", actor="test")
    store.dispose()
    return store.url


def test_forged_forwarded_for_is_ignored_lockout_survives_a_restart_real_user_gets_in(
    tmp_path: Path, users_db: str
) -> None:
    """Two `review serve` processes on one store (each start costs seconds, so one test)."""
    # 1. No trusted proxies (the default): forged X-Forwarded-For buys an attacker nothing.
    with review_serve(tmp_path, users_db) as base:
        client = browser(base)
        forged = [
            login(client, "cora", f"guess number {i}", **{"x-forwarded-for": f"198.51.100.{i}"})
            for i in range(5)
        ]
        assert forged == [401] * 5
        # A fresh forged address does not help: all five counted for the real peer address,
        # and the right password from there is refused now.
        assert login(client, "cora", PASSWORD, **{"x-forwarded-for": "192.0.2.77"}) == 429
    store = make_store(tmp_path)
    with store.session() as s:
        targets = set(
            s.scalars(select(AuditEvent.target).where(AuditEvent.action == "login.failed"))
        )
        keys = set(s.scalars(select(SignInBucket.key)))
    store.dispose()
    assert targets == {"address:127.0.0.1"}
    assert "pair:cora|127.0.0.1" in keys and not any("198.51.100" in k for k in keys)

    # 2. A new process on the same store, now behind a trusted proxy (we play it): the lock
    # held across the restart; the real user, from another address, gets in after a wait.
    real_user = {"x-forwarded-for": "198.51.100.7"}
    with review_serve(tmp_path, users_db, TALKTRACKS_REVIEW_TRUSTED_PROXIES="127.0.0.1") as base:
        client = browser(base)
        assert [login(client, "cora", PASSWORD) for _ in range(2)] == [429, 429]
        page = browser(base)
        page.get("/login")
        started = time.monotonic()
        assert login(page, "cora", PASSWORD, **real_user) == 303
        waited = time.monotonic() - started
        assert page.get("/queue").status_code == 200
        # An admin unlocks cora in the UI: the locked address may sign in again.
        adam = browser(base)
        assert login(adam, "adam", PASSWORD, **real_user) == 303
        html = adam.get("/admin/users/cora").text
        assert "127.0.0.1 until" in html
        token = CSRF_RE.search(html).group(1)
        assert adam.post("/admin/users/cora/unlock", data={"csrf_token": token}).status_code == 303
        assert login(browser(base), "cora", PASSWORD) == 303
    assert waited >= 0.9  # the per-user bucket slowed the right password, it did not refuse it


def test_cli_unlock_and_the_per_user_delay(tmp_path: Path, users_db: str) -> None:
    store = make_store(tmp_path)
    from talktracks.review import throttle

    policy = throttle.ThrottlePolicy()
    for address in ["10.0.0.0"] * 5 + ["10.0.0.1"] * 2:
        throttle.record_failure(store, policy, "Cora", address)
    verdict = throttle.check(store, policy, "cora", "10.0.0.0")
    assert verdict.locked_for_s > 14 * 60 and verdict.delay_s == 4.0  # 7 failures: 2 s doubled
    elsewhere = throttle.check(store, policy, "cora", "192.0.2.1")
    assert elsewhere.locked_for_s == 0 and elsewhere.delay_s == 4.0
    assert main(["users", "unlock", "cora", "--db", users_db]) == 0
    assert throttle.check(store, policy, "cora", "10.0.0.0") == throttle.Verdict(0.0, 0.0)
    with store.session() as s:
        assert {b.key for b in s.scalars(select(SignInBucket))} == {
            "address:10.0.0.0",
            "address:10.0.0.1",
        }
    store.dispose()


def test_trusted_proxies_setting_is_checked_and_passed_to_uvicorn() -> None:
    from talktracks.cli.review import uvicorn_options
    from talktracks.config import Settings
    from talktracks.errors import ConfigError

    default = uvicorn_options(Settings())
    assert default["proxy_headers"] is False and default["forwarded_allow_ips"] == []
    behind = uvicorn_options(Settings(review_trusted_proxies="10.0.0.5, 10.0.1.0/24"))
    assert behind["proxy_headers"] is True
    assert behind["forwarded_allow_ips"] == ["10.0.0.5", "10.0.1.0/24"]
    with pytest.raises(ConfigError, match=r"TRUSTED_PROXIES: 'proxy\.local' is not an IP"):
        uvicorn_options(Settings(review_trusted_proxies="127.0.0.1,proxy.local"))
