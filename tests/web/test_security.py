"""Sessions, sign-in, throttling, headers and limits, seen from outside over HTTP."""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session, select

from assess.accounts.users import ADDRESS_SLOW_FROM
from assess.settings import (
    PUBLISHED_SECRET,
    SECRET_KEY_FILE,
    SecretKeyFileError,
    Settings,
    data_dir_key,
)
from assess.store.models import SignInFailure
from tests.web.conftest import PASSWORD, csrf_of, make_client, sign_in
from web import create_app


def test_every_page_carries_a_strict_content_security_policy(client, world):
    r = client.get("/signin")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "<script>" not in r.text  # no inline scripts anywhere
    assert r.headers["vary"] == "HX-Request"


def test_the_session_cookie_is_httponly_lax_and_secure_over_https(sqlite_engine, world):
    first = make_client(sqlite_engine).get("/signin").headers["set-cookie"]
    assert "HttpOnly" in first and "SameSite=Lax" in first and "Secure" not in first
    secure = make_client(sqlite_engine)
    secure.base_url = secure.base_url.copy_with(scheme="https")
    assert "Secure" in secure.get("/signin").headers["set-cookie"]


def test_a_production_start_refuses_a_missing_short_or_published_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSESS_ENVIRONMENT", "production")
    monkeypatch.setenv("ASSESS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ASSESS_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="ASSESS_SECRET_KEY"):
        create_app()
    for bad in ("short", PUBLISHED_SECRET):
        monkeypatch.setenv("ASSESS_SECRET_KEY", bad)
        with pytest.raises(ValidationError):
            Settings()
    assert not (tmp_path / SECRET_KEY_FILE).exists()  # production never makes a key of its own


# --- the signing key kept in the data directory -------------------------------------------------


def test_without_a_key_one_is_made_in_the_data_directory_for_its_owner_only(tmp_path):
    data = tmp_path / "fresh" / "data"
    key = Settings(data_dir=data).signing_key()
    path = data / SECRET_KEY_FILE
    assert len(key) >= 32 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in data.iterdir()] == [SECRET_KEY_FILE]  # no temporary file left behind
    assert key != Settings(data_dir=tmp_path / "other").signing_key()  # random, not built in


def test_the_key_made_on_first_start_is_used_again_on_the_next(tmp_path, sqlite_engine, world):
    settings = Settings(data_dir=tmp_path / "data")
    first = TestClient(create_app(settings, engine=sqlite_engine), follow_redirects=False)
    sign_in(first, world.users["enterprise"])
    restarted = TestClient(create_app(settings, engine=sqlite_engine), follow_redirects=False)
    restarted.cookies = first.cookies  # the browser comes back after the restart
    assert restarted.get("/assessments").status_code == 200
    assert Settings(data_dir=tmp_path / "data").signing_key() == settings.signing_key()


def _race_for_key(data_dir: str, start: multiprocessing.synchronize.Barrier, out) -> None:
    start.wait()
    out.put(data_dir_key(Path(data_dir)))


def test_workers_starting_at_once_agree_on_one_key(tmp_path):
    fork = multiprocessing.get_context("fork")
    workers = 8
    start, out = fork.Barrier(workers), fork.Queue()
    procs = [
        fork.Process(target=_race_for_key, args=(str(tmp_path), start, out)) for _ in range(workers)
    ]
    for p in procs:
        p.start()
    keys = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert len(set(keys)) == 1
    assert (tmp_path / SECRET_KEY_FILE).read_text().strip() == keys[0]
    assert sorted(os.listdir(tmp_path)) == [SECRET_KEY_FILE]


def test_a_cookie_signed_with_the_once_published_key_is_not_believed(tmp_path, sqlite_engine):
    from itsdangerous import URLSafeTimedSerializer

    from web.sessions import COOKIE

    forged = URLSafeTimedSerializer(PUBLISHED_SECRET, salt="assess.session").dumps(
        {"csrf": "chosen-by-the-forger", "lang": "en"}
    )
    client = TestClient(
        create_app(Settings(data_dir=tmp_path), engine=sqlite_engine), follow_redirects=False
    )
    client.cookies.set(COOKIE, forged)
    r = client.post("/lang", data={"lang": "en", "csrf_token": "chosen-by-the-forger"})
    assert r.status_code == 401  # the cookie's CSRF token was not accepted: no session at all


def test_an_explicit_key_wins_over_the_one_in_the_data_directory(tmp_path, monkeypatch):
    made = Settings(data_dir=tmp_path).signing_key()
    explicit = "an-explicit-key-from-the-environment-0123456789"
    monkeypatch.setenv("ASSESS_SECRET_KEY", explicit)
    assert Settings(data_dir=tmp_path).signing_key() == explicit != made
    assert Settings(data_dir=tmp_path / "none", secret_key=explicit).signing_key() == explicit
    assert not (tmp_path / "none").exists()  # with a key set, nothing is written


def test_a_key_file_others_could_read_is_made_private_again(tmp_path):
    key = data_dir_key(tmp_path)
    path = tmp_path / SECRET_KEY_FILE
    path.chmod(0o644)
    assert data_dir_key(tmp_path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_key_file_holding_no_usable_key_stops_the_start_with_a_plain_message(tmp_path):
    (tmp_path / SECRET_KEY_FILE).write_text("\n")
    with pytest.raises(SecretKeyFileError, match="ASSESS_SECRET_KEY"):
        data_dir_key(tmp_path)


def test_serve_stops_with_a_plain_message_when_the_data_directory_cannot_hold_the_key(
    monkeypatch, tmp_path
):
    from typer.testing import CliRunner

    from web.cli import app

    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file where the data folder should be")
    monkeypatch.delenv("ASSESS_SECRET_KEY", raising=False)
    monkeypatch.setenv("ASSESS_DATA_DIR", str(not_a_folder))
    result = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "ASSESS_SECRET_KEY" in result.output and "Traceback" not in result.output


# --- the address of the person signing in -------------------------------------------------------


def failure_keys(client: TestClient) -> set[str]:
    with Session(client.app.state.engine) as s:
        return set(s.exec(select(SignInFailure.key)).all())


def wrong_sign_in(client: TestClient, username: str, **headers: str):
    token = csrf_of(client)
    return client.post(
        "/signin",
        data={"username": username, "password": "not-the-password", "csrf_token": token},
        headers=headers,
    )


def test_forwarded_headers_from_a_peer_that_is_not_a_trusted_proxy_are_ignored(
    sqlite_engine, world
):
    client = make_client(sqlite_engine)  # trusts no proxy: the default
    r = wrong_sign_in(
        client, "nobody", **{"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    )
    assert r.status_code == 401
    assert failure_keys(client) == {"user:nobody", "addr:testclient"}
    fresh = make_client(sqlite_engine).get("/signin", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in fresh.headers["set-cookie"]


def test_forwarded_headers_from_a_trusted_proxy_name_the_client(sqlite_engine, world):
    client = make_client(sqlite_engine, trusted_proxies="testclient")
    r = wrong_sign_in(
        client, "nobody", **{"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    )
    assert r.status_code == 401
    assert failure_keys(client) == {"user:nobody", "addr:198.51.100.7"}
    fresh = make_client(sqlite_engine, trusted_proxies="testclient")
    https = fresh.get("/signin", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in https.headers["set-cookie"]


def test_many_failures_from_a_shared_address_slow_wrong_guesses_but_let_others_in(
    sqlite_engine, world
):
    """Behind one proxy or NAT everyone shares an address. Someone there spraying wrong
    passwords over many accounts must not lock the others out."""
    client = make_client(sqlite_engine)
    for n in range(ADDRESS_SLOW_FROM - 1):
        assert wrong_sign_in(client, f"nobody-{n:02d}").status_code == 401
    asked = time.monotonic()
    slowed = wrong_sign_in(client, world.users["certifier"])
    assert time.monotonic() - asked >= 1  # answered only after the delay
    assert slowed.status_code == 429 and slowed.headers["retry-after"] == "1"
    assert "用户名或密码错误" in slowed.text

    colleague = make_client(sqlite_engine)  # another person behind the same address
    sign_in(colleague, world.users["enterprise"])
    assert colleague.get("/assessments").status_code == 200
    with Session(sqlite_engine) as s:
        row = s.get(SignInFailure, "addr:testclient")
        assert row is not None and row.failures == ADDRESS_SLOW_FROM and row.locked_until is None


def test_signing_out_ends_the_session(client, world):
    token = sign_in(client, world.users["enterprise"])
    assert client.get("/assessments").status_code == 200
    r = client.post("/signout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    assert client.get("/assessments").status_code == 303


def test_a_wrong_password_is_refused_and_repeated_failures_lock_for_a_while(client, world):
    name = world.users["enterprise"]
    statuses, texts = [], []
    for _ in range(12):
        token = csrf_of(client)
        r = client.post(
            "/signin", data={"username": name, "password": "wrong-password", "csrf_token": token}
        )
        statuses.append(r.status_code)
        texts.append(r.text)
        if r.status_code == 429:
            break
    assert statuses[0] == 401
    assert "用户名或密码错误" in texts[0]
    assert statuses[-1] == 429, statuses
    assert int(r.headers["retry-after"]) > 0
    assert "秒后再试" in r.text
    # Even the right password waits until the lock ends.
    token = csrf_of(client)
    r = client.post("/signin", data={"username": name, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429


def test_sign_in_only_redirects_to_pages_of_this_site(client, world):
    for target, expected in (
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/assessments", "/assessments"),
    ):
        c = make_client(client.app.state.engine)
        token = csrf_of(c)
        r = c.post(
            "/signin",
            data={
                "username": world.users["enterprise"],
                "password": PASSWORD,
                "csrf_token": token,
                "next": target,
            },
        )
        assert r.headers["location"] == expected


def test_changing_the_password_signs_out_other_sessions(sqlite_engine, world):
    name = world.users["enterprise"]
    mine, other = make_client(sqlite_engine), make_client(sqlite_engine)
    token = sign_in(mine, name)
    sign_in(other, name)
    r = mine.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "a-new-pass-2026",
            "repeat": "a-new-pass-2026",
            "csrf_token": token,
        },
    )
    assert r.status_code == 200
    assert mine.get("/assessments").status_code == 200  # this session goes on
    assert other.get("/assessments").status_code == 303  # the other one must sign in again


def test_guessing_the_current_password_is_throttled_with_429(client, world, sqlite_engine):
    name = world.users["enterprise"]
    token = sign_in(client, name)
    form = {"new": "a-new-pass-2026", "repeat": "a-new-pass-2026", "csrf_token": token}
    r = client.post("/account/password", data={**form, "current": "not it at all"})
    assert r.status_code == 422 and 'data-code="current_password_wrong"' in r.text
    with Session(sqlite_engine) as s:
        row = s.get(SignInFailure, f"user:{name}")
        assert row is not None and row.failures == 1  # counted like a failed sign-in
        row.failures, row.locked_until = 10, datetime.now(UTC) + timedelta(minutes=15)
        s.add(row)
        s.commit()
    r = client.post("/account/password", data={**form, "current": PASSWORD})
    assert r.status_code == 429, r.text
    assert 850 < int(r.headers["retry-after"]) <= 900
    assert 'data-code="too_many_attempts"' in r.text and "15 分钟后再试" in r.text
    assert client.get("/assessments").status_code == 200  # still signed in; nothing changed


def test_a_page_can_learn_the_token_of_a_session_signed_in_again_elsewhere(client, world):
    """What the fill page asks after the person signed in again in another tab: the new
    session's token, which its next save must carry; a browser still signed out gets 401."""
    ask = {"Accept": "application/json"}
    signed_out = client.get("/account/session", headers=ask)
    assert signed_out.status_code == 401 and signed_out.json()["problems"][0]["code"] == "sign_in"
    old = csrf_of(client)
    sign_in(client, world.users["enterprise"])
    state = client.get("/account/session", headers=ask)
    assert state.status_code == 200 and state.headers["cache-control"] == "no-store"
    token = state.json()["csrf"]
    assert state.json()["user"] == world.users["enterprise"] and token != old
    save = f"/assessments/{world.a_draft.id}/answers/core.rd.digital_share"
    form = {"version": "0", "value": "12"}
    assert client.post(save, data=form, headers={"X-CSRF-Token": old}).status_code == 403
    assert client.post(save, data=form, headers={"X-CSRF-Token": token}).status_code == 200


def test_an_oversized_request_is_refused_before_it_is_read(client, world):
    token = sign_in(client, world.users["enterprise"])
    r = client.post(
        f"/assessments/{world.a_draft.id}/answers/core.rd.digital_share",
        data={"version": "0", "value": "1", "comment": "x" * 2_000_000},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert r.status_code == 413
    assert "too large" in r.text
    # For htmx the message goes to the flash area: the question's status line stays in place.
    assert r.headers["hx-retarget"] == "#flash" and 'data-code="too_large"' in r.text
    plain = client.post("/account/password", content=b"x" * 1_100_000)
    assert plain.status_code == 413 and "hx-retarget" not in plain.headers
    assert plain.headers["content-type"].startswith("text/plain")


def test_an_unexpected_error_shows_a_message_and_no_trace(client, world):
    def boom() -> None:
        raise RuntimeError("secret internals")

    client.app.add_api_route("/boom", boom)
    r = client.get("/boom")
    assert r.status_code == 500
    assert "secret internals" not in r.text and "Traceback" not in r.text
    assert "服务器内部错误" in r.text
