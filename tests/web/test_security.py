"""Sessions, sign-in, throttling, headers and limits, seen from outside over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from assess.models import SignInFailure
from assess.settings import Settings
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


def test_a_production_start_refuses_the_default_secret_key(monkeypatch):
    monkeypatch.setenv("ASSESS_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="ASSESS_SECRET_KEY"):
        create_app()
    monkeypatch.setenv("ASSESS_SECRET_KEY", "short")
    with pytest.raises(ValidationError):
        Settings()


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
