"""MANIFEST and chain of custody: what a production holds, and who made it from what, signed.

``MANIFEST.tsv`` lists every file of the production folder except itself and the custody record:
relative path (``/`` separators), size in bytes, MD5, SHA-1 and SHA-256, sorted by path; UTF-8,
LF line ends, a header row. ``CHAIN_OF_CUSTODY.json`` names the matter, the query, who exported,
when, the counts, the software version, the Bates range, the source WARCs (with the SHA-256 each
was verified against), the WACZ signing key, the manifest's SHA-256, and the audit-log entry the
export wrote — in full, so its hash can be recomputed offline — and is signed with the archive's
Ed25519 key (:meth:`hp_archive.audit.SigningKey.sign_document`). It is written as canonical JSON
(sorted keys, no spaces) so that not one byte of it can change without the signature failing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hp_archive.audit import SigningKey, canonical_json

MANIFEST_NAME = "MANIFEST.tsv"
CUSTODY_NAME = "CHAIN_OF_CUSTODY.json"
CUSTODY_PROFILE = "hp-archive/production-custody/1"
MANIFEST_HEADER = ("path", "bytes", "md5", "sha1", "sha256")
CHUNK = 1 << 20


@dataclass(frozen=True)
class FileDigests:
    size: int
    md5: str
    sha1: str
    sha256: str


def digest_bytes(data: bytes) -> FileDigests:
    return FileDigests(
        len(data),
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
        hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )


def digest_file(path: Path) -> FileDigests:
    """Size, MD5, SHA-1 and SHA-256 of a file in one read."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha1 = hashlib.sha1(usedforsecurity=False)
    sha256 = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while block := stream.read(CHUNK):
            md5.update(block)
            sha1.update(block)
            sha256.update(block)
            size += len(block)
    return FileDigests(size, md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest())


def manifest_bytes(entries: Mapping[str, FileDigests]) -> bytes:
    """The manifest for ``entries`` (relative path → digests)."""
    lines = ["\t".join(MANIFEST_HEADER)]
    for path in sorted(entries):
        d = entries[path]
        lines.append(f"{path}\t{d.size}\t{d.md5}\t{d.sha1}\t{d.sha256}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def parse_manifest(data: bytes) -> dict[str, FileDigests]:
    """Entries of a manifest; ValueError naming the line when it is malformed."""
    lines = data.decode("utf-8").split("\n")
    if not lines or tuple(lines[0].split("\t")) != MANIFEST_HEADER:
        raise ValueError(f"first line is not the header {' '.join(MANIFEST_HEADER)}")
    if lines[-1] != "":
        raise ValueError("the last line does not end with a line feed")
    out: dict[str, FileDigests] = {}
    for number, line in enumerate(lines[1:-1], start=2):
        parts = line.split("\t")
        if len(parts) != 5 or not parts[1].isdigit():
            raise ValueError(f"line {number} is not path, bytes, md5, sha1, sha256")
        if parts[0] in out:
            raise ValueError(f"line {number} lists {parts[0]} a second time")
        out[parts[0]] = FileDigests(int(parts[1]), parts[2], parts[3], parts[4])
    return out


def files_under(folder: Path) -> Iterable[str]:
    """Relative paths (``/`` separators) of every file below ``folder``."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() or path.is_symlink():
            yield path.relative_to(folder).as_posix()


def signed_custody(key: SigningKey, document: Mapping[str, Any]) -> bytes:
    """The custody record signed with the archive key, as canonical JSON bytes."""
    return canonical_json(key.sign_document({"profile": CUSTODY_PROFILE, **document}))
