"""Dependencies the routes share: the database session, the signed-in user, role checks."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import Depends, Request
from sqlmodel import Session

from assess.accounts.users import session_user
from assess.errors import Forbidden, Problem
from assess.store.db import WriterBusy, begin_read
from assess.store.models import Role, User
from web import i18n

T = TypeVar("T")


class NotSignedIn(Exception):
    """No valid session: never signed in, signed out, expired, or the password changed."""

    def __init__(self, expired: bool = False) -> None:
        self.expired = expired
        super().__init__("not signed in")


class PasswordChangeRequired(Forbidden):
    """An administrator chose this user's password: nothing but changing it until that's done."""

    def __init__(self) -> None:
        super().__init__(
            Problem(
                "password_change_required",
                "管理员为您设置了密码，请先修改密码再继续",
                "an administrator set your password; change it before you continue",
            )
        )


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One database session per request; the route commits what it changes.

    A transaction must never stay open while its request waits for a worker thread: with
    SQLite every transaction holds the database lock, and the threads are busy waiting for it.
    So the session is closed here on the event loop (no thread needed), and current_user ends
    its read before the route's own thread starts.

    Requests that change nothing (GET, HEAD) read without taking SQLite's write lock.
    """
    state = request.app.state
    engine = state.reader if request.method in ("GET", "HEAD") else state.engine
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db)]


def sign_in(request: Request, user: User, token: str) -> None:
    """Put a session the database just started (``token``) into this browser's cookie, with a
    new CSRF token too (no session fixation)."""
    lang = request.session.get("lang")
    request.session.clear()
    # "uid" only says whom the token was made for; the token alone decides who is signed in.
    request.session.update({"sid": token, "uid": user.id})
    request.session["lang"] = lang or i18n.normalise(user.locale)


def reissue(request: Request, token: str) -> None:
    """Carry on with a new session token in place of the old one (after a password change)."""
    request.session["sid"] = token


def session_token(request: Request) -> str:
    """The token of this browser's session ("" when none)."""
    token = request.session.get("sid")
    return token if isinstance(token, str) else ""


def sign_out(request: Request) -> None:
    """Forget who is signed in, keeping the chosen language."""
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang


def signed_in_user(request: Request, db: Session, *, password_pending_ok: bool = False) -> User:
    """The signed-in, active user, read in the session's transaction; NotSignedIn otherwise.

    The session must still be live in the database (one query, the user with it): signing out,
    a password change or an administrator elsewhere ends it for every worker at once. A user
    who must replace an administrator's password gets PasswordChangeRequired, except where
    ``password_pending_ok`` (the pages that change it).
    """
    token = session_token(request)
    if not token:
        raise NotSignedIn(expired=bool(request.scope.get("session_expired")))
    user = session_user(db, token)
    if user is None or user.id != request.session.get("uid"):
        sign_out(request)
        raise NotSignedIn(expired=True)
    request.state.user = user
    if user.must_change_password and not password_pending_ok:
        raise PasswordChangeRequired()
    return user


async def current_user(request: Request, db: SessionDep) -> User:
    """The signed-in, active user (a dependency); NotSignedIn otherwise.

    Read in a transaction of its own that takes no lock, ended before the route starts (see
    get_db). Work run by in_session calls signed_in_user in its one transaction instead.
    On SQLite the read runs right here on the event loop (a read of a local file in WAL mode
    never waits for a writer), which spares every page a round trip through a worker thread.
    """

    return await _look_up(request, db, password_pending_ok=False)


async def user_with_password_pending(request: Request, db: SessionDep) -> User:
    """Like current_user, but also lets through a user who must still change an
    administrator's password: for the pages where they do that."""
    return await _look_up(request, db, password_pending_ok=True)


async def _look_up(request: Request, db: Session, *, password_pending_ok: bool) -> User:
    def look_up() -> User:
        if session_token(request):
            begin_read(db)  # no write lock just to learn who is asking
        try:
            return signed_in_user(request, db, password_pending_ok=password_pending_ok)
        finally:
            db.commit()  # end the read here

    return await reading_here(request, look_up)


def _local_file(request: Request) -> bool:
    """Whether the database is a local SQLite file (its engine for writers that never wait
    exists only then)."""
    return request.app.state.no_wait is not None


async def reading_here(request: Request, work: Callable[[], T]) -> T:
    """``work()`` of a page that only reads: here on the event loop on SQLite, where reads of
    the local file never wait for a writer and a trip through a worker thread costs more than a
    page's queries; in a worker thread on PostgreSQL."""
    if _local_file(request):
        return work()
    return await anyio.to_thread.run_sync(work)


def reads_only(route: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """For a GET route that only reads (it must take ``request``): on SQLite it runs on the
    event loop, as reading_here does, instead of in a worker thread. FastAPI still sees the
    route's own parameters through the wrapper."""

    @functools.wraps(route)
    async def run(*args: Any, **kwargs: Any) -> T:
        request: Request = kwargs["request"]
        if request.method not in ("GET", "HEAD"):  # a writer's session may wait for the lock
            return await anyio.to_thread.run_sync(lambda: route(*args, **kwargs))
        return await reading_here(request, lambda: route(*args, **kwargs))

    return run


async def in_session(request: Request, work: Callable[[Session], T]) -> T:
    """``work(session)`` for a request that writes, on a session of its own, closed after.

    On SQLite the work runs right here, on the event loop: it is a few statements on a local
    file, and handing it to a worker thread and back costs more CPU than the work itself. It
    never waits there, though: if another writer holds the lock, the work stops before writing
    anything (WriterBusy) and starts over in a worker thread, where waiting harms nobody. On
    PostgreSQL, whose every statement is a round trip, it runs in a worker thread.
    """
    state = request.app.state
    if _local_file(request):
        try:
            with Session(state.no_wait, expire_on_commit=False) as s:
                return work(s)
        except WriterBusy:
            pass

    def in_thread() -> T:
        with Session(state.engine, expire_on_commit=False) as s:
            return work(s)

    return await anyio.to_thread.run_sync(in_thread)


UserDep = Annotated[User, Depends(current_user)]
PendingUserDep = Annotated[User, Depends(user_with_password_pending)]


def require(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets only the given roles through (403 for the others)."""

    async def check(user: UserDep) -> User:  # no I/O: no worker thread needed
        if user.role not in roles:
            raise Forbidden(
                Problem(
                    "role",
                    "您的角色无权访问此页面",
                    "your role does not give access to this page",
                )
            )
        return user

    return check


async def form_fields(request: Request) -> dict[str, list[str]]:
    """Every field of a posted form, each as the list of its values."""
    form = await request.form()
    return {k: [str(v) for v in form.getlist(k)] for k in form}


FormFields = Annotated[dict[str, list[str]], Depends(form_fields)]

EnterpriseUser = Annotated[User, Depends(require(Role.enterprise))]
AdminUser = Annotated[User, Depends(require(Role.admin))]
