"""Backups of a running database, and restores that check what they restored.

SQLite: sqlite3's online backup API copies the database as one consistent snapshot, the saves
still in the write-ahead log (``assess.db-wal``) included, while the application goes on saving.
A plain file copy of ``assess.db`` misses those saves, or copies a file caught mid-write.

PostgreSQL: ``pg_dump`` (custom format) and ``pg_restore``, PostgreSQL's own client tools, given
the URL's connection parameters (the password only in the environment, never on a command line).

A backup is written to a temporary file beside FILE and renamed into place when complete, so a
failed backup never leaves a half file under FILE. A restore reads the file's first bytes to
tell a SQLite backup from a PostgreSQL archive, refuses a non-empty database unless forced, and
checks the result (integrity, migration revision) before it reports what it restored.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from assess.store import db
from assess.store.models import Answer, Assessment, Enterprise, User

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive
ALEMBIC_TABLE = "alembic_version"
#: The tables whose rows a backup or a restore counts in its report.
COUNTED = tuple(str(m.__tablename__) for m in (Enterprise, Assessment, Answer, User))

# Exit statuses of the CLI: a refusal (nothing was done) and a failure (something went wrong).
REFUSED, FAILED = 2, 1


class BackupError(Exception):
    """A backup or restore refused or failed; nothing was written under the file or database."""

    def __init__(self, zh: str, en: str, exit_code: int = FAILED) -> None:
        self.zh, self.en, self.exit_code = zh, en, exit_code
        super().__init__(f"{zh} / {en}")


@dataclass(frozen=True)
class Contents:
    """What a backup file holds, or what a restore put into the database."""

    kind: str  # "sqlite" or "postgresql"
    revision: str | None
    head: bool  # the revision is the newest this version of the platform knows
    tables: int
    rows: dict[str, int]  # COUNTED table → rows
    size: int = 0  # bytes of the backup file
    checks: list[str] = field(default_factory=list)  # checks run and passed, in words


# --- shared ----------------------------------------------------------------------------------


def backend(url: str) -> str:
    """ "sqlite" or "postgresql" for ``url``; any other database is refused."""
    name = sa.engine.make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(
            f"不支持备份 {name} 数据库（只支持 SQLite 和 PostgreSQL）",
            f"backups of {name} databases are not supported (only SQLite and PostgreSQL)",
            REFUSED,
        )
    return name


def sniff(path: Path) -> str:
    """The kind of backup ``path`` is, from its first bytes: "sqlite" or "postgresql"."""
    if not path.is_file():
        raise BackupError(f"找不到备份文件 {path}", f"no backup file at {path}", REFUSED)
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(
        f"{path} 不是备份文件：既不是 SQLite 数据库，也不是 pg_dump 自定义格式（-Fc）的归档",
        f"{path} is not a backup: neither a SQLite database nor a pg_dump custom-format (-Fc) "
        "archive",
        REFUSED,
    )


def _revision_state(url: str, revision: str | None) -> bool:
    """Whether ``revision`` is this platform's newest; refused when it is none or unknown."""
    known, head = _revision_known(url, revision)
    if revision is None:
        raise BackupError(
            "这不是本平台的备份：其中没有迁移版本（alembic_version 表）",
            "this is not a backup of this platform: it has no migration revision "
            "(alembic_version table)",
            REFUSED,
        )
    if not known:
        raise BackupError(
            f"备份的迁移版本 {revision} 未知：它来自更新版本的平台，请先升级平台再恢复",
            f"the backup's migration revision {revision} is unknown: it was made by a newer "
            "version of the platform; upgrade the platform before restoring it",
            REFUSED,
        )
    return head


def _revision_known(url: str, revision: str | None) -> tuple[bool, bool]:
    """Whether this platform knows ``revision``, and whether it is its newest."""
    if revision is None:
        return False, False
    script = ScriptDirectory.from_config(db.alembic_config(url))
    try:
        found = script.get_revision(revision)
    except (CommandError, RevisionError):
        found = None
    known = found is not None and found.revision == revision  # not "head", not a prefix
    return known, known and revision in script.get_heads()


def _tables(conn: sa.Connection) -> list[str]:
    return [t for t in sa.inspect(conn).get_table_names() if t != ALEMBIC_TABLE]


def _has_rows(conn: sa.Connection) -> bool:
    return any(
        conn.execute(sa.select(sa.literal(1)).select_from(sa.table(t)).limit(1)).first()
        for t in _tables(conn)
    )


def _read_contents(conn: sa.Connection) -> tuple[str | None, int, dict[str, int]]:
    """Migration revision, number of tables and the counted rows, read through ``conn``."""
    tables = _tables(conn)
    revision = None
    if ALEMBIC_TABLE in sa.inspect(conn).get_table_names():
        revision = conn.execute(sa.text(f"SELECT version_num FROM {ALEMBIC_TABLE}")).scalar()
    rows = {
        t: int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one())
        for t in COUNTED
        if t in tables
    }
    return revision, len(tables), rows


def _target_free(target: Path, force: bool) -> None:
    if target.is_dir():
        raise BackupError(f"{target} 是文件夹", f"{target} is a folder", REFUSED)
    if not target.parent.is_dir():
        raise BackupError(
            f"文件夹 {target.parent} 不存在", f"the folder {target.parent} does not exist", REFUSED
        )
    if target.exists() and not force:
        raise BackupError(
            f"{target} 已存在；确认要覆盖时加 --force",
            f"{target} already exists; add --force to overwrite it",
            REFUSED,
        )


@contextmanager
def _temporary_beside(target: Path) -> Iterator[Path]:
    """A temporary file in FILE's folder (so the rename is atomic), removed unless renamed."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _publish(tmp: Path, target: Path) -> None:
    """Make the complete temporary file durable, then put it under its name in one step."""
    with tmp.open("rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# --- SQLite ----------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    path = sa.engine.make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise BackupError(
            "只能备份或恢复 SQLite 数据库文件（URL 中需要文件路径）",
            "only a SQLite database file can be backed up or restored (the URL needs a path)",
            REFUSED,
        )
    return Path(path)


def _read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write to ``path`` (the live database, or a backup file)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    conn.execute(f"PRAGMA busy_timeout={db.SQLITE_BUSY_TIMEOUT_MS}")
    return conn


def _integrity(conn: sqlite3.Connection, what_zh: str, what_en: str) -> None:
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        problems += [str(r) for r in conn.execute("PRAGMA foreign_key_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        shown = "; ".join(problems[:5])
        raise BackupError(
            f"{what_zh}未通过完整性检查（PRAGMA integrity_check）：{shown}",
            f"{what_en} failed the integrity check (PRAGMA integrity_check): {shown}",
        )


def _sqlite_contents(path: Path) -> tuple[str | None, int, dict[str, int]]:
    engine = sa.create_engine(
        "sqlite://", creator=lambda: _read_only(path), poolclass=sa.pool.NullPool
    )
    try:
        with engine.connect() as conn:
            return _read_contents(conn)
    except sa.exc.DatabaseError as exc:
        raise BackupError(
            f"无法读取 SQLite 文件 {path}：{exc.orig}",
            f"cannot read the SQLite file {path}: {exc.orig}",
            REFUSED,
        ) from None
    finally:
        engine.dispose()


def _backup_sqlite(url: str, target: Path) -> Contents:
    live = _sqlite_path(url)
    if not live.is_file():
        raise BackupError(f"数据库文件 {live} 不存在", f"no database file at {live}", REFUSED)
    with _temporary_beside(target) as tmp:
        with closing(_read_only(live)) as src, closing(sqlite3.connect(tmp)) as dst:
            try:
                # One step: the whole copy reads one snapshot, WAL included; saves go on.
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
            except sqlite3.DatabaseError as exc:
                raise BackupError(
                    f"备份失败：{exc}（数据库可能已损坏：用 PRAGMA integrity_check 检查）",
                    f"the backup failed: {exc} (the database may be damaged: check it with "
                    "PRAGMA integrity_check)",
                ) from None
            _integrity(dst, "备份", "the backup")
        revision, tables, rows = _sqlite_contents(tmp)
        size = tmp.stat().st_size
        _publish(tmp, target)
    head = _revision_known(url, revision)[1]
    return Contents("sqlite", revision, head, tables, rows, size, ["integrity_check"])


def _restore_sqlite(url: str, source: Path, force: bool) -> Contents:
    dest = _sqlite_path(url)
    with closing(_read_only(source)) as src:
        _integrity(src, "备份文件", "the backup file")
    revision, _, _ = _sqlite_contents(source)
    _revision_state(url, revision)
    if dest.exists():
        engine = sa.create_engine(f"sqlite:///{dest}", poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                busy = _has_rows(conn)
        except sa.exc.DatabaseError as exc:
            raise BackupError(
                f"{dest} 不是可用的 SQLite 数据库（{exc.orig}），未做任何改动",
                f"{dest} is not a usable SQLite database ({exc.orig}); nothing was changed",
                REFUSED,
            ) from None
        finally:
            engine.dispose()
        if busy and not force:
            raise _not_empty(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with closing(_read_only(source)) as src, closing(sqlite3.connect(dest, timeout=30)) as dst:
        dst.execute(f"PRAGMA busy_timeout={db.SQLITE_BUSY_TIMEOUT_MS}")
        try:
            src.backup(dst)  # page by page into the database, through its journal
        except sqlite3.DatabaseError as exc:
            raise BackupError(
                f"恢复失败，数据库未改变：{exc}",
                f"the restore failed and the database is unchanged: {exc}",
            ) from None
        dst.execute("PRAGMA journal_mode=WAL")  # as the application runs it
        _integrity(dst, "恢复后的数据库", "the restored database")
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    revision, tables, rows = _sqlite_contents(dest)
    head = _revision_state(url, revision)
    return Contents(
        "sqlite", revision, head, tables, rows, source.stat().st_size, ["integrity_check"]
    )


# --- PostgreSQL ------------------------------------------------------------------------------


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL as a libpq connection string without the password, and an environment with it."""
    u = sa.engine.make_url(url)
    params: dict[str, object] = {
        "host": u.host,
        "port": u.port,
        "user": u.username,
        "dbname": u.database,
    }
    for key, value in u.query.items():  # sslmode, host=/run/postgresql, ...: libpq's own names
        params[key] = value[-1] if isinstance(value, tuple) else value

    def quoted(v: object) -> str:
        return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"

    conninfo = " ".join(f"{k}={quoted(v)}" for k, v in params.items() if v not in (None, ""))
    env = dict(os.environ)
    if u.password is not None:
        env["PGPASSWORD"] = u.password
    return conninfo, env


def _tool(name: str, url: str, server: int | None) -> tuple[str, int]:
    """The path and major version of pg_dump or pg_restore; refused when missing or too old."""
    need = f"{server}" if server else "the server's"
    need_zh = f"{server}" if server else "服务器的"
    exe = shutil.which(name)
    if exe is None:
        conninfo, _ = _libpq(url)
        if name == "pg_dump":
            how = f'pg_dump --format=custom --file FILE --dbname "{conninfo}"'
        else:
            how = f'pg_restore --no-owner --single-transaction --dbname "{conninfo}" FILE'
        raise BackupError(
            f"找不到 {name}：PostgreSQL 数据库的备份和恢复使用 PostgreSQL 客户端工具（主版本不低于"
            f"{need_zh}）。请安装后重试（Debian/Ubuntu：apt-get install postgresql-client），"
            f"或在装有它的机器上运行：{how}（密码经环境变量 PGPASSWORD 传入）",
            f"{name} was not found: PostgreSQL backups and restores use PostgreSQL's client tools "
            f"(major version {need} or newer). Install them and try again (Debian/Ubuntu: "
            f"apt-get install postgresql-client), or run on a machine that has them: {how} "
            "(with the password in the environment variable PGPASSWORD)",
            REFUSED,
        )
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"\)\s*(\d+)", out)
    major = int(m.group(1)) if m else 0
    if server is not None and major < server:
        raise BackupError(
            f"{exe} 的版本是 {major}，低于服务器的 PostgreSQL {server}：请安装 {server} "
            f"或更新版本的客户端工具（Debian/Ubuntu：apt-get install postgresql-client-{server}）",
            f"{exe} is version {major}, older than the server's PostgreSQL {server}: install "
            f"client tools of version {server} or newer (Debian/Ubuntu: apt-get install "
            f"postgresql-client-{server})",
            REFUSED,
        )
    return exe, major


def _connect_failed(exc: Exception) -> BackupError:
    return BackupError(
        f"无法连接 PostgreSQL 数据库：{exc}", f"cannot connect to the PostgreSQL database: {exc}"
    )


def _server_major(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000


def _run(cmd: list[str], env: dict[str, str], what_zh: str, what_en: str) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        err = done.stderr.strip() or f"exit status {done.returncode}"
        raise BackupError(f"{what_zh}失败：{err}", f"{what_en} failed: {err}")
    return done.stdout


def _server_tool(engine: sa.Engine, url: str, name: str) -> str:
    """The path of ``name`` (pg_dump, pg_restore), checked against the server's version."""
    try:
        server = _server_major(engine)
    except sa.exc.OperationalError as exc:
        raise _connect_failed(exc.orig or exc) from None
    return _tool(name, url, server)[0]


def _backup_postgres(url: str, target: Path) -> Contents:
    engine = db.make_engine(url)
    try:
        exe = _server_tool(engine, url, "pg_dump")
        conninfo, env = _libpq(url)
        snap = engine.execution_options(isolation_level="REPEATABLE READ")
        with _temporary_beside(target) as tmp, snap.connect() as conn:
            # The counts and pg_dump read one exported snapshot, so the report is of the file.
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            revision, tables, rows = _read_contents(conn)
            cmd = [exe, "--format=custom", f"--snapshot={snapshot}", "--file", str(tmp)]
            _run([*cmd, "--dbname", conninfo], env, "pg_dump", "pg_dump")
            conn.rollback()
            size = tmp.stat().st_size
            _publish(tmp, target)
    finally:
        engine.dispose()
    head = _revision_known(url, revision)[1]
    return Contents("postgresql", revision, head, tables, rows, size, ["pg_dump"])


_COPY_REVISION = re.compile(rf"^COPY \S*{ALEMBIC_TABLE} \(version_num\) FROM stdin;\n(.*?)\n", re.M)
_LISTED_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )\S+ (\S+) ", re.M)


def _archive(exe: str, source: Path) -> tuple[str | None, set[str]]:
    """The migration revision and the tables of a custom-format archive, read without restoring."""
    env = dict(os.environ)
    listing = _run([exe, "--list", str(source)], env, "读取归档", "reading the archive")
    tables = set(_LISTED_TABLE.findall(listing))
    if ALEMBIC_TABLE not in tables:
        return None, tables
    sql = _run(
        [exe, "--data-only", f"--table={ALEMBIC_TABLE}", "--file=-", str(source)],
        env,
        "读取归档",
        "reading the archive",
    )
    m = _COPY_REVISION.search(sql)
    return (m.group(1).strip() if m and m.group(1) != "\\." else None), tables - {ALEMBIC_TABLE}


def _restore_postgres(url: str, source: Path, force: bool) -> Contents:
    engine = db.make_engine(url)
    try:
        exe = _server_tool(engine, url, "pg_restore")
        revision, archived = _archive(exe, source)
        _revision_state(url, revision)
        with engine.connect() as conn:
            existing, busy = _tables(conn), _has_rows(conn)
        if busy and not force:
            raise _not_empty(url)
        conninfo, env = _libpq(url)
        cmd = [exe, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        if existing:  # drop what the archive brings back first (all or nothing, in one transaction)
            cmd += ["--clean", "--if-exists"]
        _run([*cmd, "--dbname", conninfo, str(source)], env, "pg_restore", "pg_restore")
        with engine.connect() as conn:
            revision, tables, rows = _read_contents(conn)
            missing = sorted(archived - set(_tables(conn)))
    finally:
        engine.dispose()
    if missing:
        raise BackupError(
            f"恢复后缺少归档中的表：{', '.join(missing)}",
            f"tables of the archive are missing after the restore: {', '.join(missing)}",
        )
    head = _revision_state(url, revision)
    return Contents(
        "postgresql",
        revision,
        head,
        tables,
        rows,
        source.stat().st_size,
        ["pg_restore --single-transaction", f"{len(archived)} tables present"],
    )


def _not_empty(url: str) -> BackupError:
    where = sa.engine.make_url(url).render_as_string(hide_password=True)
    return BackupError(
        f"目标数据库 {where} 不是空的；恢复会覆盖其中全部数据，确认时加 --force",
        f"the database {where} is not empty; a restore replaces everything in it, add --force "
        "to confirm",
        REFUSED,
    )


# --- the two commands ------------------------------------------------------------------------


def backup(url: str, target: Path, *, force: bool = False) -> Contents:
    """Copy the database at ``url`` to ``target`` while it runs; FILE appears only when complete."""
    kind = backend(url)
    _target_free(target, force)
    if kind == "sqlite":
        return _backup_sqlite(url, target)
    return _backup_postgres(url, target)


def restore(url: str, source: Path, *, force: bool = False) -> Contents:
    """Put the backup ``source`` into the database at ``url`` and check the result."""
    kind = backend(url)
    found = sniff(source)
    if found != kind:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(
            f"{source} 是 {names[found]} 备份，不能恢复到 {names[kind]} 数据库",
            f"{source} is a {names[found]} backup; it cannot be restored into a {names[kind]} "
            "database",
            REFUSED,
        )
    if kind == "sqlite":
        return _restore_sqlite(url, source, force)
    return _restore_postgres(url, source, force)
