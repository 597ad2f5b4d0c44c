"""Settings from the environment (``ASSESS_*``), in one place for the CLI and the web app."""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The time zone every time is shown in (China Standard Time, UTC+8); times are stored in UTC.
CHINA_TIME = timezone(timedelta(hours=8), "UTC+8")


def china_today() -> date:
    """Today's date in China: the date reviews fall due and certificates are issued on."""
    return datetime.now(CHINA_TIME).date()


#: The key earlier versions signed sessions with when none was set. It is published, so it is
#: refused wherever a key is given explicitly in production.
PUBLISHED_SECRET = "local-development-only-change-me"
#: The file in the data directory holding the key made on first start (when none is set).
SECRET_KEY_FILE = "secret_key"
#: A signing key needs at least this many characters.
SECRET_MIN_LENGTH = 32


class SecretKeyFileError(RuntimeError):
    """The data directory's key file cannot be read or written, or holds no usable key."""


class Settings(BaseSettings):
    """How this installation runs. Every field can be set as ``ASSESS_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ASSESS_", extra="ignore")

    environment: Literal["local", "production"] = "local"
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: a SQLite file in data_dir
    # The key that signs session cookies. Unset: outside production, a random key made on first
    # start and kept in data_dir (see signing_key); production refuses to start without one.
    secret_key: str | None = None
    session_idle_seconds: int = 2 * 3600  # a session ends after this long without a request
    # Addresses (or networks, comma-separated) of reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed. Empty: nobody's; the connecting peer is the address.
    trusted_proxies: str = ""
    # Worker threads per process for request handlers. The handlers are mostly Python work
    # under one interpreter lock; more threads than this only queue for that lock and slow
    # every request down (measured: bench/http.py, 40 threads against 4).
    threads: int = Field(default=8, ge=1, le=200)
    # The address people reach the application at (e.g. https://lh.example.gov.cn), for links
    # printed on paper: a certificate's QR code and verification address. Unset: the address of
    # the request that printed it.
    public_url: str = Field(
        default="", max_length=200, pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$"
    )
    # Certification. Evidence files are kept by content hash beside the database (default:
    # data_dir/evidence), never inside the web app's paths.
    evidence_dir: Path | None = None
    evidence_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # A review is due this many days after the enterprise asked for certification.
    review_days: int = Field(default=30, ge=1, le=365)
    # A certificate is valid this many months from its issue, with a surveillance audit every
    # surveillance_months (GB/T 23003-2018 leaves both to the scheme).
    certificate_validity_months: int = Field(default=36, ge=1, le=120)
    surveillance_months: int = Field(default=12, ge=1, le=120)

    @model_validator(mode="after")
    def _refuse_a_missing_secret_in_production(self) -> Settings:
        if self.environment == "production" and (
            not self.secret_key
            or self.secret_key == PUBLISHED_SECRET
            or len(self.secret_key) < SECRET_MIN_LENGTH
        ):
            raise ValueError(
                "生产环境必须设置 ASSESS_SECRET_KEY（至少 32 个字符）/ "
                "production needs ASSESS_SECRET_KEY set to a secret of at least 32 characters"
            )
        return self

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the database."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assess.db').resolve()}"

    @property
    def evidence_root(self) -> Path:
        """The directory evidence files are kept in."""
        return (self.evidence_dir or self.data_dir / "evidence").resolve()

    def signing_key(self) -> str:
        """The key that signs sessions: ASSESS_SECRET_KEY when set, else the data directory's."""
        if self.secret_key:
            return self.secret_key
        return data_dir_key(self.data_dir)


def data_dir_key(data_dir: Path) -> str:
    """The random key kept in ``data_dir``, made on first use, readable by its owner only.

    Several workers may start at once: each writes a complete key to a file of its own and
    links it into place, which fails if another got there first; then all read the one that
    won. So nobody ever reads a half-written key, and all agree on one.
    """
    path = data_dir / SECRET_KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SecretKeyFileError(
            f"无法读取会话密钥文件 {path}：{exc.strerror}；请设置 ASSESS_SECRET_KEY / "
            f"cannot read the session key file {path}: {exc.strerror}; set ASSESS_SECRET_KEY"
        ) from None
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        mine = data_dir / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(mine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48) + "\n")
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):  # another worker's key won: read below
                os.link(mine, path)
        finally:
            mine.unlink(missing_ok=True)
        return _read_key(path)
    except OSError as exc:
        raise SecretKeyFileError(
            f"无法创建会话密钥文件 {path}：{exc.strerror}；请设置 ASSESS_SECRET_KEY / "
            f"cannot create the session key file {path}: {exc.strerror}; set ASSESS_SECRET_KEY"
        ) from None


def _read_key(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd) as f:
        if os.fstat(f.fileno()).st_mode & 0o077:
            os.fchmod(f.fileno(), 0o600)  # a copy restored with wider rights: owner only again
        key = f.read().strip()
    if len(key) < SECRET_MIN_LENGTH:
        raise SecretKeyFileError(
            f"会话密钥文件 {path} 内容无效（少于 {SECRET_MIN_LENGTH} 个字符）；请删除它或设置 "
            f"ASSESS_SECRET_KEY / the session key file {path} holds no usable key (fewer than "
            f"{SECRET_MIN_LENGTH} characters); delete it or set ASSESS_SECRET_KEY"
        )
    return key
