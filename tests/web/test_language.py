"""The UI language: the browser's Accept-Language until the person chooses, then the choice;
a signed-in user's own setting; and lists joined the way each language writes them."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from assess.store.models import User
from tests.web.conftest import csrf_of, sign_in
from web import i18n


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("en-US,en;q=0.9", "en"),
        ("en-GB", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("zh-TW", "zh_CN"),
        ("EN", "en"),
        ("en;q=0.5, zh;q=0.9", "zh_CN"),
        ("zh;q=0.4, en;q=0.6", "en"),
        ("fr-FR, de;q=0.9, en;q=0.3", "en"),
        ("en, zh", "en"),  # a tie keeps the browser's order
        ("zh, en", "zh_CN"),
        ("en;q=0", None),  # q=0: not English
        ("en;q=abc", None),
        ("english", None),
        ("fr", None),
        ("*", None),
        ("", None),
        (None, None),
    ],
)
def test_the_browser_language_is_read_with_its_weights(header, locale):
    assert i18n.from_accept_language(header) == locale


def test_a_choice_in_the_session_outranks_the_browser():
    assert i18n.request_locale("zh_CN", "en-US") == "zh_CN"
    assert i18n.request_locale("en", "zh-CN") == "en"
    assert i18n.request_locale(None, "fr") == "zh_CN"
    assert i18n.request_locale(None, "en-AU") == "en"


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def test_an_anonymous_visitor_gets_the_browsers_language_until_choosing(client, world):
    english = {"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"}
    page = client.get("/signin", headers=english)
    assert _lang(page.text) == "en" and "Sign in" in page.text
    assert _lang(client.get("/signin", headers={"Accept-Language": "zh-CN"}).text) == "zh-CN"
    assert _lang(client.get("/signin").text) == "zh-CN"  # none given: Chinese

    token = csrf_of(client)
    r = client.post("/lang", data={"lang": "zh_CN", "csrf_token": token}, headers=english)
    assert r.status_code == 303
    assert _lang(client.get("/signin", headers=english).text) == "zh-CN"  # chosen: kept


def test_a_signed_in_user_gets_their_own_setting_whatever_the_browser_says(
    client, world, sqlite_engine
):
    english = {"Accept-Language": "en"}
    client.headers.update(english)
    sign_in(client, world.users["admin"])  # the account's setting: Chinese
    assert _lang(client.get("/admin/users").text) == "zh-CN"
    client.cookies.clear()
    with Session(sqlite_engine) as s:
        user = s.exec(select(User).where(User.username == world.users["certifier"])).one()
        user.locale = "en"
        s.add(user)
        s.commit()
    client.headers.update({"Accept-Language": "zh-CN"})
    sign_in(client, world.users["certifier"])
    assert _lang(client.get("/review").text) == "en"


def test_lists_are_joined_the_way_each_language_writes_them():
    token = i18n.current_locale.set("en")
    try:
        assert i18n.join(["Automotive", "Food"]) == "Automotive, Food"
    finally:
        i18n.current_locale.reset(token)
    assert i18n.join(["汽车", "食品"]) == "汽车、食品"
    assert i18n.join([]) == ""
