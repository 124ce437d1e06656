"""``export_matter``: build one numbered production of a matter, audited and signed.

The production is built in a hidden folder next to its final place (``.PROD0001-…``); the
production row and the ``export`` audit entry commit in one transaction; the signed
chain-of-custody record, which names that entry, is written into the folder before the commit;
only then is the folder renamed to ``PROD0001`` (and zipped if asked). A failure before the
commit leaves nothing behind; a failure between the commit and the rename leaves the hidden
folder, whose name the error gives. Time is the ``as_of`` argument (DESIGN invariant 7).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from hp_archive import __version__
from hp_archive.audit import entry_document
from hp_archive.errors import ConfigError
from hp_archive.index import models as m
from hp_archive.index.db import transaction
from hp_archive.storage.base import ObjectStore, sha256_file

from . import loadfiles
from .evidence import EvidenceReader
from .manifest import CUSTODY_NAME, MANIFEST_NAME, FileDigests, digest_bytes, manifest_bytes, signed_custody
from .produce import (
    DocumentFiles,
    DocumentProducer,
    ExportError,
    ProductionFolder,
    document_record,
    write_package,
)
from .render import RenderContext
from .selection import (
    Bates,
    ProducedItem,
    RecordRef,
    load_items,
    matter_uids,
    number_documents,
    plan_documents,
    resolve_revisits,
)

if TYPE_CHECKING:
    from hp_archive.archive import Archive

FORMATS = ("wacz", "dat", "edrm", "pdf", "native")
DEFAULT_FORMATS = FORMATS
PARALLEL_FROM = 64
MAX_WORKERS = 4
ALREADY_COMPRESSED = (".wacz", ".jpg", ".tif", ".png", ".gif", ".webp", ".mp4", ".gz", ".pdf")


@dataclass(frozen=True)
class ProductionResult:
    """What ``export_matter`` made (its ``--json`` output); ``files`` are relative to ``folder``."""

    name: str
    number: int
    folder: Path
    zip_path: Path | None
    matter: str
    query: str | None
    formats: tuple[str, ...]
    documents: int
    families: int
    pages: int
    bates_first: str
    bates_last: str
    audit_seq: int
    audit_hash: str
    manifest_sha256: str
    files: tuple[tuple[str, FileDigests], ...] = ()
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "production": self.name,
            "number": self.number,
            "folder": str(self.folder),
            "zip": str(self.zip_path) if self.zip_path else None,
            "matter": self.matter,
            "query": self.query,
            "formats": list(self.formats),
            "documents": self.documents,
            "families": self.families,
            "pages": self.pages,
            "bates": {"first": self.bates_first, "last": self.bates_last},
            "audit": {"seq": self.audit_seq, "hash": self.audit_hash},
            "manifest_sha256": self.manifest_sha256,
            "files": len(self.files),
            "warnings": list(self.warnings),
        }


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"wacz,dat"`` or an iterable → the formats in canonical order; ConfigError if unknown."""
    wanted = [part.strip().lower() for part in (value.split(",") if isinstance(value, str) else value)]
    wanted = [part for part in wanted if part]
    unknown = sorted(set(wanted) - set(FORMATS))
    if unknown or not wanted:
        raise ConfigError(
            f"export format(s) {', '.join(unknown) or '(none)'} not known: choose from {','.join(FORMATS)}"
        )
    return tuple(f for f in FORMATS if f in wanted)


def _next_bates(session: Any, prefix: str) -> int:
    last = session.scalar(
        select(func.max(m.Production.bates_last)).where(m.Production.bates_prefix == prefix)
    )
    return int(last) + 1 if last is not None else 1


def _check_overlap(session: Any, bates: Bates, first: int, last: int) -> None:
    for production in session.scalars(
        select(m.Production).where(
            m.Production.bates_prefix == bates.prefix,
            m.Production.bates_first <= last,
            m.Production.bates_last >= first,
        )
    ):
        raise ConfigError(
            f"Bates {bates.label(first)}-{bates.label(last)} overlaps {production.name} "
            f"({bates.label(production.bates_first)}-{bates.label(production.bates_last)}): "
            f"start after {bates.label(production.bates_last)} or use another --bates-prefix"
        )


def export_matter(
    archive: Archive,
    matter: str,
    out_dir: Path,
    *,
    query: str | None = None,
    formats: Iterable[str] = DEFAULT_FORMATS,
    bates_prefix: str = "HPPD",
    width: int = 7,
    bates_start: int | None = None,
    actor: str,
    as_of: datetime,
    make_zip: bool = False,
    workers: int | None = None,
) -> ProductionResult:
    """Produce ``matter`` (narrowed by ``query``) into ``out_dir/PRODnnnn``; audited and signed.

    ``formats`` is a subset of wacz, dat (DAT + OPT), edrm, pdf (page images + searchable PDFs),
    native; TEXT/ and the manifest are always written. Bates numbers continue from the last
    production with the same prefix unless ``bates_start`` is given. ``workers`` processes
    rasterize page images beside the layout (default: one per core, up to 4, for productions of
    64 documents or more; 0 rasterizes in line).
    """
    chosen = parse_formats(list(formats))
    bates = Bates(bates_prefix, width)
    if as_of.tzinfo is None:
        raise ConfigError("as_of must be an aware datetime (UTC)")
    with archive.sessions() as session:
        matter_row = session.get(m.Matter, matter)
        uids = matter_uids(session, matter, query=query, timezone=archive.timezone)
        if not uids:
            raise ExportError(
                f"matter {matter!r} has no items to produce"
                + (f" matching {query!r}" if query else "")
                + ": check its holds with 'hp-archive hold show'"
            )
        items = load_items(session, uids)
        originals = resolve_revisits(
            session,
            [v.record for item in items for v in item.versions]
            + [item.media_record for item in items if item.media_record is not None],
        )
        number = (session.scalar(select(func.max(m.Production.number))) or 0) + 1
        start = bates_start if bates_start is not None else _next_bates(session, bates.prefix)
        _check_overlap(session, bates, start, start)
    title = matter_row.title if matter_row is not None else ""
    name = f"PROD{number:04d}"
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / name
    if final.exists():
        raise ConfigError(f"{final} already exists: choose another --out folder or move it away")
    partial = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out_dir))
    try:
        return _build(
            archive,
            partial=partial,
            final=final,
            name=name,
            number=number,
            matter=matter,
            title=title,
            query=query,
            formats=chosen,
            bates=bates,
            start=start,
            items=items,
            uids=uids,
            originals=originals,
            actor=actor,
            as_of=as_of,
            make_zip=make_zip,
            workers=workers,
        )
    except BaseException:
        if partial.exists() and not final.exists():
            shutil.rmtree(partial, ignore_errors=True)
        raise


def _build(
    archive: Archive,
    *,
    partial: Path,
    final: Path,
    name: str,
    number: int,
    matter: str,
    title: str,
    query: str | None,
    formats: tuple[str, ...],
    bates: Bates,
    start: int,
    items: list[ProducedItem],
    uids: list[str],
    originals: dict[str, RecordRef],
    actor: str,
    as_of: datetime,
    make_zip: bool,
    workers: int | None,
) -> ProductionResult:
    planned = plan_documents(items)
    folder = ProductionFolder(partial)
    context = RenderContext(production=name, matter=matter, timezone=archive.timezone, bates=bates)
    with tempfile.TemporaryDirectory(prefix="hp-export-") as work:
        evidence = EvidenceReader(archive.store, Path(work))
        producer = DocumentProducer(folder, evidence, originals, formats, context)
        if workers is None:
            workers = min(MAX_WORKERS, os.cpu_count() or 1) if len(planned) >= PARALLEL_FROM else 0
        if workers > 0 and "pdf" in formats:
            producer.rasterizer.start(workers)
        produced: list[DocumentFiles] = []
        cursor = start
        try:
            for doc in planned:
                files = producer.produce(doc, cursor)
                produced.append(files)
                cursor += files.pages
        finally:
            producer.rasterizer.finish()
        numbered = number_documents(planned, [f.pages for f in produced], start=start)
        records = [
            document_record(doc, files, bates, folder) for doc, files in zip(numbered, produced, strict=True)
        ]
        if "dat" in formats:
            folder.write(f"DATA/{name}.dat", loadfiles.dat_file(records))
            if "pdf" in formats:
                folder.write(f"DATA/{name}.opt", loadfiles.opt_file(records, name))
        if "edrm" in formats:
            folder.write(f"DATA/{name}.xml", loadfiles.edrm_xml(records, production=name, matter=matter))
        wacz_info = None
        if "wacz" in formats:
            wacz_info = write_package(
                folder, evidence, numbered, produced, name=name, matter=matter, as_of=as_of
            )
        sources = [
            {"key": f.key, "sha256": f.sha256} for f in sorted(evidence.files.values(), key=lambda f: f.key)
        ]
    manifest = manifest_bytes(folder.digests)
    manifest_digest = digest_bytes(manifest)
    (partial / MANIFEST_NAME).write_bytes(manifest)
    last = numbered[-1].last
    counts = {
        "documents": len(numbered),
        "families": len({doc.planned.family for doc in numbered}),
        "pages": sum(doc.pages for doc in numbered),
        "selected_items": len(uids),
        "context_items": sum(1 for doc in numbered if not doc.item.selected),
        "posts": sum(1 for doc in numbered if doc.item.kind == "post"),
        "versions": sum(len(doc.item.versions) for doc in numbered),
        "media_files": sum(len(f.media_paths) for f in produced),
        "files": len(folder.digests),
        "source_warcs": len(sources),
        "wacz_pages": wacz_info.pages if wacz_info else 0,
        "wacz_records": wacz_info.records if wacz_info else 0,
    }
    params = {
        "production": name,
        "matter": matter,
        "query": query,
        "formats": list(formats),
        "bates": {"prefix": bates.prefix, "first": bates.label(start), "last": bates.label(last)},
        "counts": counts,
        "manifest_sha256": manifest_digest.sha256,
        "wacz_datapackage_sha256": wacz_info.datapackage_sha256 if wacz_info else None,
        "folder": str(final),
    }
    with transaction(archive.sessions) as session:
        _check_overlap(session, bates, start, last)
        seq = archive.record("export", target=f"matter:{matter}", params=params, actor=actor, session=session)
        entry = session.scalar(select(m.AuditEntry).where(m.AuditEntry.seq == seq))
        assert entry is not None
        session.add(
            m.Production(
                number=number,
                name=name,
                matter_id=matter,
                query=query,
                formats=list(formats),
                bates_prefix=bates.prefix,
                bates_width=bates.width,
                bates_first=start,
                bates_last=last,
                documents=len(numbered),
                pages=counts["pages"],
                manifest_sha256=manifest_digest.sha256,
                created_at=as_of,
                created_by=actor,
                audit_seq=seq,
            )
        )
        session.flush()
        custody = {
            "production": name,
            "number": number,
            "matter": {"id": matter, "title": title},
            "query": query,
            "formats": list(formats),
            "exported_by": actor,
            "exported_at": as_of.astimezone(UTC).isoformat(),
            "timezone": archive.timezone,
            "software": {"name": "hp-archive", "version": __version__},
            "store": archive.store.url,
            "bates": {
                "prefix": bates.prefix,
                "width": bates.width,
                "first": bates.label(start),
                "last": bates.label(last),
                "first_number": start,
                "last_number": last,
            },
            "counts": counts,
            "sources": sources,
            "wacz": None
            if wacz_info is None
            else {
                "path": f"WACZ/{name}.wacz",
                "datapackage_sha256": wacz_info.datapackage_sha256,
                "public_key": wacz_info.public_key,
                "signature": "WACZ anonymous signature: ECDSA P-384, SHA-256, P1363",
            },
            "manifest": {
                "path": MANIFEST_NAME,
                "sha256": manifest_digest.sha256,
                "files": len(folder.digests),
                "bytes": sum(d.size for d in folder.digests.values()),
            },
            "audit_entry": entry_document(entry),
            "warnings": producer.warnings,
        }
        custody_bytes = signed_custody(archive.signing_key, custody)
        _write_synced(partial / CUSTODY_NAME, custody_bytes)
        audit_hash = entry.hash
    try:
        os.replace(partial, final)
    except OSError as exc:
        raise ExportError(
            f"production {name} is complete and audited (entry {seq}) but could not be moved from "
            f"{partial} to {final}: {exc}; rename that folder by hand"
        ) from exc
    archive.mirror_audit()
    zip_path = _zip(final, as_of) if make_zip else None
    written = {**folder.digests, MANIFEST_NAME: manifest_digest, CUSTODY_NAME: digest_bytes(custody_bytes)}
    return ProductionResult(
        name=name,
        number=number,
        folder=final,
        zip_path=zip_path,
        matter=matter,
        query=query,
        formats=formats,
        documents=len(numbered),
        families=counts["families"],
        pages=counts["pages"],
        bates_first=bates.label(start),
        bates_last=bates.label(last),
        audit_seq=seq,
        audit_hash=audit_hash,
        manifest_sha256=manifest_digest.sha256,
        files=tuple(sorted(written.items())),
        warnings=tuple(producer.warnings),
    )


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _zip(folder: Path, as_of: datetime) -> Path:
    """``PROD0001.zip`` beside the folder, holding ``PROD0001/…``."""
    target = folder.with_suffix(".zip")
    stamp = as_of.astimezone(UTC)
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    partial = target.with_name(f".{target.name}.partial")
    with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", date_time)
            info.compress_type = (
                zipfile.ZIP_STORED if path.name.endswith(ALREADY_COMPRESSED) else zipfile.ZIP_DEFLATED
            )
            with path.open("rb") as source, archive.open(info, "w") as target_stream:
                shutil.copyfileobj(source, target_stream, 1 << 20)
    os.replace(partial, target)
    return target


def publish_production(store: ObjectStore, result: ProductionResult, prefix: str) -> dict[str, Any]:
    """Copy a finished production into ``store`` under ``prefix/PRODnnnn/`` (write-once).

    Every file's SHA-256 comes from the production's own manifest, so the store verifies the
    upload against the digests the signed manifest states; a re-run after a partial upload skips
    the files already stored with the same digest. Returns where it went and the manifest digest.
    """
    base = "/".join(part for part in prefix.strip().strip("/").split("/") if part)
    if not base or any(part in (".", "..") for part in base.split("/")):
        raise ConfigError(f"destination {prefix!r} is not an object-store prefix such as 'productions/2026'")
    root = f"{base}/{result.name}"
    uploaded = skipped = 0
    for relative, digests in result.files:
        key = f"{root}/{relative}"
        stored = store.head(key)
        if stored is not None and stored.sha256 == digests.sha256:
            skipped += 1
            continue
        store.put_file(key, result.folder / relative, sha256=digests.sha256)
        uploaded += 1
    if result.zip_path is not None:
        digest = sha256_file(result.zip_path)
        key = f"{base}/{result.zip_path.name}"
        stored = store.head(key)
        if stored is None or stored.sha256 != digest:
            store.put_file(key, result.zip_path, sha256=digest, content_type="application/zip")
    return {
        "prefix": root,
        "files": len(result.files),
        "uploaded": uploaded,
        "already_stored": skipped,
        "manifest_sha256": result.manifest_sha256,
    }
