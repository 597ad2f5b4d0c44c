"""What an evidence file is, read from its content, and which file names are kept.

Every file here is built in the test the way its format defines it: a PDF header, a PNG with
its chunks and checksums, Office Open XML packages written with zipfile and openpyxl,
OpenDocument packages, and compound files (the older Word, Excel and PowerPoint format) with
their allocation table and directory.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from openpyxl import Workbook

from assess.certification import evidence as ev
from assess.errors import Invalid

# --- Builders ---------------------------------------------------------------------------------


def pdf() -> bytes:
    body = b"1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n"
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + body + b"%%EOF\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png() -> bytes:
    """A real 1×1 grey PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def gif() -> bytes:
    screen = struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\xff\xff\xff\x00\x00\x00"
    image = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02D\x01\x00"
    return b"GIF89a" + screen + image + b";"


def webp() -> bytes:
    chunk = b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00\x00"
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


OOXML_MAIN = {
    "docx": ("word/document.xml", "wordprocessingml.document.main+xml"),
    "pptx": ("ppt/presentation.xml", "presentationml.presentation.main+xml"),
}


def ooxml(main_part: str, content_type: str, *, include_main: bool = True) -> bytes:
    """An Office Open XML package with one main part declared in [Content_Types].xml."""
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{main_part}" ContentType="{content_type}"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'relationships/officeDocument" Target="{main_part}"/></Relationships>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", rels)
        if include_main:
            z.writestr(main_part, '<?xml version="1.0"?><document/>')
    return buf.getvalue()


def office(kind: str) -> bytes:
    part, suffix = OOXML_MAIN[kind]
    return ooxml(part, "application/vnd.openxmlformats-officedocument." + suffix)


def xlsx() -> bytes:
    wb = Workbook()
    wb.active["A1"] = "研发投入"
    wb.active["B1"] = 1200
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def opendocument(mimetype: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", '<?xml version="1.0"?><office:document-content/>')
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest/>')
    return buf.getvalue()


FREE, END, FAT_SECTOR = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD


def _dir_entry(name: str, kind: int) -> bytes:
    raw = name.encode("utf-16-le") + b"\x00\x00"
    entry = raw.ljust(64, b"\x00") + struct.pack("<HBB", len(raw), kind, 1)
    entry += struct.pack("<III", FREE, FREE, FREE)  # left, right, child
    entry += b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16  # class id, state bits, times
    entry += struct.pack("<IQ", END, 0)  # start sector, size
    return entry.ljust(128, b"\x00")


def compound(*streams: str) -> bytes:
    """A compound file of 512-byte sectors: sector 0 the allocation table, sector 1 the
    directory (a root entry and one entry per stream name)."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHH", header, 0x18, 0x3E, 3, 0xFFFE)  # versions, byte order
    struct.pack_into("<HH", header, 0x1E, 9, 6)  # sector and mini-sector shifts
    struct.pack_into("<IIII", header, 0x2C, 1, 1, 0, 4096)  # FAT sectors, dir start, -, cutoff
    struct.pack_into("<IIII", header, 0x3C, END, 0, END, 0)  # mini FAT, DIFAT: none
    struct.pack_into("<109I", header, 0x4C, 0, *([FREE] * 108))
    fat = struct.pack("<128I", FAT_SECTOR, END, *([FREE] * 126))
    entries = [_dir_entry("Root Entry", 5)] + [_dir_entry(n, 2) for n in streams]
    directory = b"".join(entries).ljust(512, b"\x00")
    assert len(directory) == 512
    return bytes(header) + fat + directory


# --- Accepted types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (pdf(), ev.PDF),
        (png(), ev.PNG),
        (jpeg(), ev.JPEG),
        (gif(), ev.GIF),
        (webp(), ev.WEBP),
        (office("docx"), ev.DOCX),
        (xlsx(), ev.XLSX),
        (office("pptx"), ev.PPTX),
        (opendocument("application/vnd.oasis.opendocument.text"), ev.ODT),
        (opendocument("application/vnd.oasis.opendocument.spreadsheet"), ev.ODS),
        (compound("WordDocument", "1Table", "\x05SummaryInformation"), ev.DOC),
        (compound("Workbook", "\x05DocumentSummaryInformation"), ev.XLS),
        (compound("Book"), ev.XLS),
        (compound("PowerPoint Document", "Current User"), ev.PPT),
    ],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_accepted_files_are_known_by_their_content(data: bytes, media_type: str) -> None:
    assert ev.sniff(data) == media_type


def test_the_name_does_not_decide_the_type_the_content_does() -> None:
    # A spreadsheet is a spreadsheet, and a PDF a PDF, whatever the browser or the name says.
    assert ev.sniff(xlsx()) == ev.XLSX
    assert ev.download_name("表格.pdf", ev.XLSX) == "表格.pdf.xlsx"
    assert ev.download_name("scan", ev.PDF) == "scan.pdf"
    assert ev.download_name("photo.JPEG", ev.JPEG) == "photo.JPEG"


# --- Refused types ----------------------------------------------------------------------------


def _refusal(data: bytes) -> str:
    with pytest.raises(ev.Unsupported) as exc:
        ev.sniff(data)
    assert exc.value.status == 415
    problem = exc.value.first
    assert "PDF" in problem.zh and "PDF" in problem.en  # every refusal says what is accepted
    return problem.code


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + struct.pack("<HH", 2, 0x3E)
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 46 + b"PE\x00\x00"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (PE, "type_executable"),
        (ELF, "type_executable"),
        (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24, "type_executable"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x02", "type_executable"),
        (b"#!/bin/sh\nrm -rf /\n", "type_executable"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "type_html"),
        (b"\n  <html lang='zh'><script>alert(1)</script></html>", "type_html"),
        (b"\xef\xbb\xbf<script>alert(1)</script>", "type_html"),
        ("<html><body>证明</body></html>".encode("utf-16"), "type_html"),
        (b"<p>a paragraph", "type_html"),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>',
            "type_svg",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "type_svg"),
        (b'<?xml version="1.0"?><!-- a drawing --><svg/>', "type_svg"),
        (b'<?xml version="1.0"?><report><item/></report>', "type_xml"),
        (b"plain text notes\n", "type_unknown"),
        (b"\x00\x01\x02\x03", "type_unknown"),
        (b"PKG notes, not an archive", "type_unknown"),
    ],
)
def test_refused_files_say_what_they_were_taken_for(data: bytes, code: str) -> None:
    assert _refusal(data) == code


def _zip(**members: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(name.replace("__", "/"), content)
    return buf.getvalue()


def test_an_archive_that_is_not_an_office_document_is_refused() -> None:
    assert _refusal(_zip(**{"readme.txt": b"hi", "setup.exe": PE})) == "type_zip"
    # Declares a Word document, but the document itself is not in the package.
    part, suffix = OOXML_MAIN["docx"]
    content_type = "application/vnd.openxmlformats-officedocument." + suffix
    assert _refusal(ooxml(part, content_type, include_main=False)) == "type_zip"
    # An OpenDocument type the product does not take, and one without its content.
    assert _refusal(opendocument("application/vnd.oasis.opendocument.graphics")) == "type_zip"
    assert _refusal(_zip(mimetype=b"application/vnd.oasis.opendocument.text")) == "type_zip"
    # A broken archive: the start of a real one, cut short.
    assert _refusal(office("docx")[:200]) == "type_zip"


def test_office_documents_with_macros_are_refused() -> None:
    macro = "application/vnd.ms-word.document.macroEnabled.main+xml"
    assert _refusal(ooxml("word/document.xml", macro)) == "type_macro"


def test_an_archive_is_checked_without_inflating_it() -> None:
    # [Content_Types].xml inflating to 64 MB from a few kilobytes: refused after reading a
    # bounded prefix, not expanded.
    bomb = _zip(**{"[Content_Types].xml": b"<" + b" " * (64 * 1024 * 1024)})
    assert len(bomb) < 200_000
    assert _refusal(bomb) == "type_zip"
    entity = b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaa">]><Types>&a;</Types>'
    assert _refusal(_zip(**{"[Content_Types].xml": entity, "word__document.xml": b"<d/>"})) == (
        "type_zip"
    )


def test_a_compound_file_that_is_not_word_excel_or_powerpoint_is_refused() -> None:
    # An installer package is a compound file too.
    assert _refusal(compound("\u4840\u3b3f\u4577\u446c", "SummaryInformation")) == "type_ole"
    assert _refusal(compound()) == "type_ole"
    # Only the header: its directory lies outside the file.
    assert _refusal(compound("WordDocument")[:512]) == "type_ole"
    # A directory chain that loops back on itself.
    looping = bytearray(compound("Data"))
    struct.pack_into("<I", looping, 512 + 4, 1)  # sector 1 (the directory) → sector 1
    assert _refusal(bytes(looping)) == "type_ole"


# --- Sizes ------------------------------------------------------------------------------------


def test_the_size_limit_is_stated_in_megabytes() -> None:
    problem = ev.too_large(20 * ev.MIB)
    assert "20 MB" in problem.zh and "20 MB" in problem.en
    assert ev.mb_text(ev.MIB // 2) == "0.5"
    assert [ev.size_text(n) for n in (512, 35 * 1024, 3 * ev.MIB // 2)] == [
        "512 B",
        "35 KB",
        "1.5 MB",
    ]


# --- File names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "营业执照（2020）.pdf",
        "研发投入明细 2020.xlsx",
        "report_v2 (final).docx",
        "a" * 196 + ".pdf",
    ],
)
def test_ordinary_names_are_kept_as_they_are(name: str) -> None:
    assert ev.check_filename(name) == name


def test_names_are_kept_in_composed_form() -> None:
    decomposed = "re\u0301sume\u0301.pdf"
    assert ev.check_filename(decomposed) == "r\u00e9sum\u00e9.pdf"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "name_empty"),
        ("   ", "name_empty"),
        ("../etc/passwd.pdf", "name_path"),
        ("../../evil.pdf", "name_path"),
        ("reports/2020.pdf", "name_path"),
        ("C:\\Users\\me\\scan.pdf", "name_path"),
        ("..", "name_path"),
        ("..hidden.pdf", "name_path"),
        ("invoice\u202efdp.exe", "name_characters"),  # shows as "invoiceexe.pdf"
        ("report\u200b.pdf", "name_characters"),  # zero-width space
        ("report\u2066.pdf", "name_characters"),  # bidi isolate
        ("report\x00.pdf", "name_characters"),
        ("line\nbreak.pdf", "name_characters"),
        ("a\u2028b.pdf", "name_characters"),  # line separator
        ("private\ue000.pdf", "name_characters"),
        ("unassigned\u0378.pdf", "name_characters"),
        ("surrogate\udc80.pdf", "name_characters"),
        ("a" * 197 + ".pdf", "name_too_long"),
    ],
)
def test_unfit_names_are_refused_not_cleaned(name: str, code: str) -> None:
    with pytest.raises(Invalid) as exc:
        ev.check_filename(name)
    assert exc.value.status == 422
    assert exc.value.first.code == code
    assert exc.value.first.zh and exc.value.first.en
