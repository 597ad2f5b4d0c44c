"""``assess db backup`` and ``assess db restore`` on SQLite and PostgreSQL: a backup taken while
answers are being saved holds every save acknowledged before it, a restore refuses what it must
and checks what it restored."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from assess.assessment import lifecycle as svc
from assess.cli import app
from assess.store import db
from assess.store.models import Answer, Assessment
from tests.databases import _postgres_database
from tests.db import factories

#: Percentage questions every sector has; the saver takes turns changing them.
QUESTIONS = (
    "core.rd.digital_share",
    "core.prod.nc_rate",
    "core.mkt.online_share",
    "core.int.integrated_share",
)


def value_at(version: int) -> float:
    """The value the saver writes to reach ``version``: any stored pair can be checked."""
    return float(version * 7 % 101)


def need_pg_tools() -> None:
    missing = [t for t in ("pg_dump", "pg_restore") if shutil.which(t) is None]
    if not missing:
        return
    reason = f"{' and '.join(missing)} not on the PATH (apt-get install postgresql-client)"
    if os.environ.get("ASSESS_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required, and so are its client tools: {reason}")
    pytest.skip(reason)


@pytest.fixture
def fresh_url(empty_db_url, tmp_path) -> Iterator[str]:
    """A second, empty database of the same kind as ``db_url``: where backups are restored."""
    if empty_db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh' / 'assess.db'}"  # the folder does not exist yet
    else:
        need_pg_tools()
        yield from _postgres_database()


def draft(engine: sa.Engine) -> int:
    with Session(engine) as s:
        a = svc.start_assessment(s, factories.enterprise(s), 2020, by_user=None, version=1)
        s.commit()
        assert a.id is not None
        return a.id


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["db", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def stored(url: str, assessment_id: int) -> dict[str, tuple[int, float]]:
    engine = db.make_engine(url)
    try:
        with Session(engine) as s:
            rows = s.exec(select(Answer).where(Answer.assessment_id == assessment_id)).all()
            return {r.question: (r.version, float(r.value)) for r in rows}
    finally:
        engine.dispose()


class Saver(threading.Thread):
    """Saves answers through the service, one transaction each, and notes each acknowledged one."""

    def __init__(self, engine: sa.Engine, assessment_id: int) -> None:
        super().__init__(daemon=True)
        self.engine, self.assessment_id = engine, assessment_id
        self.acked: list[tuple[str, int]] = []  # (question, version), once committed
        self.errors: list[BaseException] = []
        self.stop = threading.Event()

    def run(self) -> None:
        versions = dict.fromkeys(QUESTIONS, 0)
        n = 0
        try:
            while not self.stop.is_set():
                q = QUESTIONS[n % len(QUESTIONS)]
                n += 1
                with db.session(self.engine) as s:
                    a = s.get(Assessment, self.assessment_id)
                    assert a is not None
                    version = versions[q] + 1
                    saved = svc.save_answer(
                        s, a, q, value_at(version), "", base_version=versions[q], by_user=None
                    )
                assert saved.version == version
                versions[q] = version
                self.acked.append((q, version))
        except BaseException as exc:  # the test reports it
            self.errors.append(exc)

    def wait_for(self, n: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < n:
            assert not self.errors, self.errors
            assert time.monotonic() < deadline, f"only {len(self.acked)} saves in {timeout} s"
            time.sleep(0.01)


def test_a_backup_taken_while_answers_are_saved_holds_every_save_acknowledged_before_it(
    db_url, engine, fresh_url, tmp_path
):
    if db_url.startswith("postgresql"):
        need_pg_tools()
    assessment_id = draft(engine)
    saver = Saver(engine, assessment_id)
    saver.start()
    try:
        saver.wait_for(40)
        if db_url.startswith("sqlite"):  # the case `cp assess.db` gets wrong: saves in the WAL
            wal = Path(sa.engine.make_url(db_url).database + "-wal")
            assert wal.stat().st_size > 0
        before = list(saver.acked)
        code, out = cli("backup", str(tmp_path / "assess.backup"), "--url", db_url)
        during = len(saver.acked) - len(before)
        saver.wait_for(len(saver.acked) + 20)  # saves go on after the backup too
    finally:
        saver.stop.set()
        saver.join(30)
    assert code == 0, out
    assert not saver.errors, saver.errors  # the backup made no save fail or wait past its limit
    assert "revision" in out and "answer" in out

    code, out = cli("restore", str(tmp_path / "assess.backup"), "--url", fresh_url)
    assert code == 0, out
    restored = stored(fresh_url, assessment_id)
    newest_before = {q: v for q, v in before}  # the last acknowledged version of each question
    assert set(restored) == set(QUESTIONS)
    for q, version in newest_before.items():
        got_version, got_value = restored[q]
        assert got_version >= version, (q, got_version, version, during)
        assert got_value == value_at(got_version)  # a state that was really saved, not a mix
    final = stored(db_url, assessment_id)
    assert all(restored[q][0] <= final[q][0] for q in QUESTIONS)  # and nothing from the future


def test_a_plain_copy_of_the_sqlite_file_misses_saves_that_the_backup_has(tmp_path):
    """Why the README says not to `cp assess.db`: acknowledged saves wait in the WAL."""
    url = f"sqlite:///{tmp_path / 'live' / 'assess.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        assessment_id = draft(engine)
        with db.session(engine) as s:
            a = s.get(Assessment, assessment_id)
            for q in QUESTIONS:
                svc.save_answer(s, a, q, value_at(1), "", base_version=0, by_user=None)
        shutil.copy(tmp_path / "live" / "assess.db", tmp_path / "copied.db")
        code, out = cli("backup", str(tmp_path / "backup.db"), "--url", url)
        assert code == 0, out
    finally:
        engine.dispose()
    for name, expected in (("copied.db", 0), ("backup.db", len(QUESTIONS))):
        with sqlite3.connect(tmp_path / name) as conn:
            rows = conn.execute("SELECT count(*) FROM answer").fetchone()[0]
        assert rows == expected, name
    # The backup is one self-contained file, readable by its owner only (it holds password hashes).
    assert not (tmp_path / "backup.db-wal").exists()
    assert stat.S_IMODE((tmp_path / "backup.db").stat().st_mode) == 0o600


def test_a_restore_refuses_a_database_that_holds_data_unless_forced(db_url, engine, tmp_path):
    if db_url.startswith("postgresql"):
        need_pg_tools()
    assessment_id = draft(engine)
    with db.session(engine) as s:
        a = s.get(Assessment, assessment_id)
        svc.save_answer(s, a, QUESTIONS[0], value_at(1), "", base_version=0, by_user=None)
    backup = tmp_path / "assess.backup"
    assert cli("backup", str(backup), "--url", db_url)[0] == 0
    with db.session(engine) as s:  # a change made after the backup
        a = s.get(Assessment, assessment_id)
        svc.save_answer(s, a, QUESTIONS[0], value_at(2), "", base_version=1, by_user=None)

    code, out = cli("restore", str(backup), "--url", db_url)
    assert code == 2
    assert "不是空的" in out and "--force" in out
    assert stored(db_url, assessment_id)[QUESTIONS[0]] == (2, value_at(2))  # untouched

    engine.dispose()  # a restore is run with the application stopped
    code, out = cli("restore", str(backup), "--url", db_url, "--force")
    assert code == 0, out
    assert stored(db_url, assessment_id)[QUESTIONS[0]] == (1, value_at(1))
    assert "answer 1" in out and "assessment 1" in out and "revision" in out


def test_a_backup_never_overwrites_a_file_unless_forced(tmp_path):
    url = f"sqlite:///{tmp_path / 'assess.db'}"
    db.upgrade(url)
    target = tmp_path / "keep.db"
    target.write_bytes(b"precious")
    code, out = cli("backup", str(target), "--url", url)
    assert code == 2 and "--force" in out
    assert target.read_bytes() == b"precious"
    code, out = cli("backup", str(target), "--url", url, "--force")
    assert code == 0, out
    assert target.read_bytes().startswith(b"SQLite format 3\x00")


def test_a_file_that_is_not_a_backup_of_the_right_kind_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'target' / 'assess.db'}"
    text = tmp_path / "notes.txt"
    text.write_text("不是备份\n", encoding="utf-8")
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    archive = tmp_path / "pg.dump"
    archive.write_bytes(b"PGDMP\x01\x0e\x00" + bytes(100))

    code, out = cli("restore", str(text), "--url", url)
    assert code == 2 and "不是备份文件" in out and "not a backup" in out
    code, out = cli("restore", str(foreign), "--url", url)
    assert code == 2 and "alembic_version" in out
    code, out = cli("restore", str(archive), "--url", url)
    assert code == 2 and "PostgreSQL" in out and "SQLite" in out
    code, out = cli("restore", str(tmp_path / "missing.db"), "--url", url)
    assert code == 2 and "missing.db" in out
    assert not (tmp_path / "target").exists()  # nothing was created


def test_a_restore_onto_a_file_that_is_not_a_database_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    db.upgrade(url)
    backup = tmp_path / "assess.backup"
    assert cli("backup", str(backup), "--url", url)[0] == 0
    target = tmp_path / "target.db"
    target.write_bytes(b"a spreadsheet, not a database" * 200)
    code, out = cli("restore", str(backup), "--url", f"sqlite:///{target}", "--force")
    assert code == 2 and "not a usable SQLite database" in out
    assert target.read_bytes() == b"a spreadsheet, not a database" * 200


def test_a_backup_from_a_newer_platform_is_refused_and_an_older_one_asks_for_an_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    db.upgrade(url)
    backup = tmp_path / "assess.backup"
    assert cli("backup", str(backup), "--url", url)[0] == 0
    with sqlite3.connect(backup) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    fresh = tmp_path / "fresh" / "assess.db"
    code, out = cli("restore", str(backup), "--url", f"sqlite:///{fresh}")
    assert code == 2 and "9999_from_the_future" in out and "newer version" in out
    assert not fresh.exists()

    script = ScriptDirectory.from_config(db.alembic_config(url))
    first = script.get_base()
    if first in script.get_heads():
        return  # one migration only: nothing older to try
    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(old_url, first)
    assert cli("backup", str(tmp_path / "old.backup"), "--url", old_url)[0] == 0
    code, out = cli("restore", str(tmp_path / "old.backup"), "--url", f"sqlite:///{fresh}")
    assert code == 0, out
    assert f"revision: {first}" in out and "assess db upgrade" in out


def corrupt(path: Path) -> None:
    """Overwrite the middle of the file (b-tree pages, not the header) with noise."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2)
        f.write(bytes(range(256)) * 16)


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)  # PRAGMA integrity_check
def test_a_damaged_backup_fails_the_integrity_check_and_leaves_the_database_alone(
    engine, db_url, tmp_path
):
    draft(engine)
    backup = tmp_path / "assess.backup"
    assert cli("backup", str(backup), "--url", db_url)[0] == 0
    corrupt(backup)
    fresh = f"sqlite:///{tmp_path / 'fresh' / 'assess.db'}"
    code, out = cli("restore", str(backup), "--url", fresh)
    assert code == 1
    assert "integrity_check" in out
    assert not (tmp_path / "fresh" / "assess.db").exists()


def test_a_backup_that_fails_leaves_no_file_behind(tmp_path):
    live = tmp_path / "live.db"
    url = f"sqlite:///{live}"
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        draft(engine)
    finally:
        engine.dispose()  # the last connection checkpoints the WAL into the file
    corrupt(live)
    out_dir = tmp_path / "backups"
    out_dir.mkdir()
    code, out = cli("backup", str(out_dir / "assess.backup"), "--url", url)
    assert code == 1 and "integrity_check" in out
    assert list(out_dir.iterdir()) == []  # neither FILE nor a temporary part


def fake_tool(folder: Path, name: str, version: str) -> Path:
    """A stand-in for a PostgreSQL client tool: tells its version, else records how it was run."""
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = --version ]; then echo "{name} (PostgreSQL) {version}"; exit 0; fi\n'
        f'echo "$@" > "{folder}/args"; echo "$PGPASSWORD" > "{folder}/password"\n'
        'echo "could not dump" >&2; exit 1\n'
    )
    tool.chmod(0o755)
    return tool


def with_password(url: str, password: str) -> str:
    return sa.engine.make_url(url).set(password=password).render_as_string(hide_password=False)


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_without_pg_dump_the_backup_says_how_and_writes_nothing(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, out = cli("backup", str(tmp_path / "assess.dump"), "--url", db_url)
    assert code == 2
    assert "找不到 pg_dump" in out and "pg_dump was not found" in out
    assert "postgresql-client" in out and "--format=custom" in out and "PGPASSWORD" in out
    assert not (tmp_path / "assess.dump").exists()


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_a_pg_dump_older_than_the_server_is_refused_by_its_version(db_url, tmp_path, monkeypatch):
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        server = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000
    engine.dispose()
    fake_tool(tmp_path / "bin", "pg_dump", f"{server - 1}.3")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    code, out = cli("backup", str(tmp_path / "assess.dump"), "--url", db_url)
    assert code == 2
    assert f"version {server - 1}, older than the server's PostgreSQL {server}" in out
    assert not (tmp_path / "bin" / "args").exists()  # it was never asked to dump


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_pg_dump_gets_the_password_in_its_environment_and_a_failure_leaves_no_file(
    db_url, tmp_path, monkeypatch
):
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        server = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000
    engine.dispose()
    fake_tool(tmp_path / "bin", "pg_dump", f"{server}.0")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    url = with_password(db_url, "s3cret-pw")  # the test server trusts, so any password connects
    out_dir = tmp_path / "backups"
    out_dir.mkdir()
    code, out = cli("backup", str(out_dir / "assess.dump"), "--url", url)
    assert code == 1 and "could not dump" in out
    args = (tmp_path / "bin" / "args").read_text()
    assert "s3cret-pw" not in args and "--format=custom" in args
    assert sa.engine.make_url(db_url).database in args
    assert (tmp_path / "bin" / "password").read_text().strip() == "s3cret-pw"
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_the_restored_sqlite_database_runs_like_the_original(engine, db_url, tmp_path):
    """The restored file is in WAL mode and at the revision the application expects."""
    draft(engine)
    backup = tmp_path / "assess.backup"
    assert cli("backup", str(backup), "--url", db_url)[0] == 0
    fresh = f"sqlite:///{tmp_path / 'fresh' / 'assess.db'}"
    code, out = cli("restore", str(backup), "--url", fresh)
    assert code == 0, out
    assert "integrity_check" in out
    with sqlite3.connect(tmp_path / "fresh" / "assess.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    restored = db.make_engine(fresh)
    try:
        assert db.current_revision(restored) == db.current_revision(engine)
        with Session(restored) as s:
            assert s.exec(select(col(Assessment.year))).all() == [2020]
    finally:
        restored.dispose()


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)
def test_evidence_files_go_into_the_backup_and_come_back_checked(
    engine, db_url, tmp_path, monkeypatch
):
    """The backup copies the evidence store beside FILE (FILE.evidence); the restore puts the
    files back into the configured store, refusing any whose bytes no longer match its name."""
    from assess.certification.evidence import store, stored_path
    from assess.settings import Settings

    draft(engine)
    monkeypatch.setenv("ASSESS_DATA_DIR", str(tmp_path / "live"))
    live = Settings().evidence_root
    good, bad = store(live, b"%PDF-1.4 good\n"), store(live, b"%PDF-1.4 later damaged\n")
    backup = tmp_path / "assess.backup"
    code, out = cli("backup", str(backup), "--url", db_url)
    assert code == 0, out
    kept = tmp_path / "assess.backup.evidence"
    assert stored_path(kept, good).read_bytes() == b"%PDF-1.4 good\n"
    assert "2 个新文件 / new" in out
    # A second backup into the same place writes nothing again.
    assert "0 个新文件 / new" in cli("backup", str(backup), "--url", db_url, "--force")[1]

    stored_path(kept, bad).write_bytes(b"tampered")
    monkeypatch.setenv("ASSESS_DATA_DIR", str(tmp_path / "restored"))
    fresh = f"sqlite:///{tmp_path / 'restored' / 'assess.db'}"
    code, out = cli("restore", str(backup), "--url", fresh)
    assert code == 1 and bad in out  # named, and not copied
    restored = Settings().evidence_root
    assert stored_path(restored, good).read_bytes() == b"%PDF-1.4 good\n"
    assert not stored_path(restored, bad).exists()
