"""Server-side sessions and the "change at first sign-in" flag, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import Session, select

from assess.accounts import users as accounts
from assess.accounts.users import (
    authenticate,
    change_password,
    create_user,
    end_session,
    purge_sessions,
    reset_password,
    session_user,
    set_active,
    start_session,
)
from assess.store.models import Role, User, UserSession

GOOD = "correct horse battery"
NEW = "a brand new passphrase"
ADDR = "203.0.113.7"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


def add_admin(session: Session, username: str, **kw: bool) -> User:
    user = create_user(
        session, username=username, password=GOOD, role=Role.admin, hasher=FAST, **kw
    )
    session.commit()
    return user


def signed_in(session: Session, username: str, password: str = GOOD) -> str:
    """Sign in through the service; the new session's token."""
    result = authenticate(session, username, password, ADDR, hasher=FAST)
    assert result.ok, result.status
    return result.session_token


def who(session: Session, token: str, now: datetime | None = None) -> str | None:
    session.expire_all()
    user = session_user(session, token, now)
    session.commit()
    return user.username if user else None


def rows(session: Session) -> int:
    return session.exec(select(sa.func.count()).select_from(UserSession)).one()


def test_a_sign_in_starts_a_session_that_names_its_user(session):
    add_admin(session, "wangwei")
    token = signed_in(session, "wangwei")
    assert who(session, token) == "wangwei"
    assert len(token) >= 40


def test_only_a_hash_of_the_token_is_stored(session):
    add_admin(session, "wangwei")
    token = signed_in(session, "wangwei")
    stored = session.exec(select(UserSession.id)).all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


@pytest.mark.parametrize("token", ["", "x", "a" * 500, "not-a-session-token-at-all-0123456789"])
def test_an_unknown_or_malformed_token_names_nobody(session, token):
    add_admin(session, "wangwei")
    signed_in(session, "wangwei")
    assert who(session, token) is None


def test_signing_out_ends_that_session_only(session):
    add_admin(session, "wangwei")
    office, phone = signed_in(session, "wangwei"), signed_in(session, "wangwei")
    end_session(session, office)
    session.commit()
    assert who(session, office) is None
    assert who(session, phone) == "wangwei"


def test_a_session_ends_when_its_lifetime_is_over(session):
    add_admin(session, "wangwei")
    user = session.exec(select(User).where(User.username == "wangwei")).one()
    start = datetime.now(UTC)
    token = start_session(session, user, now=start)
    session.commit()
    end = start + accounts.SESSION_LIFETIME
    assert who(session, token, end - timedelta(seconds=1)) == "wangwei"
    assert who(session, token, end) is None


def test_ended_sessions_are_cleared_away_at_the_next_sign_in(session):
    add_admin(session, "wangwei")
    user = session.exec(select(User).where(User.username == "wangwei")).one()
    long_ago = datetime.now(UTC) - accounts.SESSION_LIFETIME - timedelta(minutes=1)
    start_session(session, user, now=long_ago)
    start_session(session, user, now=long_ago)
    session.commit()
    assert rows(session) == 2
    live = signed_in(session, "wangwei")
    assert rows(session) == 1 and who(session, live) == "wangwei"
    assert purge_sessions(session) == 0


def test_a_password_change_ends_every_other_session_and_starts_a_new_one(session):
    user = add_admin(session, "wangwei")
    here, elsewhere = signed_in(session, "wangwei"), signed_in(session, "wangwei")
    renewed = change_password(session, user, GOOD, NEW, hasher=FAST)
    session.commit()
    assert who(session, here) is None and who(session, elsewhere) is None
    assert who(session, renewed) == "wangwei"
    assert renewed not in (here, elsewhere)


def test_disabling_an_account_ends_all_its_sessions_and_only_its_own(session):
    add_admin(session, "root")
    user = add_admin(session, "wangwei")
    mine, other = signed_in(session, "wangwei"), signed_in(session, "root")
    set_active(session, user, False)
    session.commit()
    assert who(session, mine) is None
    assert who(session, other) == "root"
    set_active(session, user, True)  # enabling again brings no old session back
    session.commit()
    assert who(session, mine) is None


def test_an_inactive_users_session_names_nobody_even_if_its_row_is_left(session):
    add_admin(session, "root")
    user = add_admin(session, "wangwei")
    token = signed_in(session, "wangwei")
    session.execute(sa.update(User).where(User.id == user.id).values(is_active=False))
    session.commit()
    assert who(session, token) is None


def test_an_admin_reset_ends_all_sessions_and_asks_for_a_new_password(session):
    user = add_admin(session, "wangwei")
    token = signed_in(session, "wangwei")
    assert not user.must_change_password
    reset_password(session, user, NEW, hasher=FAST)
    session.commit()
    assert who(session, token) is None
    session.refresh(user)
    assert user.must_change_password


def test_choosing_ones_own_password_lifts_the_flag(session):
    user = add_admin(session, "wangwei", must_change_password=True)
    assert user.must_change_password
    change_password(session, user, GOOD, NEW, hasher=FAST)
    session.commit()
    session.refresh(user)
    assert not user.must_change_password


def test_a_user_created_without_the_flag_need_not_change_the_password(session):
    assert not add_admin(session, "wangwei").must_change_password
