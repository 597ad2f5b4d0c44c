"""Accounts: passwords, who may be created with which scope, and sign-in with throttling.

Pure service functions over a SQLModel ``Session``. They add, change and flush rows but never
commit: the caller owns the transaction. The one exception is ``authenticate``, which commits
its own short transactions so that none is open while a password is checked.

Sign-in throttling lives in the ``sign_in_failure`` table, so every worker sees the same
counts. Two keys are kept per attempt: ``user:<lower-case username>`` and ``addr:<address>``.
Within a window of ``FAILURE_WINDOW`` from a key's first failure:

* an account key, from its ``ACCOUNT_DELAY_FROM``-th failure on, refuses further attempts for
  ``2 ** (failures - ACCOUNT_DELAY_FROM)`` seconds (at most ``ACCOUNT_DELAY_CAP_S``);
* an account key is locked for ``LOCK_DURATION`` at ``ACCOUNT_LOCK_AT`` failures;
* an address key never refuses anyone: an address is often a whole office behind one NAT gateway
  or proxy, and one person's typos (or an attacker) must not lock everyone else out. From its
  ``ADDRESS_SLOW_FROM``-th failure on, a *wrong* password from that address is answered only
  after a growing delay (``address_delay_seconds``), while a right one signs in at once.

While an account key is refused, an attempt checks no password (so the answer is no oracle) and
leaves the counts and the lock as they are. Unknown usernames count like known ones and cost one
argon2 verification, so neither the answer nor its timing tells whether an account exists.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from assess.errors import Conflict, ConflictDetail, Invalid, Problem
from assess.store import audit
from assess.store.models import (
    CertificationBody,
    Cluster,
    Enterprise,
    Role,
    SignInFailure,
    User,
    UserCluster,
    UserSession,
)

#: Passwords shorter than this are refused.
PASSWORD_MIN_LENGTH = 10
#: Passwords longer than this are refused (argon2 takes any length; this bounds the work).
PASSWORD_MAX_LENGTH = 200
#: Usernames: ASCII letters, digits, dot, underscore and hyphen, 3–64 characters.
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{3,64}", re.ASCII)
#: Locales look like ``zh_CN`` or ``en``.
LOCALE_PATTERN = re.compile(r"[a-z]{2}(_[A-Z]{2})?", re.ASCII)
DISPLAY_NAME_MAX_LENGTH = 100

#: Failures on a key are counted within this window, from the key's first failure.
FAILURE_WINDOW = timedelta(minutes=15)
#: From this many failures on an account, each further attempt waits a growing delay.
ACCOUNT_DELAY_FROM = 3
#: The growing delay never exceeds this many seconds.
ACCOUNT_DELAY_CAP_S = 60
#: This many failures lock an account key.
ACCOUNT_LOCK_AT = 10
#: From this many failures from one address, its wrong passwords are answered slowly.
ADDRESS_SLOW_FROM = 30
#: The slowest such answer, in seconds.
ADDRESS_DELAY_CAP_S = 30
#: How long a lock lasts.
LOCK_DURATION = timedelta(minutes=15)
#: The longest key the table holds.
_KEY_MAX_LENGTH = 200
#: A session ends this long after sign-in however active it is (its idle limit is the cookie's).
SESSION_LIFETIME = timedelta(hours=12)

SignInStatus = Literal["ok", "bad_credentials", "slowed", "locked", "inactive"]

#: The production hasher: argon2id with the library's defaults. Every function that hashes or
#: verifies takes ``hasher=`` to use another (tests pass a cheaper one to stay fast).
DEFAULT_HASHER = PasswordHasher()


# --- problems --------------------------------------------------------------------------------


class AccountError(Invalid):
    """An account request was refused; ``problems`` lists every reason at once."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        super().__init__(list(problems))

    @property
    def codes(self) -> list[str]:
        """The problems' codes, in order."""
        return [p.code for p in self.problems]


class TooManyAttempts(AccountError):
    """Too many wrong passwords for this account lately: nothing was checked this time."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        zh_wait, en_wait = _wait_words(retry_after)
        super().__init__(
            [
                Problem(
                    "too_many_attempts",
                    f"密码错误次数过多，请在 {zh_wait}后再试",
                    f"Too many wrong passwords. Please try again in {en_wait}.",
                )
            ]
        )


# --- passwords -------------------------------------------------------------------------------


def hash_password(plain: str, *, hasher: PasswordHasher | None = None) -> str:
    """An argon2id hash of ``plain``, by default with the library's default parameters."""
    return (hasher or DEFAULT_HASHER).hash(plain)


def verify_password(hash: str, plain: str, *, hasher: PasswordHasher | None = None) -> bool:
    """Whether ``plain`` matches ``hash``; False, never an exception, for a wrong or bad hash."""
    try:
        return (hasher or DEFAULT_HASHER).verify(hash, plain)
    except (VerificationError, InvalidHashError, ValueError, TypeError):
        return False


def needs_rehash(hash: str, *, hasher: PasswordHasher | None = None) -> bool:
    """Whether ``hash`` was made with other parameters than the hasher's, or is no argon2 hash."""
    try:
        return (hasher or DEFAULT_HASHER).check_needs_rehash(hash)
    except (InvalidHashError, ValueError, TypeError):
        return True


def check_password_policy(plain: str, username: str) -> list[Problem]:
    """Every way ``plain`` breaks the password policy for ``username``; empty if none."""
    problems: list[Problem] = []
    if len(plain) < PASSWORD_MIN_LENGTH:
        problems.append(
            Problem(
                "password_too_short",
                f"密码至少需要 {PASSWORD_MIN_LENGTH} 个字符",
                f"the password needs at least {PASSWORD_MIN_LENGTH} characters",
            )
        )
    if len(plain) > PASSWORD_MAX_LENGTH:
        problems.append(
            Problem(
                "password_too_long",
                f"密码不能超过 {PASSWORD_MAX_LENGTH} 个字符",
                f"the password may have at most {PASSWORD_MAX_LENGTH} characters",
            )
        )
    name = username.strip().lower()
    if name and name in plain.lower():
        problems.append(
            Problem(
                "password_contains_username",
                "密码不能包含用户名",
                "the password must not contain the username",
            )
        )
    if plain and len(set(plain)) == 1:
        problems.append(
            Problem(
                "password_one_character",
                "密码不能全部由同一个字符组成",
                "the password must not be one character repeated",
            )
        )
    return problems


# --- creating and changing accounts ----------------------------------------------------------


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    display_name: str = "",
    enterprise_id: int | None = None,
    cert_body_id: int | None = None,
    cluster_ids: Iterable[int] = (),
    locale: str = "zh_CN",
    must_change_password: bool = False,
    hasher: PasswordHasher | None = None,
    by: User | None = None,
) -> User:
    """Add a user after checking name, role, scope and password; AccountError lists all faults.

    ``must_change_password`` is for a password someone else chose (an administrator's form):
    the user must then replace it at first sign-in. The operator's ``assess users create`` and
    the demo's published accounts leave it off. The new account goes to the audit trail as
    made ``by`` that administrator (None: the operator or the system).
    """
    clusters = sorted(set(cluster_ids))
    problems = _username_problems(session, username)
    problems += _role_and_scope_problems(session, role, enterprise_id, cert_body_id, clusters)
    if len(display_name) > DISPLAY_NAME_MAX_LENGTH:
        problems.append(
            Problem(
                "display_name_too_long",
                f"显示名称不能超过 {DISPLAY_NAME_MAX_LENGTH} 个字符",
                f"the display name may have at most {DISPLAY_NAME_MAX_LENGTH} characters",
            )
        )
    if not LOCALE_PATTERN.fullmatch(locale):
        problems.append(
            Problem(
                "locale_invalid",
                f"无效的语言设置：{locale}",
                f"not a valid locale: {locale}",
            )
        )
    problems += check_password_policy(password, username)
    if problems:
        raise AccountError(problems)

    user = User(
        username=username.lower(),
        display_name=display_name,
        password_hash=hash_password(password, hasher=hasher),
        role=Role(role).value,
        enterprise_id=enterprise_id,
        cert_body_id=cert_body_id,
        locale=locale,
        must_change_password=must_change_password,
    )
    try:
        # Another request may have taken the name since the check above (PostgreSQL runs the
        # two concurrently): the unique index decides, and the loser gets the same message.
        with session.begin_nested():
            session.add(user)
            session.flush()  # the id, for the cluster rows
    except sa.exc.IntegrityError:
        raise AccountError(_taken(username)) from None
    assert user.id is not None
    for cluster_id in clusters:
        session.add(UserCluster(user_id=user.id, cluster_id=cluster_id))
    session.flush()
    after = {
        "username": user.username,
        "display_name": user.display_name,
        "locale": user.locale,
        "must_change_password": user.must_change_password,
        **_scope_view(session, user),
    }
    audit.record(session, "user.create", "user", user.id, actor=by, after=after)
    return user


def _scope_view(session: Session, user: User) -> dict[str, object]:
    """An account's role and scope as plain data, for the audit trail."""
    clusters = session.exec(
        select(UserCluster.cluster_id)
        .where(UserCluster.user_id == user.id)
        .order_by(col(UserCluster.cluster_id))
    ).all()
    return {
        "role": user.role,
        "enterprise_id": user.enterprise_id,
        "cert_body_id": user.cert_body_id,
        "cluster_ids": list(clusters),
        "is_active": user.is_active,
    }


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    *,
    now: datetime | None = None,
    lifetime: timedelta = SESSION_LIFETIME,
    hasher: PasswordHasher | None = None,
) -> str:
    """Replace a user's own password, given the current one; AccountError lists all faults.

    Every session of the user ends (whoever knew the old password is signed out everywhere) and
    one new session starts for the browser that made the change: its token is returned. This
    also lifts an administrator's "change at first sign-in".

    A wrong current password counts against the account like a failed sign-in, under the same
    throttle, so that someone at an unattended, signed-in browser cannot try passwords at will;
    while the account is held back nothing is checked (TooManyAttempts). As in authenticate the
    attempt is counted first, in a transaction committed here, and argon2 runs with none open;
    the caller commits the new password.
    """
    now = _utc_now(now)
    username, stored_hash = user.username, user.password_hash
    key = _account_key(username)
    row = _claim(session, key, now)
    _restart_if_window_over(row, now)
    end = _aware(row.locked_until)
    if end is not None and end > now:
        _drop_clean(session, [row])
        session.commit()
        raise TooManyAttempts(_seconds_until(end, now))
    _record_failure(row, now, lock_at=ACCOUNT_LOCK_AT, delay_from=ACCOUNT_DELAY_FROM)
    session.commit()

    right = verify_password(stored_hash, current, hasher=hasher)
    problems: list[Problem] = []
    if not right:
        problems.append(
            Problem(
                "current_password_wrong",
                "当前密码不正确",
                "the current password is not correct",
            )
        )
    problems += check_password_policy(new, username)
    if new == current:
        problems.append(
            Problem(
                "password_unchanged",
                "新密码不能与当前密码相同",
                "the new password must differ from the current one",
            )
        )
    new_hash = None if problems else hash_password(new, hasher=hasher)
    if right:  # a proven password clears the account's count, as a sign-in does
        session.delete(_claim(session, key, now))
        session.flush()
    if problems:
        if right:
            session.commit()  # the count taken back stays taken back
        raise AccountError(problems)
    assert new_hash is not None
    _set_password(session, user, new_hash, now)
    user.must_change_password = False
    session.add(user)
    end_sessions(session, user)
    return start_session(session, user, now=now, lifetime=lifetime)


def reset_password(
    session: Session,
    user: User,
    new: str,
    *,
    now: datetime | None = None,
    hasher: PasswordHasher | None = None,
    by: User | None = None,
) -> None:
    """An administrator sets a user's password (policy applies) and lifts the account's lock.

    The user's sessions all end, and the user must choose a password of their own at the next
    sign-in (require_password_change). The audit trail records that the password was reset
    ``by`` whom, never the password or its hash.
    """
    problems = check_password_policy(new, user.username)
    if problems:
        raise AccountError(problems)
    now = _utc_now(now)
    pending = user.must_change_password
    _set_password(session, user, hash_password(new, hasher=hasher), now)
    require_password_change(session, user)
    end_sessions(session, user)
    row = session.get(SignInFailure, _account_key(user.username))
    end = _aware(row.locked_until) if row is not None else None
    if row is not None:
        session.delete(row)
    session.flush()
    audit.record(
        session,
        "user.password_reset",
        "user",
        user.id,
        actor=by,
        before={"must_change_password": pending, "locked": end is not None and end > now},
        after={"must_change_password": True, "locked": False},
    )


def require_password_change(session: Session, user: User) -> None:
    """Make the user choose a new password before anything else at their next request.

    For a password someone else knows: reset_password calls it; so should any new service that
    sets a password on another person's behalf. Cleared by change_password.
    """
    user.must_change_password = True
    session.add(user)
    session.flush()


def set_active(session: Session, user: User, active: bool, *, by: User | None = None) -> None:
    """An administrator (``by``) enables or disables a user; the last active admin cannot be
    disabled. A real change goes to the audit trail."""
    if not active and user.is_active and user.role == Role.admin:
        others = session.exec(
            select(sa.func.count())
            .select_from(User)
            .where(User.role == Role.admin.value, col(User.is_active), User.id != user.id)
        ).one()
        if others == 0:
            raise AccountError(
                [
                    Problem(
                        "last_admin",
                        "不能停用最后一个有效的管理员账户",
                        "the last active administrator cannot be disabled",
                    )
                ]
            )
    was = user.is_active
    user.is_active = active
    session.add(user)
    if not active:
        end_sessions(session, user)
    session.flush()
    if was != active:
        audit.record(
            session,
            "user.activate" if active else "user.deactivate",
            "user",
            user.id,
            actor=by,
            before={"is_active": was},
            after={"is_active": active},
        )


def _set_password(session: Session, user: User, password_hash: str, now: datetime) -> None:
    """Store a new password's hash (made beforehand: argon2 runs outside any transaction)."""
    user.password_hash = password_hash
    user.password_changed_at = now
    session.add(user)
    session.flush()


def _username_problems(session: Session, username: str) -> list[Problem]:
    if not USERNAME_PATTERN.fullmatch(username):
        return [
            Problem(
                "username_format",
                "用户名须为 3–64 个字符，只能包含英文字母、数字、点、下划线和连字符",
                "a username has 3–64 characters: letters, digits, dot, underscore and hyphen",
            )
        ]
    taken = session.exec(
        select(User.id).where(sa.func.lower(User.username) == username.lower())
    ).first()
    return _taken(username) if taken is not None else []


def _taken(username: str) -> list[Problem]:
    name = username.lower()
    return [
        Problem(
            "username_taken", f"用户名 {name} 已被使用", f"the username {name} is already taken"
        )
    ]


def _role_and_scope_problems(
    session: Session,
    role: Role | str,
    enterprise_id: int | None,
    cert_body_id: int | None,
    clusters: list[int],
) -> list[Problem]:
    try:
        the_role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        return [
            Problem(
                "role_unknown",
                f"未知的角色：{role}（可选：{allowed}）",
                f"unknown role: {role} (one of: {allowed})",
            )
        ]
    problems: list[Problem] = []

    if the_role == Role.enterprise:
        if enterprise_id is None:
            problems.append(
                Problem(
                    "enterprise_required",
                    "企业用户必须指定所属企业",
                    "an enterprise user needs an enterprise",
                )
            )
        elif session.get(Enterprise, enterprise_id) is None:
            problems.append(
                Problem(
                    "enterprise_not_found",
                    f"企业 {enterprise_id} 不存在",
                    f"there is no enterprise {enterprise_id}",
                )
            )
    elif enterprise_id is not None:
        problems.append(_out_of_scope(the_role, "enterprise_id", "所属企业", "an enterprise"))

    if the_role == Role.certifier:
        if cert_body_id is None:
            problems.append(
                Problem(
                    "cert_body_required",
                    "评定人员必须指定所属评定机构",
                    "a certifier needs a certification body",
                )
            )
        elif session.get(CertificationBody, cert_body_id) is None:
            problems.append(
                Problem(
                    "cert_body_not_found",
                    f"评定机构 {cert_body_id} 不存在",
                    f"there is no certification body {cert_body_id}",
                )
            )
    elif cert_body_id is not None:
        problems.append(_out_of_scope(the_role, "cert_body_id", "评定机构", "a certification body"))

    if the_role == Role.cluster_manager:
        if not clusters:
            problems.append(
                Problem(
                    "clusters_required",
                    "集群管理人员至少需要指定一个集群",
                    "a cluster manager needs at least one cluster",
                )
            )
        else:
            found = set(session.exec(select(Cluster.id).where(col(Cluster.id).in_(clusters))).all())
            missing = [c for c in clusters if c not in found]
            if missing:
                shown = ", ".join(str(c) for c in missing)
                problems.append(
                    Problem(
                        "cluster_not_found",
                        f"集群不存在：{shown}",
                        f"no such cluster: {shown}",
                    )
                )
    elif clusters:
        problems.append(_out_of_scope(the_role, "cluster_ids", "集群", "clusters"))
    return problems


_ROLE_ZH = {
    Role.enterprise: "企业用户",
    Role.certifier: "评定人员",
    Role.cluster_manager: "集群管理人员",
    Role.admin: "管理员",
}


def _out_of_scope(role: Role, what: str, zh: str, en: str) -> Problem:
    return Problem(
        f"scope_not_allowed:{what}",
        f"{_ROLE_ZH[role]}不能指定{zh}",
        f"a user with the role {role.value} cannot be given {en}",
    )


# --- sessions --------------------------------------------------------------------------------


def start_session(
    session: Session,
    user: User,
    *,
    now: datetime | None = None,
    lifetime: timedelta = SESSION_LIFETIME,
) -> str:
    """Record a new signed-in session of ``user``; returns the token its cookie must carry."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    start = _utc_now(now)
    session.add(
        UserSession(
            id=_session_digest(token),
            user_id=user.id,
            created_at=start,
            expires_at=start + lifetime,
        )
    )
    session.flush()
    return token


def session_user(session: Session, token: str, now: datetime | None = None) -> User | None:
    """The active user whose live session ``token`` names; None if it ended, expired or never
    was. One query by primary key (the user comes along with the session row), because it runs
    before every request a signed-in person makes, each autosave included."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    row = session.exec(_SESSION_USER, params={"digest": _session_digest(token)}).first()
    if row is None:
        return None
    user, expires_at = row
    return user if _aware_required(expires_at) > _utc_now(now) else None


# Built once: composing the statement anew on every request costs more than running it.
_SESSION_USER = (
    select(User, UserSession.expires_at)
    .join(UserSession, col(UserSession.user_id) == col(User.id))
    .where(col(UserSession.id) == sa.bindparam("digest"), col(User.is_active))
)


def end_session(session: Session, token: str) -> None:
    """End one session (signing out of one browser leaves the person's other devices alone)."""
    if isinstance(token, str) and token:
        session.exec(
            sa.delete(UserSession)
            .where(col(UserSession.id) == _session_digest(token))
            .execution_options(synchronize_session=False)
        )


def end_sessions(session: Session, user: User) -> int:
    """End every session of ``user``, on every worker from its next request; returns how many."""
    result = session.exec(
        sa.delete(UserSession)
        .where(col(UserSession.user_id) == user.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def purge_sessions(session: Session, now: datetime | None = None) -> int:
    """Delete the rows of sessions past their lifetime; returns how many."""
    result = session.exec(
        sa.delete(UserSession)
        .where(col(UserSession.expires_at) <= _utc_now(now))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _session_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- signing in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignInResult:
    """The outcome of one sign-in attempt, with a message for the person signing in."""

    user: User | None
    status: SignInStatus
    # Seconds: when locked, how long until the account may try again; when slowed, how long
    # the caller must wait before it answers (without holding a worker thread meanwhile).
    retry_after: int = 0
    message_zh: str = ""
    message_en: str = ""
    session_token: str = ""  # only when ok: the new session's token, for the cookie

    @property
    def ok(self) -> bool:
        """Whether the person is now signed in."""
        return self.status == "ok"


def authenticate(
    session: Session,
    username: str,
    password: str,
    address: str,
    now: datetime | None = None,
    *,
    lifetime: timedelta = SESSION_LIFETIME,
    hasher: PasswordHasher | None = None,
) -> SignInResult:
    """Check a sign-in attempt against the throttle and the password, and record the outcome;
    a right one starts a session (its token is in the result).

    Unlike the other services this one commits, in two short transactions, and has none open
    while the password is checked: argon2 takes about a tenth of a second on purpose, and on
    SQLite an open write transaction would stop every other writer of the database for that
    long. So the attempt is first counted as a failure (committed, which also throttles guesses
    sent in parallel), the password is checked with no transaction open, and a right password
    then takes its count back. The session is left with no transaction open.
    """
    now = _utc_now(now)
    name = username.strip().lower()
    account_key = _account_key(name)
    address_key = f"addr:{address.strip() or 'unknown'}"[:_KEY_MAX_LENGTH]
    keys = sorted({address_key, account_key})  # concurrent attempts lock rows in one order

    # 1. The throttle; then the attempt counts as a failure until its password proves right.
    rows = {key: _claim(session, key, now) for key in keys}
    for row in rows.values():
        _restart_if_window_over(row, now)
    rows[address_key].locked_until = None  # addresses only slow down (a row may predate that)
    lock_end = _aware(rows[account_key].locked_until)
    if lock_end is not None and lock_end > now:
        _drop_clean(session, rows.values())
        session.commit()
        return _locked(_seconds_until(lock_end, now))
    user = session.exec(
        select(User)
        .where(sa.func.lower(User.username) == name)
        .execution_options(populate_existing=True)
    ).first()
    user_id, stored_hash = (user.id, user.password_hash) if user is not None else (None, None)
    _record_failure(rows[account_key], now, lock_at=ACCOUNT_LOCK_AT, delay_from=ACCOUNT_DELAY_FROM)
    _record_failure(rows[address_key], now, lock_at=None, delay_from=None)
    address_failures = rows[address_key].failures
    session.commit()

    # 2. The password, with no transaction open. An unknown user costs the same check, so the
    # time taken does not tell who exists.
    good = verify_password(
        stored_hash or _dummy_hash(hasher or DEFAULT_HASHER), password, hasher=hasher
    )
    if not good or stored_hash is None:
        delay = address_delay_seconds(address_failures)
        return _slowed(delay) if delay else _BAD_CREDENTIALS
    new_hash = (
        hash_password(password, hasher=hasher) if needs_rehash(stored_hash, hasher=hasher) else None
    )

    # 3. Right: take the count back (a success clears the account's count altogether).
    rows = {key: _claim(session, key, now) for key in keys}
    by_address = rows[address_key]
    by_address.failures = max(0, by_address.failures - 1)
    _drop_clean(session, [by_address])
    session.delete(rows[account_key])
    user = session.exec(
        select(User).where(User.id == user_id).execution_options(populate_existing=True)
    ).first()
    if user is None or user.password_hash != stored_hash:  # changed while it was checked
        session.commit()
        return _BAD_CREDENTIALS
    if not user.is_active:
        session.commit()
        return SignInResult(
            None,
            "inactive",
            message_zh="该账户已停用，请联系管理员",
            message_en="This account has been disabled. Please contact your administrator.",
        )
    if new_hash is not None:
        user.password_hash = new_hash
        session.add(user)
    token = start_session(session, user, now=now, lifetime=lifetime)
    # The tables' upkeep: anyone's old counts, and sessions past their lifetime, go.
    purge_sign_in_failures(session, now)
    purge_sessions(session, now)
    session.commit()
    return SignInResult(
        user, "ok", message_zh="登录成功", message_en="Signed in.", session_token=token
    )


_BAD_CREDENTIALS = SignInResult(
    None, "bad_credentials", message_zh="用户名或密码错误", message_en="Wrong username or password."
)


def purge_sign_in_failures(session: Session, now: datetime | None = None) -> int:
    """Delete throttle rows whose window and lock are both over; returns how many."""
    now = _utc_now(now)
    # Stored times are UTC on both databases (SQLite keeps them as ISO text, which sorts).
    result = session.exec(
        sa.delete(SignInFailure)
        .where(
            col(SignInFailure.first_at) <= now - FAILURE_WINDOW,
            sa.or_(
                col(SignInFailure.locked_until).is_(None), col(SignInFailure.locked_until) <= now
            ),
        )
        # Rows loaded in this session are not matched in Python (SQLite hands back naive times).
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def address_delay_seconds(failures: int) -> int:
    """How long a wrong password's answer waits after an address's ``failures``-th failure:
    nothing below ADDRESS_SLOW_FROM, then one second more for each failure, up to the cap."""
    if failures < ADDRESS_SLOW_FROM:
        return 0
    return min(1 + failures - ADDRESS_SLOW_FROM, ADDRESS_DELAY_CAP_S)


def account_delay_seconds(failures: int) -> int:
    """How long an account must wait after its ``failures``-th failure (below the lock)."""
    if failures < ACCOUNT_DELAY_FROM:
        return 0
    return int(min(2 ** (failures - ACCOUNT_DELAY_FROM), ACCOUNT_DELAY_CAP_S))


def _account_key(username: str) -> str:
    return f"user:{username.strip().lower()}"[:_KEY_MAX_LENGTH]


def _claim(session: Session, key: str, now: datetime) -> SignInFailure:
    """The key's row, created if missing and locked against other workers until commit."""
    values = {"key": key, "failures": 0, "first_at": now, "locked_until": None}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.exec(postgresql.insert(SignInFailure).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        # A SQLite write transaction (BEGIN IMMEDIATE) already excludes other writers.
        session.exec(sqlite.insert(SignInFailure).values(**values).on_conflict_do_nothing())
    elif session.get(SignInFailure, key) is None:
        session.add(SignInFailure(key=key, failures=0, first_at=now))
        session.flush()
    return session.exec(
        select(SignInFailure)
        .where(SignInFailure.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _restart_if_window_over(row: SignInFailure, now: datetime) -> None:
    end = _aware(row.locked_until)
    if end is not None and end > now:
        return
    if row.failures and now - _aware_required(row.first_at) < FAILURE_WINDOW:
        row.locked_until = None
        return
    row.failures = 0
    row.first_at = now
    row.locked_until = None


def _record_failure(
    row: SignInFailure, now: datetime, *, lock_at: int | None, delay_from: int | None
) -> None:
    row.failures += 1
    if row.failures == 1:
        row.first_at = now
    if lock_at is not None and row.failures >= lock_at:
        row.locked_until = now + LOCK_DURATION
    elif delay_from is not None and row.failures >= delay_from:
        row.locked_until = now + timedelta(seconds=account_delay_seconds(row.failures))
    else:
        row.locked_until = None


def _drop_clean(session: Session, rows: Iterable[SignInFailure]) -> None:
    """Delete rows that hold nothing worth keeping, so the table stays small."""
    for row in rows:
        if row.failures == 0 and row.locked_until is None:
            session.delete(row)
    session.flush()


def _seconds_until(end: datetime, now: datetime) -> int:
    """Whole seconds left until ``end``, at least one (for Retry-After and the messages)."""
    return max(1, math.ceil((end - now).total_seconds()))


def _wait_words(seconds: int) -> tuple[str, str]:
    """A wait in words, in Chinese and English (seconds under a minute, else whole minutes)."""
    if seconds < 60:
        return f"{seconds} 秒", f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} 分钟", f"{minutes} minute{'s' if minutes != 1 else ''}"


def _locked(seconds: int) -> SignInResult:
    zh_wait, en_wait = _wait_words(seconds)
    return SignInResult(
        None,
        "locked",
        retry_after=seconds,
        message_zh=f"登录失败次数过多，请在 {zh_wait}后再试",
        message_en=f"Too many failed sign-in attempts. Please try again in {en_wait}.",
    )


def _slowed(seconds: int) -> SignInResult:
    return SignInResult(
        None,
        "slowed",
        retry_after=seconds,
        message_zh="用户名或密码错误。该网络地址近期登录失败次数过多，因此回复已放慢",
        message_en=(
            "Wrong username or password. There have been many failed sign-ins from this network "
            "address lately, so answers are slowed down."
        ),
    )


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash nobody's password matches, made with ``hasher`` so checking it costs the same."""
    return hasher.hash(secrets.token_urlsafe(16))


def _utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives back naive ones, meant as UTC)."""
    if value is None:
        return None
    return _aware_required(value)


def _aware_required(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- the administrator's user list and role changes -------------------------------------------


def user_list(term: str) -> SelectOfScalar[User]:
    """Users by username, those whose username or display name contains ``term`` (as typed:
    % and _ are literal) if one is given; ``term`` comes from
    assess.accounts.enterprises.search_term."""
    query = select(User).order_by(col(User.username))
    if term:
        query = query.where(
            col(User.username).contains(term.lower(), autoescape=True)
            | col(User.display_name).contains(term, autoescape=True)
        )
    return query


def scope_stamp(session: Session, user: User) -> str:
    """The account's role and scope as one string, which a role form carries back so that a
    change made meanwhile by someone else is refused rather than overwritten."""
    clusters = session.exec(
        select(UserCluster.cluster_id)
        .where(UserCluster.user_id == user.id)
        .order_by(col(UserCluster.cluster_id))
    ).all()
    shown = ",".join(str(c) for c in clusters)
    return f"{user.role}|{user.enterprise_id or ''}|{user.cert_body_id or ''}|{shown}"


def change_role_and_scope(
    session: Session,
    user: User,
    *,
    role: Role | str,
    enterprise_id: int | None,
    cert_body_id: int | None,
    cluster_ids: Iterable[int],
    seen_stamp: str,
    by: User | None = None,
) -> None:
    """An administrator changes an account's role and scope under the rules of create_user.

    ``seen_stamp`` is the scope_stamp the form was shown with: a stale one raises Conflict. The
    last active administrator keeps the role. AccountError lists every other fault at once.
    The change, and ``by`` whom, goes to the audit trail (the fields that changed, before and
    after) and to the ``assess.audit`` log.
    """
    # Lock the row (PostgreSQL; a SQLite writer holds the whole database) so that the stamp
    # compared is the one overwritten.
    locked = session.exec(
        select(User)
        .where(User.id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    now = scope_stamp(session, locked)
    before = _scope_view(session, locked)
    if seen_stamp != now:
        raise Conflict(
            Problem(
                "stale",
                "该账户的角色或范围已被他人修改，请查看当前值后重新提交",
                "someone else changed this account's role or scope; check the current values "
                "and submit again",
            ),
            ConflictDetail("user", now, "", 0),
        )
    clusters = sorted(set(cluster_ids))
    problems = _role_and_scope_problems(session, role, enterprise_id, cert_body_id, clusters)
    if not problems and locked.role == Role.admin and role != Role.admin and locked.is_active:
        others = session.exec(
            select(sa.func.count())
            .select_from(User)
            .where(User.role == Role.admin.value, col(User.is_active), User.id != locked.id)
        ).one()
        if others == 0:
            problems.append(
                Problem(
                    "last_admin_role",
                    "不能更改最后一个有效管理员账户的角色",
                    "the role of the last active administrator cannot be changed",
                )
            )
    if problems:
        raise AccountError(problems)
    locked.role = Role(role).value
    locked.enterprise_id = enterprise_id
    locked.cert_body_id = cert_body_id
    session.add(locked)
    assert locked.id is not None
    session.exec(sa.delete(UserCluster).where(col(UserCluster.user_id) == locked.id))
    for cluster_id in clusters:
        session.add(UserCluster(user_id=locked.id, cluster_id=cluster_id))
    session.flush()
    logging.getLogger("assess.audit").info(
        "role and scope of %s changed by %s: %s -> %s",
        locked.username,
        by.username if by is not None else "-",
        now,
        scope_stamp(session, locked),
    )
    old, new = audit.changes(before, _scope_view(session, locked))
    if new:
        audit.record(session, "user.scope", "user", locked.id, actor=by, before=old, after=new)
