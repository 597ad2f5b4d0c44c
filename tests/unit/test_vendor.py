"""The vendored front-end files must be exactly what web/static/vendor/manifest.json pins.

These tests read only the repository: no network, no import from the project's packages.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

VENDOR_DIR = Path(__file__).resolve().parents[2] / "web/static/vendor"
MANIFEST_PATH = VENDOR_DIR / "manifest.json"
MANIFEST: list[dict[str, str]] = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))

KEYS = {"package", "version", "file", "source", "sha256", "licence", "tarball_integrity"}
# Files in the vendor directory that describe it rather than being vendored.
OWN_FILES = {"manifest.json", "README.md"}
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
SHA512_SRI = re.compile(r"^sha512-[A-Za-z0-9+/]{86}==$")


def is_licence_file(relative: str) -> bool:
    name = Path(relative).name.upper()
    return name.startswith(("LICENSE", "LICENCE", "COPYING"))


def by_file(entries: list[dict[str, str]]) -> list:
    return [pytest.param(e, id=e["file"]) for e in entries]


def test_manifest_vendors_htmx_and_echarts_javascript():
    vendored = {(e["package"], Path(e["file"]).suffix) for e in MANIFEST}
    assert ("htmx.org", ".js") in vendored
    assert ("echarts", ".js") in vendored


@pytest.mark.parametrize("entry", by_file(MANIFEST))
def test_every_manifest_entry_has_exactly_the_documented_fields(entry):
    assert set(entry) == KEYS
    assert all(isinstance(v, str) and v for v in entry.values())


@pytest.mark.parametrize("entry", by_file(MANIFEST))
def test_every_vendored_file_exists(entry):
    assert (VENDOR_DIR / entry["file"]).is_file(), f"{entry['file']} is listed but missing"


@pytest.mark.parametrize("entry", by_file(MANIFEST))
def test_every_vendored_file_matches_its_manifest_checksum(entry):
    actual = hashlib.sha256((VENDOR_DIR / entry["file"]).read_bytes()).hexdigest()
    assert actual == entry["sha256"], (
        f"{entry['file']} differs from the {entry['package']}@{entry['version']} release; "
        "run `python scripts/vendor.py fetch` to restore it"
    )


@pytest.mark.parametrize("entry", by_file(MANIFEST))
def test_every_manifest_path_stays_inside_the_vendor_directory(entry):
    path = Path(entry["file"])
    assert not path.is_absolute()
    assert ".." not in path.parts
    assert entry["source"].startswith("package/"), "npm tarballs keep their files in package/"


@pytest.mark.parametrize("entry", by_file(MANIFEST))
def test_every_manifest_version_is_an_exact_pinned_version(entry):
    assert EXACT_VERSION.match(entry["version"]), (
        f"{entry['file']}: {entry['version']!r} is a range or tag, not an exact version"
    )


def test_every_vendored_package_ships_a_licence_file():
    packages = {(e["package"], e["version"]) for e in MANIFEST}
    licensed = {(e["package"], e["version"]) for e in MANIFEST if is_licence_file(e["file"])}
    assert packages - licensed == set(), "packages vendored without their licence file"


def test_each_package_is_pinned_to_one_version_licence_and_tarball_integrity():
    for package in {e["package"] for e in MANIFEST}:
        entries = [e for e in MANIFEST if e["package"] == package]
        assert len({e["version"] for e in entries}) == 1, package
        assert len({e["licence"] for e in entries}) == 1, package
        integrities = {e["tarball_integrity"] for e in entries}
        assert len(integrities) == 1, package
        assert SHA512_SRI.match(integrities.pop()), f"{package}: expected an npm sha512 SRI"


def test_no_file_in_the_vendor_directory_is_missing_from_the_manifest():
    listed = {e["file"] for e in MANIFEST} | OWN_FILES
    present = {p.relative_to(VENDOR_DIR).as_posix() for p in VENDOR_DIR.rglob("*") if p.is_file()}
    assert present - listed == set(), "unlisted files in web/static/vendor/"
