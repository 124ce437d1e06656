"""WACZ 1.1.1: the original WARC records behind a production, replayable in ReplayWeb.page.

Layout (the WACZ 1.1.1 specification): ``archive/*.warc.gz`` — for each stored WARC the
production draws on, its ``warcinfo`` record and every record that evidences a produced version
or media file, copied byte for byte (gzip members as stored; records of an uncompressed or
whole-file-gzip WARC go, uncompressed and byte-exact, into a ``.warc``). A revisit is never
copied: the original response it refers to is copied instead, so every record is complete.
``indexes/index.cdxj`` is made by ``cdxj-indexer`` (Webrecorder's indexer, as ``py-wacz`` uses),
``pages/pages.jsonl`` has one page per post (its evidence response, at its capture time),
``datapackage.json`` lists every file with its SHA-256 and size, and ``datapackage-digest.json``
holds the SHA-256 of ``datapackage.json`` and its signature.

Signing follows *WACZ Signing and Verification* (anonymous signature), which is what ReplayWeb.page
checks: ECDSA P-384 over the UTF-8 ``hash`` string with SHA-256, the signature in IEEE P1363 form
(r‖s) and the public key as base64 SPKI DER. The spec has no Ed25519 scheme, so each production
gets a fresh P-384 key whose public half is named in the production's chain-of-custody record —
signed with the archive's Ed25519 key — which is the "external key management" the spec asks for.
The private half is discarded once the package is signed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

WACZ_VERSION = "1.1.1"
CURVE_BYTES = 48  # P-384
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


@dataclass(frozen=True)
class ArchiveRecord:
    """One record to copy: its bytes as stored and whether they are a gzip member."""

    source_key: str
    source_name: str
    offset: int
    data: bytes
    gzipped: bool
    record_id: str


@dataclass(frozen=True)
class Page:
    """A ``pages.jsonl`` entry."""

    id: str
    url: str
    ts: datetime
    title: str


@dataclass(frozen=True)
class WaczResult:
    path: Path
    datapackage_sha256: str
    public_key: str
    warc_files: tuple[str, ...]
    records: int
    pages: int


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _archive_names(records: Sequence[ArchiveRecord]) -> dict[str, str]:
    """Source key → file name in ``archive/`` (the source's name when it is a safe one)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for record in records:
        if record.source_key in names:
            continue
        base = record.source_name
        for suffix in (".warc.gz", ".warc"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        if not SAFE_NAME.match(base):
            base = f"source-{len(names) + 1:04d}"
        name = base + (".warc.gz" if record.gzipped else ".warc")
        while name.lower() in used:
            base += "-1"
            name = base + (".warc.gz" if record.gzipped else ".warc")
        used.add(name.lower())
        names[record.source_key] = name
    return names


def sign_hash(private: ec.EllipticCurvePrivateKey, hash_text: str) -> str:
    """Base64 P1363 ECDSA/SHA-256 signature of the UTF-8 ``hash_text`` (what wabac.js verifies)."""
    der = private.sign(hash_text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return base64.b64encode(r.to_bytes(CURVE_BYTES, "big") + s.to_bytes(CURVE_BYTES, "big")).decode()


def verify_signed_data(signed: dict[str, Any]) -> bool:
    """True if an anonymous ``signedData`` block's signature verifies with its public key."""
    try:
        public = serialization.load_der_public_key(base64.b64decode(str(signed["publicKey"])))
        raw = base64.b64decode(str(signed["signature"]))
    except (KeyError, ValueError, TypeError):
        return False
    if not isinstance(public, ec.EllipticCurvePublicKey) or len(raw) != 2 * CURVE_BYTES:
        return False
    der = encode_dss_signature(
        int.from_bytes(raw[:CURVE_BYTES], "big"), int.from_bytes(raw[CURVE_BYTES:], "big")
    )
    try:
        public.verify(der, str(signed.get("hash", "")).encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def write_wacz(
    out: Path,
    records: Iterable[ArchiveRecord],
    pages: Sequence[Page],
    *,
    title: str,
    description: str,
    created: datetime,
    software: str,
) -> WaczResult:
    """Write the WACZ at ``out`` (records are copied in the order given, once each)."""
    from cdxj_indexer.main import CDXJIndexer

    unique: list[ArchiveRecord] = []
    seen: set[str] = set()
    for record in records:
        if record.record_id not in seen:
            seen.add(record.record_id)
            unique.append(record)
    names = _archive_names(unique)
    stamp = created.astimezone(UTC)
    created_text = _rfc3339(stamp)
    with tempfile.TemporaryDirectory(prefix="hp-wacz-") as tmp:
        folder = Path(tmp)
        (folder / "archive").mkdir()
        handles: dict[str, Any] = {}
        try:
            for record in unique:
                name = names[record.source_key]
                if name not in handles:
                    handles[name] = (folder / "archive" / name).open("wb")
                handles[name].write(record.data)
        finally:
            for handle in handles.values():
                handle.close()
        warc_paths = sorted((folder / "archive").iterdir())
        index_path = folder / "index.cdxj"
        CDXJIndexer(output=str(index_path), inputs=[str(p) for p in warc_paths], sort=True).process_all()
        page_lines = [json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"})]
        page_lines += [
            json.dumps(
                {"id": page.id, "url": page.url, "ts": _rfc3339(page.ts), "title": page.title},
                ensure_ascii=False,
            )
            for page in pages
        ]
        pages_bytes = ("\n".join(page_lines) + "\n").encode("utf-8")
        entries: list[tuple[str, bytes | Path]] = [(f"archive/{p.name}", p) for p in warc_paths]
        entries += [("indexes/index.cdxj", index_path), ("pages/pages.jsonl", pages_bytes)]
        resources = [_resource(path, content) for path, content in entries]
        package: dict[str, Any] = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "title": title,
            "description": description,
            "created": created_text,
            "software": software,
            "resources": resources,
        }
        if pages:
            package["mainPageURL"] = pages[0].url
            package["mainPageDate"] = _rfc3339(pages[0].ts)
        package_bytes = json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
        package_hash = "sha256:" + hashlib.sha256(package_bytes).hexdigest()
        private = ec.generate_private_key(ec.SECP384R1())
        public = base64.b64encode(
            private.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).decode()
        digest = {
            "path": "datapackage.json",
            "hash": package_hash,
            "signedData": {
                "hash": package_hash,
                "created": created_text,
                "software": software,
                "signature": sign_hash(private, package_hash),
                "publicKey": public,
            },
        }
        del private
        out.parent.mkdir(parents=True, exist_ok=True)
        date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
        with zipfile.ZipFile(out, "w", allowZip64=True) as archive:
            for path, content in entries:
                info = zipfile.ZipInfo(path, date_time)
                stored = path.startswith("archive/")
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                if isinstance(content, Path):
                    with content.open("rb") as source, archive.open(info, "w") as target:
                        while block := source.read(1 << 20):
                            target.write(block)
                else:
                    archive.writestr(info, content)
            for path, data in (
                ("datapackage.json", package_bytes),
                ("datapackage-digest.json", json.dumps(digest, indent=2).encode("utf-8")),
            ):
                info = zipfile.ZipInfo(path, date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
    return WaczResult(
        path=out,
        datapackage_sha256=package_hash.split(":", 1)[1],
        public_key=public,
        warc_files=tuple(p.name for p in warc_paths),
        records=len(unique),
        pages=len(pages),
    )


def _resource(path: str, content: bytes | Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    if isinstance(content, Path):
        with content.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
                size += len(block)
    else:
        digest.update(content)
        size = len(content)
    return {
        "name": path.rsplit("/", 1)[-1].lower(),
        "path": path,
        "hash": f"sha256:{digest.hexdigest()}",
        "bytes": size,
    }
