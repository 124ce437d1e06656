"""Writing one production's files: natives, media, page images, text, and the WACZ inputs.

:class:`DocumentProducer` writes each document's files in Bates order; :class:`Rasterizer` turns
rendered PDFs into page images beside it; :class:`ProductionFolder` records the digests of every
file written so the manifest never re-reads them; :func:`document_record` is what the load files
say of a document; :func:`write_package` gathers the original records and pages for the WACZ.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hp_archive import __version__
from hp_archive.errors import HPArchiveError

from . import loadfiles, natives, text, wacz
from .evidence import EvidenceReader
from .manifest import FileDigests, digest_bytes, digest_file
from .render import PageImage, RenderContext, Thumbnail, rasterize, render_document
from .selection import Bates, NumberedDocument, PlannedDocument, RecordRef

FOLDER_SIZE = 1000
SOFTWARE = f"hp-archive {__version__}"


class ExportError(HPArchiveError):
    """A production could not be built."""


@dataclass
class ProductionFolder:
    """The production folder being written, with the digest of every file written to it."""

    root: Path
    digests: dict[str, FileDigests] = field(default_factory=dict)

    def write(self, relative: str, data: bytes) -> FileDigests:
        if relative in self.digests:
            return self.digests[relative]
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digests = digest_bytes(data)
        self.digests[relative] = digests
        return digests

    def add(self, relative: str) -> FileDigests:
        digests = digest_file(self.root / relative)
        self.digests[relative] = digests
        return digests


@dataclass
class DocumentFiles:
    """What was written for one document while it was produced."""

    native_path: str = ""
    native_type: str = "none"
    native: FileDigests | None = None
    mime_type: str = ""
    version_paths: list[str] = field(default_factory=list)
    media_paths: list[str] = field(default_factory=list)
    response_paths: list[str] = field(default_factory=list)
    records: list[RecordRef] = field(default_factory=list)
    pdf_path: str = ""
    image_paths: list[str] = field(default_factory=list)
    pages: int = 1
    current_record: RecordRef | None = None


class Rasterizer:
    """Turns rendered PDFs into page images, in worker processes when the production is large.

    Rasterizing (PDFium, then Pillow's Group IV / JPEG encoders) is over half of the work and does
    not affect Bates numbering, so the next document is laid out while earlier ones are
    rasterized. The workers are forked once, up front, before any other thread exists (PDFium is
    not thread-safe, and forking a process with running threads is not safe either); where fork
    is not available one background thread is used. Images are written in submission order.
    """

    def __init__(self, folder: ProductionFolder) -> None:
        self.folder = folder
        self.pool: Executor | None = None
        self.in_flight = 0
        self.pending: deque[tuple[Future[list[PageImage]], list[str], list[str]]] = deque()

    def start(self, workers: int) -> None:
        if sys.platform.startswith("linux"):
            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
            self.pool.submit(int).result()  # forks every worker now
        else:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="hp-rasterize")
            workers = 1
        self.in_flight = 4 * workers

    def submit(self, pdf: bytes, colour: bool, stems: list[str], paths: list[str]) -> None:
        if self.pool is None:
            self._write(rasterize(pdf, colour=colour), stems, paths)
            return
        self.pending.append((self.pool.submit(rasterize, pdf, colour=colour), stems, paths))
        while len(self.pending) > self.in_flight:
            self._collect()

    def _collect(self) -> None:
        future, stems, paths = self.pending.popleft()
        self._write(future.result(), stems, paths)

    def _write(self, images: list[PageImage], stems: list[str], paths: list[str]) -> None:
        if len(images) != len(stems):
            raise ExportError(f"{stems[0]}: the PDF has {len(stems)} pages but {len(images)} were rasterized")
        for stem, image in zip(stems, images, strict=True):
            path = stem + image.extension
            self.folder.write(path, image.data)
            paths.append(path)

    def finish(self) -> None:
        try:
            while self.pending:
                self._collect()
        finally:
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)
                self.pool = None


class DocumentProducer:
    """Writes natives, media, renderings and text of each document, in Bates order."""

    def __init__(
        self,
        folder: ProductionFolder,
        evidence: EvidenceReader,
        originals: dict[str, RecordRef],
        formats: Sequence[str],
        context: RenderContext,
    ) -> None:
        self.folder = folder
        self.evidence = evidence
        self.originals = originals
        self.formats = formats
        self.context = context
        self.indexes: dict[str, natives.ObjectIndex | None] = {}
        self.warnings: list[str] = []
        self.rasterizer = Rasterizer(folder)

    def original(self, ref: RecordRef) -> RecordRef | None:
        if ref.rec_type != "revisit":
            return ref
        return self.originals.get(ref.record_id)

    def produce(self, doc: PlannedDocument, first: int) -> DocumentFiles:
        bates = self.context.bates
        label = bates.label(first)
        sub = f"{(first - 1) // FOLDER_SIZE + 1:04d}"
        out = DocumentFiles()
        item = doc.item
        write = "native" in self.formats
        thumbs: list[Thumbnail] = []
        if item.kind == "media" and item.media_record is not None:
            data, content_type = self._media(item.media_record, out)
            out.native_type, out.mime_type = "media", content_type
            thumbs.append(Thumbnail("Media", data, content_type))
            if data is not None and write:
                out.native_path = f"NATIVES/{sub}/{label}{natives.extension_for(content_type)}"
                out.native = self.folder.write(out.native_path, data)
        for version in item.versions:
            original = self.original(version.record)
            if original is None:
                self.warnings.append(
                    f"{label}: version {version.number} of {item.uid} is evidenced by revisit "
                    f"{version.record.record_id}, whose original is not archived"
                )
                continue
            out.records.append(original)
            body = self.evidence.body(original)
            content_type = self.evidence.message(original).content_type
            if original.record_id not in self.indexes:
                self.indexes[original.record_id] = natives.index_objects(body)
            found = natives.item_object(body, self.indexes[original.record_id], item.native_id)
            ext = natives.extension_for(content_type)
            current = version is item.versions[-1]
            if current:
                out.current_record = original
                if out.native_type != "media":
                    out.native_type = "object" if found is not None else "response"
                    out.mime_type = content_type
            if not write:
                continue
            name = f"{label}{ext}" if current else f"{label}_v{version.number}{ext}"
            path = f"NATIVES/{sub}/{name}"
            digests = self.folder.write(path, found if found is not None else body)
            response = f"NATIVES/RESPONSES/{digest_bytes(body).sha256}{ext}"
            self.folder.write(response, body)
            if response not in out.response_paths:
                out.response_paths.append(response)
            if not current:
                out.version_paths.append(path)
            elif out.native_type != "media":
                out.native_path, out.native = path, digests
        for index, media in enumerate(doc.media, start=1):
            caption = f"Media {index}"
            if media.media_record is None:
                thumbs.append(Thumbnail(caption, None, ""))
                continue
            data, content_type = self._media(media.media_record, out)
            path = f"NATIVES/{sub}/{label}_m{index}{natives.extension_for(content_type)}"
            if data is not None and write:
                self.folder.write(path, data)
                out.media_paths.append(path)
                caption += f" ({path.rsplit('/', 1)[-1]})"
            thumbs.append(Thumbnail(caption, data, content_type))
        if "pdf" in self.formats:
            rendered = render_document(item, doc.context, thumbs, first=first, context=self.context)
            out.pages = rendered.pages
            out.pdf_path = f"IMAGES/{sub}/{label}.pdf"
            self.folder.write(out.pdf_path, rendered.pdf)
            pages = [f"IMAGES/{sub}/{bates.label(first + page)}" for page in range(rendered.pages)]
            self.rasterizer.submit(rendered.pdf, rendered.has_pictures, pages, out.image_paths)
        return out

    def _media(self, ref: RecordRef, out: DocumentFiles) -> tuple[bytes | None, str]:
        """The media bytes and type, from the original record (which the WACZ will hold)."""
        original = self.original(ref)
        if original is None:
            self.warnings.append(f"media record {ref.record_id} is a revisit whose original is not archived")
            return None, ""
        out.records.append(original)
        return self.evidence.body(original), self.evidence.message(original).content_type


def document_record(
    doc: NumberedDocument, files: DocumentFiles, bates: Bates, folder: ProductionFolder
) -> loadfiles.DocumentRecord:
    item = doc.item
    text_path = f"TEXT/{(doc.first - 1) // FOLDER_SIZE + 1:04d}/{bates.label(doc.first)}.txt"
    text_digests = folder.write(
        text_path,
        text.document_text(doc, begin=bates.label(doc.first), end=bates.label(doc.last)).encode("utf-8"),
    )
    return loadfiles.DocumentRecord(
        begbates=bates.label(doc.first),
        endbates=bates.label(doc.last),
        begattach=bates.label(doc.family_first),
        endattach=bates.label(doc.family_last),
        parentbates=bates.label(doc.parent_first) if doc.parent_first else "",
        custodian=item.account,
        platform=item.platform,
        kind=item.kind,
        author=item.author_name or "",
        author_id=item.author_id or "",
        item_id=item.uid,
        date_created=item.created_at,
        date_captured=item.first_seen_at,
        date_last_seen=item.last_seen_at,
        date_deleted=item.deleted_observed_at,
        status=item.status,
        url=item.url or "",
        versions=len(item.versions),
        pages=doc.pages,
        selected=item.selected,
        native_path=files.native_path,
        native_type=files.native_type,
        native=files.native,
        mime_type=files.mime_type,
        text_path=text_path,
        text=text_digests,
        pdf_path=files.pdf_path,
        image_paths=tuple(files.image_paths),
        version_paths=tuple(files.version_paths),
        media_paths=tuple(files.media_paths),
        response_paths=tuple(files.response_paths),
        warc_records=tuple(dict.fromkeys(r.record_id for r in files.records)),
        images=tuple(folder.digests[p] for p in files.image_paths),
    )


def write_package(
    folder: ProductionFolder,
    evidence: EvidenceReader,
    numbered: Sequence[NumberedDocument],
    produced: Sequence[DocumentFiles],
    *,
    name: str,
    matter: str,
    as_of: datetime,
) -> wacz.WaczResult:
    from hp_archive.warc.members import iter_file

    wanted: dict[str, RecordRef] = {}
    for files in produced:
        for ref in files.records:
            wanted.setdefault(ref.record_id, ref)
    by_file: dict[str, list[RecordRef]] = {}
    for ref in wanted.values():
        by_file.setdefault(ref.file_key, []).append(ref)
    records: list[wacz.ArchiveRecord] = []
    for key in sorted(by_file):
        local = evidence.files[key]
        with local.path.open("rb") as stream:
            head = next(iter_file(stream, layout=local.layout))
        info_ref = RecordRef(
            key, local.sha256, head.offset, head.length, head.record_id, head.rec_type, None, head.date
        )
        for ref in [info_ref, *sorted(by_file[key], key=lambda r: r.offset)]:
            data, gzipped = evidence.raw(ref)
            records.append(
                wacz.ArchiveRecord(key, key.rsplit("/", 1)[-1], ref.offset, data, gzipped, ref.record_id)
            )
    pages = []
    for doc, files in zip(numbered, produced, strict=True):
        current = doc.item.current
        if doc.item.kind != "post" or current is None:
            continue
        original = files.current_record
        if original is None or not original.target_uri:
            continue
        label = doc.planned.item.uid
        excerpt = " ".join(current.text.split())[:100]
        pages.append(
            wacz.Page(
                id=f"{name}-{doc.first}",
                url=original.target_uri,
                ts=original.date,
                title=f"{label} — post by {doc.item.author_name or 'unknown'}: {excerpt}",
            )
        )
    relative = f"WACZ/{name}.wacz"
    result = wacz.write_wacz(
        folder.root / relative,
        records,
        pages,
        title=f"{name} — matter {matter}",
        description=f"The original WARC records behind production {name} of matter {matter} ({SOFTWARE}).",
        created=as_of,
        software=SOFTWARE,
    )
    folder.add(relative)
    return result
