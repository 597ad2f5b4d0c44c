"""Evidence files: the documents an enterprise uploads for its answers, for a certifier to read.

- What a file is, is read from its content (``sniff``), never from its name or the browser's
  word: PDF; PNG, JPEG, GIF and WebP images; Word, Excel and PowerPoint documents (Office Open
  XML and the older binary formats); OpenDocument text and spreadsheets. Everything else is
  refused with a message that says what was found, and so is an empty file or one over the
  size limit.
- A file's name is kept only to show it and to name the download. A name with path parts or
  invisible characters (text-direction overrides, zero-width marks, control characters) is
  refused rather than quietly changed (``check_filename``).
- The bytes are kept once per SHA-256 in the evidence store, a directory beside the database
  (``Settings.evidence_root``), never inside the web app's served paths. Each upload adds an
  ``Evidence`` row; an older one is never replaced, so every version stays readable.
- Reading a file checks the reader's scope like every page (``access.evidence_readable``), and
  each upload and download is recorded in the audit trail.

Services take a Session and leave committing to the caller; a refused upload writes nothing:
no row, no file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import struct
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from sqlmodel import Session, col, select

from assess.accounts.access import evidence_readable
from assess.assessment.lifecycle import spec_of
from assess.errors import Invalid, Locked, NotFound, Problem, ServiceError
from assess.store import audit
from assess.store.models import Assessment, Evidence, Role, Status, User

MIB = 1024 * 1024
#: The longest file name kept (the Evidence.filename column's size).
MAX_NAME = 200

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"

#: Every accepted type with the file name endings that belong to it (the first is the one a
#: download's name gets when its own ending says something else).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    PDF: (".pdf",),
    PNG: (".png",),
    JPEG: (".jpg", ".jpeg", ".jpe", ".jfif"),
    GIF: (".gif",),
    WEBP: (".webp",),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
    PPTX: (".pptx",),
    ODT: (".odt",),
    ODS: (".ods",),
    DOC: (".doc",),
    XLS: (".xls",),
    PPT: (".ppt",),
}

# --- Refusals --------------------------------------------------------------------------------


class TooLarge(ServiceError):
    """The file is over the size limit."""

    status = 413


class Unsupported(ServiceError):
    """The file's content is not one of the accepted types."""

    status = 415


_ACCEPTED_ZH = (
    "只接受 PDF、图片（PNG、JPEG、GIF、WebP）"
    "和 Office 文档（Word、Excel、PowerPoint、OpenDocument）"
)
_ACCEPTED_EN = (
    "only PDF files, images (PNG, JPEG, GIF, WebP) and Office documents (Word, Excel, "
    "PowerPoint, OpenDocument) are accepted"
)


def _refused(code: str, zh: str, en: str) -> Unsupported:
    return Unsupported(Problem(code, f"{zh}：{_ACCEPTED_ZH}", f"{en}: {_ACCEPTED_EN}", "file"))


def _bad_name(code: str, zh: str, en: str) -> Invalid:
    return Invalid(Problem(code, zh, en, "file"))


def mb_text(n: int) -> str:
    """A size limit in MB as messages state it ("20", "0.5")."""
    return f"{n / MIB:.3g}"


def size_text(n: int) -> str:
    """A file's size for people: bytes, KB or MB."""
    if n < 1024:
        return f"{n} B"
    if n < MIB:
        return f"{n / 1024:.0f} KB"
    return f"{n / MIB:.1f} MB"


def too_large(max_bytes: int) -> Problem:
    """The problem of a file over ``max_bytes``: it states the limit."""
    mb = mb_text(max_bytes)
    return Problem(
        "too_large",
        f"文件过大：证明材料每个文件不超过 {mb} MB",
        f"the file is too large: each evidence file may be at most {mb} MB",
        "file",
    )


# --- What a file is --------------------------------------------------------------------------

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EXECUTABLES = (
    b"MZ",  # Windows programs and libraries
    b"\x7fELF",  # Linux programs
    b"\xfe\xed\xfa\xce",  # Mach-O, in both byte orders and widths, and universal binaries
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",  # scripts
)
#: How a web page may begin (after white space), as browsers recognise one.
_HTML_STARTS = (
    "<!doctype html",
    "<html",
    "<head",
    "<body",
    "<script",
    "<iframe",
    "<style",
    "<title",
    "<table",
    "<div",
    "<font",
    "<br",
    "<p",
    "<a",
    "<b",
    "<h1",
    "<!--",
)
#: How much of a text file is read to tell what it is.
_TEXT_HEAD = 4096


def sniff(data: bytes) -> str:
    """The media type of a file, read from its content; Unsupported for anything not accepted."""
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(_OLE):
        return _ole_kind(data)
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data)
    raise _refusal(data)


def _refusal(data: bytes) -> Unsupported:
    """Why a file of no accepted type is refused, as specifically as its first bytes tell."""
    if data.startswith(_EXECUTABLES):
        return _refused(
            "type_executable",
            "不接受程序或脚本文件（无论文件名如何）",
            "programs and scripts are not accepted, whatever the file is named",
        )
    text = _text_head(data)
    if text.startswith(("<!doctype html", "<html")):
        return _html()
    if text.startswith("<") and "<svg" in text:
        return _refused("type_svg", "不接受 SVG 图形文件", "SVG files are not accepted")
    if any(_begins_with_tag(text, start) for start in _HTML_STARTS):
        return _html()
    if text.startswith("<?xml"):
        return _refused("type_xml", "不接受 XML 文件", "XML files are not accepted")
    return _refused(
        "type_unknown", "无法识别或不接受该文件类型", "this type of file is not accepted"
    )


def _html() -> Unsupported:
    return _refused(
        "type_html", "不接受网页（HTML）文件", "web pages (HTML files) are not accepted"
    )


def _text_head(data: bytes) -> str:
    """The start of a file read as text (UTF-8 or UTF-16 by its byte-order mark), lower-cased
    and without leading white space."""
    head = data[:_TEXT_HEAD]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.decode("utf-8", errors="ignore")
    return text.lstrip("\ufeff \t\r\n\f\v\x00").lower()


def _begins_with_tag(text: str, start: str) -> bool:
    if not text.startswith(start):
        return False
    rest = text[len(start) : len(start) + 1]
    return start in ("<!--", "<!doctype html") or rest in ("", " ", ">", "\t", "\n", "\r", "/")


# Zip archives: Office Open XML and OpenDocument files are zips whose listed parts say what
# they are. Only the archive's central directory and two small parts are read, each with a
# bound on what comes out, so a crafted archive cannot make the check expand gigabytes.

#: An Office file has a few hundred parts at most; an archive with more is not one.
_MAX_ZIP_ENTRIES = 5000
#: The most read of [Content_Types].xml or the OpenDocument "mimetype" part.
_MAX_PART = 256 * 1024
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
}
_OOXML_MACROS = (
    "application/vnd.ms-word.document.macroenabled.main+xml",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml",
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml",
)
_ODF = {ODT: ODT, ODS: ODS}
#: What a damaged, encrypted or crafted archive makes zipfile raise.
_BROKEN_ZIP = (
    zipfile.BadZipFile,
    NotImplementedError,
    RuntimeError,
    OSError,
    EOFError,
    ValueError,
    struct.error,
)
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def _not_office() -> Unsupported:
    return _refused(
        "type_zip",
        "该压缩文件不是 Office 文档，不接受压缩包",
        "this archive is not an Office document, and archives are not accepted",
    )


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > _MAX_ZIP_ENTRIES:
                raise _not_office()
            names = {i.filename for i in infos}
            if "mimetype" in names:
                kind = _odf_kind(_part(z, "mimetype"), names)
            elif "[Content_Types].xml" in names:
                kind = _ooxml_kind(_part(z, "[Content_Types].xml"), names)
            else:
                kind = None
    except _BROKEN_ZIP:
        raise _not_office() from None
    if kind is None:
        raise _not_office()
    return kind


def _part(z: zipfile.ZipFile, name: str) -> bytes:
    """One member of the archive, refused (ValueError) when it inflates past _MAX_PART."""
    with z.open(name) as f:
        content = f.read(_MAX_PART + 1)
    if len(content) > _MAX_PART:
        raise ValueError(f"{name} is too large")
    return content


def _odf_kind(mimetype: bytes, names: set[str]) -> str | None:
    kind = _ODF.get(mimetype.decode("ascii", errors="replace").strip())
    return kind if kind and "content.xml" in names else None


def _ooxml_kind(content_types: bytes, names: set[str]) -> str | None:
    # A document type declaration has no place in this part; refusing it also keeps the XML
    # parser away from entity expansion.
    if b"<!DOCTYPE" in content_types.upper() or b"<!ENTITY" in content_types.upper():
        return None
    try:
        root = ElementTree.fromstring(content_types)
    except ElementTree.ParseError:
        return None
    for override in root.iter(f"{_CT_NS}Override"):
        content_type = (override.get("ContentType") or "").strip().lower()
        part = (override.get("PartName") or "").lstrip("/")
        if content_type in _OOXML_MACROS:
            raise _refused(
                "type_macro",
                "不接受含宏的 Office 文档，请另存为不含宏的格式（.docx、.xlsx、.pptx）",
                "Office documents with macros are not accepted; save it without macros "
                "(.docx, .xlsx, .pptx)",
            )
        kind = _OOXML_MAIN.get(content_type)
        if kind is not None:
            return kind if part in names else None
    return None


# The older binary Office formats are "compound files" (a small file system in one file): a
# Word document has a "WordDocument" stream, a workbook "Workbook" (or "Book"), a presentation
# "PowerPoint Document". Other compound files (installers among them) are refused. Only the
# directory is read, following its chain of sectors through the allocation table, with every
# offset checked against the file and every chain bounded.

_OLE_STREAMS = (
    ("WordDocument", DOC),
    ("Workbook", XLS),
    ("Book", XLS),
    ("PowerPoint Document", PPT),
)
_END_OF_CHAIN = 0xFFFFFFFE
_MAX_REGULAR_SECTOR = 0xFFFFFFFA
#: A directory of 4096 sectors holds tens of thousands of entries; Office files have dozens.
_MAX_DIRECTORY_SECTORS = 4096


def _not_a_document() -> Unsupported:
    return _refused(
        "type_ole",
        "该文件不是 Word、Excel 或 PowerPoint 文档",
        "this file is not a Word, Excel or PowerPoint document",
    )


def _ole_kind(data: bytes) -> str:
    try:
        names = set(_ole_names(data))
    except (ValueError, struct.error, IndexError):
        raise _not_a_document() from None
    for stream, kind in _OLE_STREAMS:
        if stream in names:
            return kind
    raise _not_a_document()


def _ole_names(data: bytes) -> Iterator[str]:
    """The names in a compound file's directory (ValueError when its structure is broken)."""
    if len(data) < 512:
        raise ValueError("short header")
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError("sector size")
    size = 1 << shift
    n_fat, first_dir = struct.unpack_from("<II", data, 0x2C)
    first_difat, n_difat = struct.unpack_from("<II", data, 0x44)
    fat_sectors = _fat_sectors(data, size, n_fat, first_difat, n_difat)
    per_sector = size // 4

    def sector(n: int) -> bytes:
        start = (n + 1) * size
        if n >= _MAX_REGULAR_SECTOR or start + size > len(data):
            raise ValueError("sector outside the file")
        return data[start : start + size]

    def next_of(n: int) -> int:
        index, slot = divmod(n, per_sector)
        if index >= len(fat_sectors):
            raise ValueError("sector outside the allocation table")
        return int(struct.unpack_from("<I", sector(fat_sectors[index]), slot * 4)[0])

    seen: set[int] = set()
    current = first_dir
    while current != _END_OF_CHAIN:
        if current in seen or len(seen) >= _MAX_DIRECTORY_SECTORS:
            raise ValueError("directory chain loops or is too long")
        seen.add(current)
        block = sector(current)
        for offset in range(0, size, 128):
            entry = block[offset : offset + 128]
            length = struct.unpack_from("<H", entry, 0x40)[0]
            if entry[0x42] in (1, 2, 5) and 2 <= length <= 64 and length % 2 == 0:
                yield entry[: length - 2].decode("utf-16-le", errors="replace")
        current = next_of(current)


def _fat_sectors(data: bytes, size: int, n_fat: int, first_difat: int, n_difat: int) -> list[int]:
    """Where the allocation table's sectors are: 109 in the header, more in a chain."""
    if n_fat > len(data) // size + 1:
        raise ValueError("allocation table larger than the file")
    found = list(struct.unpack_from("<109I", data, 0x4C))
    current, hops = first_difat, 0
    while current < _MAX_REGULAR_SECTOR and len(found) < n_fat:
        hops += 1
        start = (current + 1) * size
        if hops > n_difat or start + size > len(data):
            raise ValueError("broken allocation table chain")
        words = struct.unpack_from(f"<{size // 4}I", data, start)
        found.extend(words[:-1])
        current = words[-1]
    return [s for s in found[:n_fat] if s < _MAX_REGULAR_SECTOR]


# --- File names ------------------------------------------------------------------------------

#: Character classes no file name needs: control and format characters (text-direction
#: overrides, zero-width marks), private-use, unassigned and surrogate code points, and line
#: or paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"})


def check_filename(name: str) -> str:
    """A file name fit to show and to name a download (NFC), or Invalid saying what is wrong.

    Nothing is silently removed: a name that would need cleaning is refused, so that what a
    certifier sees is what the enterprise named the file.
    """
    name = unicodedata.normalize("NFC", name).strip(" ")
    if not name:
        raise _bad_name("name_empty", "文件名为空", "the file has no name")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith(".."):
        raise _bad_name(
            "name_path",
            "文件名不能包含路径（“/”、“\\”或“..”），请只保留文件名本身",
            'the file name must not contain a path ("/", "\\" or ".."); keep the name only',
        )
    if any(unicodedata.category(c) in _HIDDEN for c in name):
        raise _bad_name(
            "name_characters",
            "文件名含有不可见字符或控制字符（如文字方向控制符、零宽字符），请重命名后再上传",
            "the file name contains invisible or control characters (such as text-direction "
            "overrides or zero-width characters); rename the file and upload it again",
        )
    if len(name) > MAX_NAME:
        raise _bad_name(
            "name_too_long",
            f"文件名过长：最多 {MAX_NAME} 个字符",
            f"the file name is too long: at most {MAX_NAME} characters",
        )
    return name


def download_name(filename: str, media_type: str) -> str:
    """The name a download is saved under: the uploaded name, with the ending of the type its
    content was found to be added when its own ending says something else."""
    endings = EXTENSIONS.get(media_type, ())
    if not endings or filename.lower().endswith(endings):
        return filename
    return filename + endings[0]


# --- The store -------------------------------------------------------------------------------

_SHA256 = re.compile(r"[0-9a-f]{64}")


def stored_path(root: Path, sha256: str) -> Path:
    """Where the file with this SHA-256 is kept: ``root/<first two hex digits>/<sha256>``."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256: {sha256!r}")
    return root / sha256[:2] / sha256


def store(root: Path, data: bytes) -> str:
    """Keep ``data`` in the store under its SHA-256 (returned). A file already there is left as
    it is; a new one is written to a temporary file beside its place and linked into it, so
    that nobody ever reads half a file, and two uploads of the same bytes at once agree."""
    sha256 = hashlib.sha256(data).hexdigest()
    path = stored_path(root, sha256)
    if path.exists():
        return sha256
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")  # readable by its owner
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # the same bytes, stored meanwhile
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    _sync_directory(path.parent)
    return sha256


@dataclass(frozen=True)
class Copied:
    """What copying one evidence store into another did."""

    copied: int  # files written
    present: int  # files the target already held
    size: int  # bytes written
    damaged: list[str]  # files whose bytes do not match their name (not copied)


def copy_store(source: Path, target: Path) -> Copied:
    """Copy every file of the evidence store ``source`` into ``target`` (another store: a
    backup's, or the application's on restore). Files are immutable and named by their
    SHA-256, so a file already in the target is left alone, and each copied file is checked
    against its name first: a damaged one is reported and not copied."""
    copied = present = size = 0
    damaged: list[str] = []
    if not source.is_dir():
        return Copied(0, 0, 0, [])
    for path in sorted(source.glob("[0-9a-f][0-9a-f]/*")):
        sha256 = path.name
        if not _SHA256.fullmatch(sha256) or path.parent.name != sha256[:2]:
            continue  # not a stored file (a temporary one, or something else)
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            damaged.append(sha256)
            continue
        if stored_path(target, sha256).exists():
            present += 1
            continue
        store(target, data)
        copied += 1
        size += len(data)
    return Copied(copied, present, size, damaged)


def _sync_directory(directory: Path) -> None:
    """Make a new name in ``directory`` survive a crash, as the row naming it will."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Services --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceFile:
    """One uploaded file as pages and JSON show it."""

    id: int
    question: str
    filename: str
    size: int
    media_type: str
    sha256: str
    uploaded_at: datetime
    uploaded_by: str  # the uploader's name ("" when unknown)

    @property
    def size_text(self) -> str:
        return size_text(self.size)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON answers."""
        return {
            "id": self.id,
            "question": self.question,
            "filename": self.filename,
            "size": self.size,
            "media_type": self.media_type,
            "sha256": self.sha256,
            "uploaded_at": audit.stamp(self.uploaded_at),
            "uploaded_by": self.uploaded_by,
        }


def _not_editable() -> Locked:
    return Locked(
        Problem(
            "not_editable",
            "评估已提交，不能再上传证明材料；只有草稿或被退回的评估可以上传",
            "the assessment has been submitted: evidence can be uploaded only to a draft or to "
            "an assessment returned for changes",
        )
    )


def _unknown_question(question: str) -> NotFound:
    return NotFound(Problem("unknown_question", "问卷中没有该题", "no such question", question))


def may_upload(user: User, a: Assessment) -> bool:
    """Whether ``user`` may add evidence to ``a`` now: a person of its enterprise, while its
    answers may still change."""
    return (
        user.role == Role.enterprise
        and user.enterprise_id == a.enterprise_id
        and Status(a.status).editable
    )


def upload(
    session: Session,
    root: Path,
    max_bytes: int,
    a: Assessment,
    user: User,
    question: str,
    filename: str,
    data: bytes,
) -> Evidence:
    """Keep an uploaded file as evidence for one answer of ``a``; refuse it (writing nothing)
    when the assessment is not open for changes, the question is not in its questionnaire, the
    name is unfit, or the content is empty, too large or not an accepted type.

    The caller has checked that ``user`` may fill in ``a`` (access.fillable_assessment).
    """
    if not Status(a.status).editable:
        raise _not_editable()
    if question not in spec_of(a).index:
        raise _unknown_question(question)
    if not filename and not data:
        raise Invalid(Problem("no_file", "请选择要上传的文件", "choose a file to upload", "file"))
    name = check_filename(filename)
    if not data:
        raise Invalid(
            Problem("empty_file", "文件为空（0 字节）", "the file is empty (0 bytes)", "file")
        )
    if len(data) > max_bytes:
        raise TooLarge(too_large(max_bytes))
    media_type = sniff(data)
    sha256 = store(root, data)
    ev = Evidence(
        assessment_id=a.id or 0,
        question=question,
        sha256=sha256,
        size=len(data),
        media_type=media_type,
        filename=name,
        uploaded_by=user.id,
    )
    session.add(ev)
    session.flush()
    audit.record(
        session,
        "evidence.upload",
        "evidence",
        ev.id,
        actor=user,
        after={
            "assessment_id": a.id,
            "question": question,
            "sha256": sha256,
            "size": len(data),
            "media_type": media_type,
            "filename": name,
        },
    )
    return ev


def evidence_of(
    session: Session, a: Assessment, question: str | None = None
) -> dict[str, list[EvidenceFile]]:
    """The files of an assessment (or of one of its questions), per question, newest first."""
    q = (
        select(Evidence, User)
        .join(User, col(User.id) == col(Evidence.uploaded_by), isouter=True)
        .where(Evidence.assessment_id == a.id)
        .order_by(col(Evidence.question), col(Evidence.uploaded_at).desc(), col(Evidence.id).desc())
    )
    if question is not None:
        q = q.where(Evidence.question == question)
    out: dict[str, list[EvidenceFile]] = {}
    for ev, uploader in session.exec(q):
        who = (uploader.display_name or uploader.username) if uploader else ""
        out.setdefault(ev.question, []).append(
            EvidenceFile(
                id=ev.id or 0,
                question=ev.question,
                filename=ev.filename,
                size=ev.size,
                media_type=ev.media_type,
                sha256=ev.sha256,
                uploaded_at=ev.uploaded_at,
                uploaded_by=who,
            )
        )
    return out


@dataclass(frozen=True)
class Download:
    """A file to send: where it is kept, its type as sniffed, and the name to save it under."""

    path: Path
    media_type: str
    filename: str


def open_evidence(session: Session, root: Path, user: User, evidence_id: int) -> Download:
    """An evidence file for ``user`` to download, after checking they may read the assessment's
    evidence (NotFound otherwise, as for a file that does not exist); records the download."""
    ev = session.get(Evidence, evidence_id)
    if ev is None:
        raise NotFound(Problem("not_found", "证明材料不存在", "no such evidence file"))
    evidence_readable(session, user, ev.assessment_id)
    path = stored_path(root, ev.sha256)
    if not path.is_file():
        raise NotFound(
            Problem(
                "evidence_missing",
                "该证明材料的文件不在存储中，请联系管理员",
                "this evidence file is missing from the store; contact your administrator",
            )
        )
    audit.record(
        session,
        "evidence.download",
        "evidence",
        ev.id,
        actor=user,
        after={"assessment_id": ev.assessment_id, "question": ev.question, "sha256": ev.sha256},
    )
    return Download(path, ev.media_type, download_name(ev.filename, ev.media_type))
