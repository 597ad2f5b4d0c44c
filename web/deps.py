"""Dependencies the routes share: the database session, the signed-in user, role checks."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import Depends, Request
from sqlmodel import Session

from assess.db import WriterBusy, begin_read
from assess.errors import Forbidden, Problem
from assess.models import Role, User
from web import i18n

T = TypeVar("T")


class NotSignedIn(Exception):
    """No valid session: never signed in, signed out, expired, or the password changed."""

    def __init__(self, expired: bool = False) -> None:
        self.expired = expired
        super().__init__("not signed in")


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


def password_stamp(user: User) -> int:
    """Changes whenever the password does, so a password change ends other sessions."""
    t = user.password_changed_at
    if t.tzinfo is None:  # SQLite hands back naive datetimes; they are stored in UTC
        t = t.replace(tzinfo=UTC)
    return round(t.timestamp() * 1_000_000)  # microseconds: two changes a second apart differ


def sign_in(request: Request, user: User) -> None:
    """Start a fresh session for ``user`` (a new CSRF token too: no session fixation)."""
    lang = request.session.get("lang")
    request.session.clear()
    request.session.update({"uid": user.id, "pwc": password_stamp(user)})
    request.session["lang"] = lang or i18n.normalise(user.locale)


def sign_out(request: Request) -> None:
    """Forget who is signed in, keeping the chosen language."""
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang


def signed_in_user(request: Request, db: Session) -> User:
    """The signed-in, active user, read in the session's transaction; NotSignedIn otherwise."""
    uid = request.session.get("uid")
    if uid is None:
        raise NotSignedIn(expired=bool(request.scope.get("session_expired")))
    user = db.get(User, uid)
    if user is None or not user.is_active or request.session.get("pwc") != password_stamp(user):
        sign_out(request)
        raise NotSignedIn(expired=True)
    request.state.user = user
    return user


async def current_user(request: Request, db: SessionDep) -> User:
    """The signed-in, active user (a dependency); NotSignedIn otherwise.

    Read in a transaction of its own that takes no lock, ended before the route starts (see
    get_db). Work run by in_session calls signed_in_user in its one transaction instead.
    On SQLite the read runs right here on the event loop (a read of a local file in WAL mode
    never waits for a writer), which spares every page a round trip through a worker thread.
    """

    def look_up() -> User:
        if request.session.get("uid") is not None:
            begin_read(db)  # no write lock just to learn who is asking
        user = signed_in_user(request, db)
        db.commit()  # end the read here
        return user

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
