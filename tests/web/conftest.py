"""The web app on a real database, with a small world: two enterprises and a user per role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlmodel import Session

from assess.accounts.users import create_user
from assess.assessment.lifecycle import start_assessment
from assess.settings import Settings
from assess.store.models import Assessment, CertificationBody, Enterprise
from tests.databases import migrated
from tests.db import factories
from web import create_app

PASSWORD = "correct-horse-battery"
#: Cheap argon2 parameters for test accounts: verification reads them from the hash.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class World:
    """Two enterprises (A in fine_chem, B in auto), their draft assessments, one user per role."""

    ent_a: Enterprise
    ent_b: Enterprise
    a_draft: Assessment
    b_draft: Assessment
    users: dict[str, str]  # who → username


def build_world(engine: sa.Engine) -> World:
    with Session(engine, expire_on_commit=False) as s:
        ent_a = factories.enterprise(s, "petrochemicals", "fine_chem", name="甲化工有限公司")
        ent_b = factories.enterprise(s, "auto", "auto", name="乙汽车零部件有限公司")
        body = CertificationBody(name="测试评定机构", code="TB")
        s.add(body)
        s.flush()
        clusters = factories.region(s)
        accounts = {
            "enterprise": dict(role="enterprise", enterprise_id=ent_a.id),
            "enterprise_b": dict(role="enterprise", enterprise_id=ent_b.id),
            "certifier": dict(role="certifier", cert_body_id=body.id),
            "cluster_manager": dict(role="cluster_manager", cluster_ids=[clusters["fine_chem"].id]),
            "admin": dict(role="admin"),
        }
        users = {}
        for who, kw in accounts.items():
            name = f"user-{who.replace('_', '-')}"
            create_user(s, username=name, password=PASSWORD, hasher=FAST, **kw)  # type: ignore[arg-type]
            users[who] = name
        a = start_assessment(s, ent_a, 2020, by_user=None, version=1)
        b = start_assessment(s, ent_b, 2020, by_user=None, version=1)
        s.commit()
        return World(ent_a, ent_b, a, b, users)


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[sa.Engine]:
    """A migrated SQLite file (most web tests need one database kind only)."""
    from assess.store import db

    url = f"sqlite:///{tmp_path / 'web.db'}"
    migrated(url)
    eng = db.make_engine(url)
    yield eng
    eng.dispose()


def make_client(engine: sa.Engine, **settings_kw: object) -> TestClient:
    """A client of a new app on ``engine`` (settings as keyword arguments)."""
    secret = "test-secret-key-for-the-web-tests-0123456789"
    settings = Settings(secret_key=secret, **settings_kw)  # type: ignore[arg-type]
    app = create_app(settings, engine=engine)
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def world(sqlite_engine) -> World:
    return build_world(sqlite_engine)


@pytest.fixture
def client(sqlite_engine) -> Iterator[TestClient]:
    with make_client(sqlite_engine) as c:
        yield c


def csrf_of(client: TestClient, path: str = "/signin") -> str:
    """The CSRF token a page carries (the session cookie is kept by the client)."""
    page = client.get(path)
    m = CSRF.search(page.text)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; the CSRF token of the new session."""
    token = csrf_of(client)
    r = client.post(
        "/signin", data={"username": username, "password": password, "csrf_token": token}
    )
    assert r.status_code == 303, r.text
    return csrf_of(client, "/account/password")
