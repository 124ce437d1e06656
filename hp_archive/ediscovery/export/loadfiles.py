"""DATA: the load files review platforms read — Concordance DAT, Opticon OPT, EDRM XML 1.2.

**Concordance DAT** (``DATA/<production>.dat``): UTF-8 without a byte-order mark (a BOM would become
part of the first column name for any reader that decodes plain UTF-8; choose UTF-8 as the load
file's encoding in the review platform's import), CRLF between rows, a header row, fields separated
by DC4 (0x14) and enclosed in þ (U+00FE); a line break inside a field is written as ® (U+00AE). A
value cannot contain the delimiters, so 0x14 becomes a space and a literal þ becomes ``[U+00FE]``.
Dates are ISO 8601 in UTC (``2026-11-03T08:00:12Z``). Paths are relative to the production folder
with Windows separators (``NATIVES\\0001\\HPPD0000001.json``), the convention every platform
accepts. A value that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — what a
spreadsheet would run as a formula — is prefixed with a single quote (the OWASP CSV-injection rule);
the text files and natives keep the exact text.

**Opticon OPT** (``DATA/<production>.opt``): one line per page image,
``ImageKey,Volume,Path,DocumentBreak,FolderBreak,BoxBreak,PageCount`` — the key is the page's
Bates number, ``Y`` and the page count on each document's first page.

**EDRM XML 1.2** (``DATA/<production>.xml``): ``Root`` (MajorVersion 1, MinorVersion 2) →
``Batch`` → ``Documents`` → ``Document`` (DocID = BEGBATES) with ``Files`` (Native, Text, Image:
``ExternalFile`` FilePath/FileName/FileSize/Hash = MD5), ``Locations`` (``Custodian``,
``LocationURI``) and ``Tags`` (``#``-prefixed EDRM names where one exists, our field names
otherwise); and ``Relationships`` of Type ``Attachment`` from each parent document to its
children. Characters XML 1.0 cannot carry are dropped from values. Pure functions.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .manifest import FileDigests

DAT_SEPARATOR = "\x14"
DAT_QUOTE = "\u00fe"
DAT_NEWLINE = "\u00ae"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class DocumentRecord:
    """One produced document, as the load files describe it (paths use '/' here)."""

    begbates: str
    endbates: str
    begattach: str
    endattach: str
    parentbates: str
    custodian: str
    platform: str
    kind: str
    author: str
    author_id: str
    item_id: str
    date_created: datetime | None
    date_captured: datetime
    date_last_seen: datetime
    date_deleted: datetime | None
    status: str
    url: str
    versions: int
    pages: int
    selected: bool
    native_path: str
    native_type: str  # object | response | media | none
    native: FileDigests | None
    mime_type: str
    text_path: str
    text: FileDigests
    pdf_path: str = ""
    image_paths: tuple[str, ...] = ()
    version_paths: tuple[str, ...] = ()
    media_paths: tuple[str, ...] = ()
    response_paths: tuple[str, ...] = ()
    warc_records: tuple[str, ...] = ()
    images: tuple[FileDigests, ...] = field(default=(), repr=False)


def loadfile_path(path: str) -> str:
    """``NATIVES/0001/x.json`` → ``NATIVES\\0001\\x.json``."""
    return path.replace("/", "\\")


def posix_path(path: str) -> str:
    """The inverse of :func:`loadfile_path`."""
    return path.replace("\\", "/")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _paths(paths: Sequence[str]) -> str:
    return "; ".join(loadfile_path(p) for p in paths)


DAT_FIELDS: tuple[tuple[str, Callable[[DocumentRecord], str]], ...] = (
    ("BEGBATES", lambda d: d.begbates),
    ("ENDBATES", lambda d: d.endbates),
    ("BEGATTACH", lambda d: d.begattach),
    ("ENDATTACH", lambda d: d.endattach),
    ("PARENTBATES", lambda d: d.parentbates),
    ("CUSTODIAN", lambda d: d.custodian),
    ("PLATFORM", lambda d: d.platform),
    ("KIND", lambda d: d.kind),
    ("AUTHOR", lambda d: d.author),
    ("AUTHORID", lambda d: d.author_id),
    ("ITEMID", lambda d: d.item_id),
    ("DATECREATED", lambda d: _when(d.date_created)),
    ("DATECAPTURED", lambda d: _when(d.date_captured)),
    ("DATELASTSEEN", lambda d: _when(d.date_last_seen)),
    ("DATEDELETED", lambda d: _when(d.date_deleted)),
    ("STATUS", lambda d: d.status),
    ("VERSIONS", lambda d: str(d.versions)),
    ("PAGECOUNT", lambda d: str(d.pages)),
    ("SELECTED", lambda d: "Y" if d.selected else "N"),
    ("URL", lambda d: d.url),
    ("NATIVEPATH", lambda d: loadfile_path(d.native_path)),
    ("NATIVETYPE", lambda d: d.native_type),
    ("MIMETYPE", lambda d: d.mime_type),
    ("FILESIZE", lambda d: str(d.native.size) if d.native else ""),
    ("TEXTPATH", lambda d: loadfile_path(d.text_path)),
    ("PDFPATH", lambda d: loadfile_path(d.pdf_path)),
    ("VERSIONPATHS", lambda d: _paths(d.version_paths)),
    ("MEDIAPATHS", lambda d: _paths(d.media_paths)),
    ("RESPONSEPATHS", lambda d: _paths(d.response_paths)),
    ("WARCRECORDS", lambda d: "; ".join(d.warc_records)),
    ("MD5HASH", lambda d: d.native.md5 if d.native else ""),
    ("SHA1HASH", lambda d: d.native.sha1 if d.native else ""),
    ("SHA256HASH", lambda d: d.native.sha256 if d.native else ""),
)
DAT_HEADER = tuple(name for name, _ in DAT_FIELDS)


def dat_cell(value: str) -> str:
    """One DAT value: delimiters neutralized, line breaks as ®, formulas defused."""
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", DAT_NEWLINE)
    value = value.replace(DAT_SEPARATOR, " ").replace(DAT_QUOTE, "[U+00FE]")
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    return f"{DAT_QUOTE}{value}{DAT_QUOTE}"


def dat_file(documents: Sequence[DocumentRecord]) -> bytes:
    """The Concordance DAT (UTF-8, no BOM, CRLF rows, header first)."""
    rows = [DAT_SEPARATOR.join(dat_cell(name) for name in DAT_HEADER)]
    for doc in documents:
        rows.append(DAT_SEPARATOR.join(dat_cell(get(doc)) for _, get in DAT_FIELDS))
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def parse_dat(data: bytes) -> list[dict[str, str]]:
    """Rows of a DAT written by :func:`dat_file` (or any þ/0x14 DAT) as header → value dicts."""
    text = data.decode("utf-8-sig")
    lines = [line for line in text.split("\r\n") if line]
    if not lines:
        return []

    def cells(line: str) -> list[str]:
        parts = line.split(DAT_SEPARATOR)
        out = []
        for part in parts:
            if len(part) < 2 or part[0] != DAT_QUOTE or part[-1] != DAT_QUOTE:
                raise ValueError(f"field {part[:40]!r} is not enclosed in þ")
            out.append(part[1:-1].replace(DAT_NEWLINE, "\n"))
        return out

    header = cells(lines[0])
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        values = cells(line)
        if len(values) != len(header):
            raise ValueError(f"line {number} has {len(values)} fields, the header {len(header)}")
        rows.append(dict(zip(header, values, strict=True)))
    return rows


def opt_file(documents: Sequence[DocumentRecord], volume: str) -> bytes:
    """The Opticon image load file: one line per page image."""
    lines = []
    for doc in documents:
        for index, path in enumerate(doc.image_paths):
            key = _page_key(doc, index)
            first = index == 0
            brk, count = ("Y", str(len(doc.image_paths))) if first else ("", "")
            lines.append(f"{key},{volume},{loadfile_path(path)},{brk},,,{count}")
    return ("\r\n".join(lines) + ("\r\n" if lines else "")).encode("utf-8")


def _page_key(doc: DocumentRecord, index: int) -> str:
    """The page's Bates number: the image file is named after it."""
    name = doc.image_paths[index].rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0]


def _xml(value: str) -> str:
    return _XML_INVALID.sub("", value)


def edrm_xml(documents: Sequence[DocumentRecord], *, production: str, matter: str) -> bytes:
    """The EDRM XML 1.2 description of the same documents."""
    root = ET.Element(
        "Root",
        {
            "MajorVersion": "1",
            "MinorVersion": "2",
            "Description": _xml(f"hp-archive production {production} of matter {matter}"),
            "Locale": "en-US",
            "DataInterchangeType": "Update",
        },
    )
    batch = ET.SubElement(root, "Batch", {"name": production})
    docs = ET.SubElement(batch, "Documents")
    relations: list[tuple[str, str]] = []
    for doc in documents:
        element = ET.SubElement(
            docs, "Document", {"DocID": doc.begbates, "DocType": "File", "MimeType": doc.mime_type}
        )
        files = ET.SubElement(element, "Files")
        if doc.native is not None:
            _external(files, "Native", doc.native_path, doc.native)
        _external(files, "Text", doc.text_path, doc.text)
        for path, digests in zip(doc.image_paths, doc.images, strict=False):
            _external(files, "Image", path, digests)
        locations = ET.SubElement(element, "Locations")
        location = ET.SubElement(locations, "Location")
        ET.SubElement(location, "Custodian").text = _xml(doc.custodian)
        ET.SubElement(location, "LocationURI").text = _xml(doc.url)
        tags = ET.SubElement(element, "Tags")
        for name, kind, value in _tags(doc):
            ET.SubElement(tags, "Tag", {"TagName": name, "TagDataType": kind, "TagValue": _xml(value)})
        if doc.parentbates:
            relations.append((doc.parentbates, doc.begbates))
    relationships = ET.SubElement(batch, "Relationships")
    for parent, child in relations:
        ET.SubElement(
            relationships, "Relationship", {"Type": "Attachment", "ParentDocId": parent, "ChildDocId": child}
        )
    ET.indent(root, space=" ")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def _external(files: ET.Element, kind: str, path: str, digests: FileDigests) -> None:
    folder, _, name = path.rpartition("/")
    file_element = ET.SubElement(files, "File", {"FileType": kind})
    ET.SubElement(
        file_element,
        "ExternalFile",
        {
            "FilePath": loadfile_path(folder),
            "FileName": name,
            "FileSize": str(digests.size),
            "Hash": digests.md5,
        },
    )


def _tags(doc: DocumentRecord) -> list[tuple[str, str, str]]:
    native = doc.native or FileDigests(0, "", "", "")
    tags = [
        ("#DateCreated", "DateTime", _when(doc.date_created)),
        ("#Author", "Text", doc.author),
        ("#FileName", "Text", doc.native_path.rsplit("/", 1)[-1] if doc.native_path else ""),
        ("#FileSize", "Integer", str(native.size) if doc.native else ""),
        ("#HashMD5", "Text", native.md5),
        ("#HashSHA1", "Text", native.sha1),
        ("BegBates", "Text", doc.begbates),
        ("EndBates", "Text", doc.endbates),
        ("BegAttach", "Text", doc.begattach),
        ("EndAttach", "Text", doc.endattach),
        ("ParentBates", "Text", doc.parentbates),
        ("Custodian", "Text", doc.custodian),
        ("Platform", "Text", doc.platform),
        ("Kind", "Text", doc.kind),
        ("AuthorID", "Text", doc.author_id),
        ("ItemID", "Text", doc.item_id),
        ("DateCaptured", "DateTime", _when(doc.date_captured)),
        ("DateLastSeen", "DateTime", _when(doc.date_last_seen)),
        ("DateDeleted", "DateTime", _when(doc.date_deleted)),
        ("Status", "Text", doc.status),
        ("Versions", "Integer", str(doc.versions)),
        ("PageCount", "Integer", str(doc.pages)),
        ("Selected", "Boolean", "true" if doc.selected else "false"),
        ("URL", "Text", doc.url),
        ("SHA256Hash", "Text", native.sha256),
        ("WarcRecords", "Text", "; ".join(doc.warc_records)),
    ]
    return [(name, kind, value) for name, kind, value in tags if value]
