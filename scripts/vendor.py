#!/usr/bin/env python3
"""Verify or re-fetch the vendored front-end files listed in web/static/vendor/manifest.json.

The files under web/static/vendor/ are unmodified releases from the npm registry (htmx and
Apache ECharts), kept in the repository because intranet deployments are offline and there is no
build step. The manifest pins, for every file, the package, its exact version, the path inside the
npm tarball, the file's sha256 and the tarball's npm integrity string.

    python scripts/vendor.py verify   # every listed file exists and matches its sha256
    python scripts/vendor.py fetch    # re-download the pinned tarballs with `npm pack`, check
                                      # their integrity and the files' sha256, then write them

`fetch` never changes a version. To upgrade, a person edits the manifest (version, sha256 and
tarball_integrity, the latter from `npm view <package>@<version> dist.integrity`), runs `fetch`,
and reviews the result. Standard library only; `fetch` needs `npm` on PATH (or in $NPM).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = ROOT / "web" / "static" / "vendor"
MANIFEST = VENDOR_DIR / "manifest.json"

KEYS = ("package", "version", "file", "source", "sha256", "licence", "tarball_integrity")
# An exact semver version: no ranges, tags or wildcards.
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# Subresource-integrity algorithms, weakest first; npm uses sha512.
SRI_ALGORITHMS = ("sha256", "sha384", "sha512")
NPM_TIMEOUT_SECONDS = 600


class VendorError(Exception):
    """A problem that stops verify or fetch; the message is shown to the user."""


@dataclass(frozen=True)
class Entry:
    """One vendored file as listed in the manifest."""

    package: str
    version: str
    file: str
    source: str
    sha256: str
    licence: str
    tarball_integrity: str

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


def load_manifest(manifest: Path = MANIFEST) -> list[Entry]:
    """Read and sanity-check the manifest; raise VendorError with the first problem found."""
    try:
        raw = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise VendorError(f"manifest not found: {manifest}") from exc
    except json.JSONDecodeError as exc:
        raise VendorError(f"manifest is not valid JSON: {manifest}: {exc}") from exc
    if not isinstance(raw, list) or not raw:
        raise VendorError(f"manifest must be a non-empty JSON list: {manifest}")

    entries: list[Entry] = []
    for i, item in enumerate(raw):
        where = f"manifest entry {i}"
        if not isinstance(item, dict):
            raise VendorError(f"{where} is not an object")
        missing = [k for k in KEYS if not isinstance(item.get(k), str) or not item[k]]
        if missing:
            raise VendorError(f"{where} lacks string field(s): {', '.join(missing)}")
        entry = Entry(**{k: item[k] for k in KEYS})
        if not EXACT_VERSION.match(entry.version):
            raise VendorError(f"{where} ({entry.file}): version {entry.version!r} is not exact")
        if not SHA256_HEX.match(entry.sha256):
            raise VendorError(f"{where} ({entry.file}): sha256 is not 64 lowercase hex digits")
        parse_integrity(entry.tarball_integrity)  # raises on a malformed string
        entries.append(entry)

    seen: set[str] = set()
    for entry in entries:
        if entry.file in seen:
            raise VendorError(f"manifest lists {entry.file} twice")
        seen.add(entry.file)
    for spec, group in group_by_package(entries).items():
        if len({e.tarball_integrity for e in group}) != 1:
            raise VendorError(f"manifest gives {spec} more than one tarball_integrity")
    return entries


def group_by_package(entries: list[Entry]) -> dict[str, list[Entry]]:
    """Entries grouped by package@version, in manifest order."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.spec, []).append(entry)
    return groups


def target_path(entry: Entry, vendor_dir: Path = VENDOR_DIR) -> Path:
    """Where an entry's file lives; refuses paths that would leave the vendor directory."""
    rel = Path(entry.file)
    if rel.is_absolute() or ".." in rel.parts:
        raise VendorError(f"manifest file path must be relative and inside vendor/: {entry.file}")
    return vendor_dir / rel


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_integrity(sri: str) -> list[tuple[str, str]]:
    """Split an SRI string ("sha512-<base64> ...") into (algorithm, base64 digest) pairs."""
    pairs: list[tuple[str, str]] = []
    for token in sri.split():
        algorithm, sep, value = token.partition("-")
        if not sep or algorithm not in SRI_ALGORITHMS or not value:
            raise VendorError(f"unsupported or malformed tarball_integrity: {sri!r}")
        pairs.append((algorithm, value.split("?", 1)[0]))
    if not pairs:
        raise VendorError("empty tarball_integrity")
    return pairs


def integrity_matches(data: bytes, sri: str) -> bool:
    """True when data matches a digest of the strongest algorithm named in the SRI string."""
    pairs = parse_integrity(sri)
    strongest = max((a for a, _ in pairs), key=SRI_ALGORITHMS.index)
    actual = base64.b64encode(hashlib.new(strongest, data).digest()).decode("ascii")
    return any(a == strongest and v == actual for a, v in pairs)


def verify(entries: list[Entry], vendor_dir: Path = VENDOR_DIR) -> int:
    """Check each listed file against its sha256; print one line per file; return an exit code."""
    failures = 0
    for entry in entries:
        path = target_path(entry, vendor_dir)
        if not path.is_file():
            print(f"MISSING   {entry.file}  ({entry.spec}: {entry.source})")
            failures += 1
            continue
        actual = sha256_file(path)
        if actual != entry.sha256:
            print(f"MISMATCH  {entry.file}  expected sha256 {entry.sha256}, found {actual}")
            failures += 1
        else:
            print(f"ok        {entry.file}  {entry.spec}  sha256 {actual}")
    if failures:
        print(
            f"vendor verify FAILED: {failures} of {len(entries)} file(s) missing or changed. "
            "Vendored files must be unmodified releases; restore them with "
            "`python scripts/vendor.py fetch`.",
            file=sys.stderr,
        )
        return 1
    print(f"vendor verify: all {len(entries)} file(s) match the manifest")
    return 0


def npm_executable() -> str:
    npm = os.environ.get("NPM") or shutil.which("npm")
    if not npm:
        raise VendorError("npm not found on PATH (set $NPM to its path); fetch needs it")
    return npm


def npm_pack(spec: str, workdir: Path) -> Path:
    """Download the tarball of an exact package@version into workdir and return its path."""
    try:
        result = subprocess.run(
            [npm_executable(), "pack", spec, "--ignore-scripts"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise VendorError(f"npm pack {spec} timed out after {NPM_TIMEOUT_SECONDS}s") from exc
    if result.returncode != 0:
        raise VendorError(f"npm pack {spec} failed:\n{result.stderr.strip()}")
    tarballs = sorted(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise VendorError(f"npm pack {spec} left {len(tarballs)} tarballs, expected one")
    return tarballs[0]


def read_member(tarball: tarfile.TarFile, name: str, spec: str) -> bytes:
    """The bytes of one regular file in the tarball, read without extracting to disk."""
    try:
        member = tarball.getmember(name)
    except KeyError as exc:
        raise VendorError(f"{spec}: tarball has no {name}") from exc
    if not member.isfile():
        raise VendorError(f"{spec}: {name} in the tarball is not a regular file")
    handle = tarball.extractfile(member)
    if handle is None:
        raise VendorError(f"{spec}: cannot read {name} from the tarball")
    with handle:
        return handle.read()


def fetch(entries: list[Entry], vendor_dir: Path = VENDOR_DIR) -> int:
    """Re-download every pinned package, check it, and only then write the listed files."""
    verified: list[tuple[Entry, bytes]] = []
    with tempfile.TemporaryDirectory(prefix="vendor-fetch-") as tmp:
        for index, (spec, group) in enumerate(group_by_package(entries).items()):
            workdir = Path(tmp) / str(index)
            workdir.mkdir()
            print(f"fetching  {spec}")
            tgz = npm_pack(spec, workdir)
            if not integrity_matches(tgz.read_bytes(), group[0].tarball_integrity):
                raise VendorError(
                    f"{spec}: tarball integrity does not match the manifest "
                    f"({group[0].tarball_integrity}); nothing was written"
                )
            print(f"ok        {spec}  tarball integrity {group[0].tarball_integrity}")
            with tarfile.open(tgz, "r:gz") as tarball:
                for entry in group:
                    data = read_member(tarball, entry.source, spec)
                    actual = sha256_bytes(data)
                    if actual != entry.sha256:
                        raise VendorError(
                            f"{spec}: {entry.source} has sha256 {actual}, manifest says "
                            f"{entry.sha256}; nothing was written"
                        )
                    verified.append((entry, data))

    for entry, data in verified:
        path = target_path(entry, vendor_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, path)
        print(f"wrote     {entry.file}  from {entry.spec}:{entry.source}  sha256 {entry.sha256}")
    print(
        f"vendor fetch: wrote {len(verified)} file(s) from {len(group_by_package(entries))} "
        "package(s)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify or re-fetch the vendored front-end files (web/static/vendor/)."
    )
    parser.add_argument(
        "command",
        choices=("verify", "fetch"),
        help="verify: check sha256 of every listed file; "
        "fetch: re-download the pinned versions with npm pack, check, and write them",
    )
    parser.add_argument(
        "--manifest", type=Path, default=MANIFEST, help="manifest path (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    vendor_dir = args.manifest.resolve().parent
    try:
        entries = load_manifest(args.manifest)
        if args.command == "verify":
            return verify(entries, vendor_dir)
        return fetch(entries, vendor_dir)
    except VendorError as exc:
        print(f"vendor {args.command} FAILED: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
