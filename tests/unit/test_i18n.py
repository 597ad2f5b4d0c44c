"""Every UI string has its Chinese, and the app shows Chinese by default and English on request.

The catalog checks run the same extraction as ``python scripts/i18n.py check``.
"""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from tests.web import conftest as web_tests
from tests.web.conftest import CSRF, World, make_client, sign_in
from web.i18n import translations

# The web tests' fixtures, reused here: a migrated SQLite file, and a small world on it.
sqlite_engine = web_tests.sqlite_engine
world = web_tests.world

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "i18n.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scripts_i18n", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it is executed
    spec.loader.exec_module(module)
    return module


script = load_script()


@pytest.fixture(scope="module")
def template() -> Catalog:
    return script.extract()


@pytest.fixture(scope="module")
def zh_catalog() -> Catalog:
    return script.read_catalog("zh_CN")


def translations_of(template: Catalog, zh_catalog: Catalog) -> list[tuple[str, set[str], str]]:
    """(id, the placeholders of its singular and plural ids, translation) for each translation."""
    out: list[tuple[str, set[str], str]] = []
    for msg in template:
        got = zh_catalog.get(msg.id, context=msg.context) if msg.id else None
        if got is not None:
            ids = script.msgids(msg)
            wanted = set().union(*(script.placeholders(i) for i in ids))
            out.extend((ids[0], wanted, s) for s in script.msgstrs(got) if s)
    return out


def test_extraction_finds_messages_in_templates_and_python(template):
    where = {loc for msg in template if msg.id for loc, _ in msg.locations}
    assert "web/templates/auth.html" in where
    assert "web/labels.py" in where
    assert template.get("Sign in") is not None
    assert template.get("Cluster manager") is not None  # marked with N_ in labels.py


def test_every_ui_string_has_a_chinese_translation(template, zh_catalog):
    found = script.problems(template, zh_catalog)
    assert not (found.missing or found.fuzzy), (
        "run `python scripts/i18n.py update` and translate:\n" + found.report()
    )


def test_the_catalog_has_no_entries_the_ui_no_longer_uses(template, zh_catalog):
    found = script.problems(template, zh_catalog)
    assert not found.unused, "run `python scripts/i18n.py update`:\n" + found.report()


def test_every_translation_keeps_the_placeholders_of_its_id(template, zh_catalog):
    differ = [
        (mid, s)
        for mid, wanted, s in translations_of(template, zh_catalog)
        if script.placeholders(s) != wanted
    ]
    assert not differ


def test_every_translation_formats_like_a_newstyle_jinja_message(template, zh_catalog):
    # Templates apply `%` to every message, so a stray `%` in a translation would break the page.
    broken = []
    for mid, wanted, s in translations_of(template, zh_catalog):
        try:
            s % dict.fromkeys(wanted, 1)
        except (KeyError, ValueError, TypeError):
            broken.append((mid, s))
    assert not broken


def test_updating_twice_gives_the_same_bytes(template, zh_catalog):
    once = script.to_bytes(script.merge(template, zh_catalog))
    reread = read_po(io.BytesIO(once), locale="zh_CN")
    assert script.to_bytes(script.merge(script.extract(), reread)) == once
    assert b"Date:" not in once


def test_app_catalog_translates_to_chinese_and_english_returns_the_id():
    assert translations("zh_CN").gettext("Sign in") == "登录"
    assert translations("en").gettext("Sign in") == "Sign in"


def test_pages_are_chinese_by_default_and_english_after_the_switch(sqlite_engine):
    with make_client(sqlite_engine) as client:
        page = client.get("/signin")
        assert page.status_code == 200
        assert '<html lang="zh-CN">' in page.text
        assert "<h1>登录</h1>" in page.text

        token = CSRF.search(page.text)
        assert token
        r = client.post(
            "/lang", data={"lang": "en", "next": "/signin", "csrf_token": token.group(1)}
        )
        assert r.status_code == 303

        page = client.get("/signin")
        assert '<html lang="en">' in page.text
        assert "<h1>Sign in</h1>" in page.text
        assert "登录" not in page.text


def test_signed_in_pages_follow_the_chosen_language(world: World, sqlite_engine):
    with make_client(sqlite_engine) as client:
        token = sign_in(client, world.users["enterprise"])
        assert "退出登录" in client.get("/assessments").text
        client.post("/lang", data={"lang": "en", "next": "/", "csrf_token": token})
        page = client.get("/assessments").text
        assert "Sign out" in page
        assert "Unified social credit code" in page
