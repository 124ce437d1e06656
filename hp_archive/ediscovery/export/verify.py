"""``verify_export``: check a production offline and name every discrepancy.

Needs only the production (a folder or its zip) and, to check *who* signed it, the archive's
public key (``keys/archive-ed25519-*.pem`` in the archive's store); without it the key embedded
in the record is used and the report says so. It checks:

* the chain-of-custody record: canonical bytes, Ed25519 signature, and the embedded audit entry's
  hash recomputed from its content (and that the entry names this manifest);
* the manifest: its SHA-256 is the one the custody record signs; every listed file exists with
  the listed size, MD5, SHA-1 and SHA-256; no file is present that it does not list — so one
  changed byte anywhere in the production is found;
* the DAT: delimiters, required fields, one row per document, continuous Bates numbers from the
  custody record's first to its last, families (BEGATTACH/ENDATTACH) that are contiguous ranges,
  every path present, the native hashes equal to the files';
* the OPT: one line per page image in Bates order, images present, document breaks on each
  document's first page with its page count; the EDRM XML: parses, the same documents, the same
  files; the PDFs: their page counts;
* the WACZ: every resource's hash and size, the digest of ``datapackage.json`` and its
  signature (and that its key is the one the custody record names), every WARC record's digests
  and that none is a revisit, and that every page is in the CDXJ index.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hp_archive.audit import canonical_json, entry_hash, verify_document

from .loadfiles import parse_dat, posix_path
from .manifest import (
    CUSTODY_NAME,
    CUSTODY_PROFILE,
    MANIFEST_NAME,
    FileDigests,
    digest_file,
    files_under,
    parse_manifest,
)
from .selection import Bates
from .wacz import verify_signed_data

REQUIRED_DAT = (
    "BEGBATES",
    "ENDBATES",
    "BEGATTACH",
    "ENDATTACH",
    "CUSTODIAN",
    "PLATFORM",
    "KIND",
    "AUTHOR",
    "DATECREATED",
    "DATECAPTURED",
    "STATUS",
    "URL",
    "NATIVEPATH",
    "TEXTPATH",
    "MD5HASH",
    "SHA1HASH",
    "SHA256HASH",
)
PATH_FIELDS = ("NATIVEPATH", "TEXTPATH", "PDFPATH")
LIST_FIELDS = ("VERSIONPATHS", "MEDIAPATHS", "RESPONSEPATHS")


@dataclass
class VerificationReport:
    """The outcome; ``problems`` names each discrepancy (empty when the production is intact)."""

    path: Path
    production: str | None = None
    key_id: str | None = None
    trusted_key: bool = False
    problems: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "production": self.production,
            "ok": self.ok,
            "signing_key": self.key_id,
            "signing_key_trusted": self.trusted_key,
            "checked": self.checked,
            "problems": self.problems,
        }


def verify_export(path: Path, *, public_key_pem: bytes | None = None) -> VerificationReport:
    """Verify the production folder (or zip) at ``path``; never raises for a bad production."""
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="hp-verify-") as tmp:
            report = VerificationReport(path)
            folder = _unzip(path, Path(tmp), report)
            if folder is not None:
                _Verifier(folder, report, public_key_pem).run()
            return report
    report = VerificationReport(path)
    if not path.is_dir():
        report.problems.append(f"{path}: not a production folder or zip")
        return report
    _Verifier(path, report, public_key_pem).run()
    return report


def _unzip(path: Path, target: Path, report: VerificationReport) -> Path | None:
    try:
        return _extract(path, target, report)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
        report.problems.append(f"{path.name}: damaged, it does not extract ({exc})")
        return None


def _extract(path: Path, target: Path, report: VerificationReport) -> Path | None:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        tops = {name.split("/", 1)[0] for name in names}
        for name in names:
            parts = name.split("/")
            if name.startswith("/") or ".." in parts or "\\" in name:
                report.problems.append(f"{path.name}: entry {name!r} would escape the folder")
                return None
        if len(tops) != 1:
            report.problems.append(f"{path.name}: expected one production folder, found {sorted(tops)}")
            return None
        archive.extractall(target)
    return target / tops.pop()


class _Verifier:
    def __init__(self, folder: Path, report: VerificationReport, public_key_pem: bytes | None) -> None:
        self.folder = folder
        self.report = report
        self.public_key_pem = public_key_pem
        self.custody: dict[str, Any] = {}
        self.manifest: dict[str, FileDigests] = {}
        self.rows: list[dict[str, str]] = []
        self.bates: Bates | None = None

    def problem(self, message: str) -> None:
        self.report.problems.append(message)

    def run(self) -> None:
        steps: list[Callable[[], None]] = [
            self.check_custody,
            self.check_manifest,
            self.check_dat,
            self.check_opt,
            self.check_edrm,
            self.check_pdfs,
            self.check_text,
            self.check_wacz,
        ]
        for step in steps:
            try:
                step()
            except Exception as exc:  # a damaged file must become a named problem, not a crash
                self.problem(
                    f"{step.__name__.removeprefix('check_')}: cannot be checked: {type(exc).__name__}: {exc}"
                )

    # -- custody and manifest ----------------------------------------------------------------

    def check_custody(self) -> None:
        path = self.folder / CUSTODY_NAME
        if not path.is_file():
            self.problem(f"{CUSTODY_NAME}: missing")
            return
        data = path.read_bytes()
        try:
            document = json.loads(data)
        except ValueError as exc:
            self.problem(f"{CUSTODY_NAME}: not JSON ({exc})")
            return
        if not isinstance(document, dict):
            self.problem(f"{CUSTODY_NAME}: not a JSON object")
            return
        self.custody = document
        self.report.production = str(document.get("production"))
        signature = document.get("signature") or {}
        self.report.key_id = str(signature.get("key_id")) if isinstance(signature, dict) else None
        if canonical_json(document) != data:
            self.problem(f"{CUSTODY_NAME}: bytes are not the canonical JSON that was signed (altered)")
        if document.get("profile") != CUSTODY_PROFILE:
            self.problem(f"{CUSTODY_NAME}: profile is {document.get('profile')!r}, not {CUSTODY_PROFILE}")
        if not verify_document(document, self.public_key_pem):
            who = "the given public key" if self.public_key_pem else "its embedded key"
            self.problem(f"{CUSTODY_NAME}: signature does not verify with {who}")
        else:
            self.report.trusted_key = self.public_key_pem is not None
        entry = document.get("audit_entry") or {}
        try:
            recomputed = entry_hash(
                seq=int(entry["seq"]),
                at=datetime.fromisoformat(str(entry["at"])),
                actor=str(entry["actor"]),
                action=str(entry["action"]),
                target=str(entry["target"]),
                params=entry["params"],
                prev_hash=str(entry["prev_hash"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            self.problem(f"{CUSTODY_NAME}: audit entry is incomplete ({exc})")
            return
        if recomputed != entry.get("hash"):
            self.problem(f"{CUSTODY_NAME}: audit entry {entry.get('seq')} does not match its hash")
        params = entry.get("params") or {}
        manifest = document.get("manifest") or {}
        if params.get("manifest_sha256") != manifest.get("sha256"):
            self.problem(f"{CUSTODY_NAME}: audit entry {entry.get('seq')} names another manifest")
        if params.get("production") != document.get("production"):
            self.problem(f"{CUSTODY_NAME}: audit entry {entry.get('seq')} names another production")
        bates = document.get("bates") or {}
        try:
            self.bates = Bates(str(bates["prefix"]), int(bates["width"]))
        except (KeyError, ValueError, TypeError) as exc:
            self.problem(f"{CUSTODY_NAME}: Bates scheme unreadable ({exc})")

    def check_manifest(self) -> None:
        path = self.folder / MANIFEST_NAME
        if not path.is_file():
            self.problem(f"{MANIFEST_NAME}: missing")
            return
        digests = digest_file(path)
        expected = (self.custody.get("manifest") or {}).get("sha256")
        if digests.sha256 != expected:
            self.problem(f"{MANIFEST_NAME}: SHA-256 {digests.sha256} is not the signed {expected} (altered)")
        try:
            self.manifest = parse_manifest(path.read_bytes())
        except (ValueError, UnicodeDecodeError) as exc:
            self.problem(f"{MANIFEST_NAME}: malformed: {exc}")
            return
        present = set(files_under(self.folder)) - {MANIFEST_NAME, CUSTODY_NAME}
        for relative in sorted(present - self.manifest.keys()):
            self.problem(f"{relative}: present but not in the manifest")
        for relative, want in sorted(self.manifest.items()):
            file = self.folder / relative
            if relative not in present:
                self.problem(f"{relative}: listed in the manifest but missing")
                continue
            have = digest_file(file)
            for name in ("size", "md5", "sha1", "sha256"):
                if getattr(have, name) != getattr(want, name):
                    self.problem(
                        f"{relative}: {name} is {getattr(have, name)}, "
                        f"the manifest says {getattr(want, name)}"
                    )
                    break
        self.report.checked["files"] = len(self.manifest)

    def _exists(self, where: str, relative: str) -> bool:
        relative = posix_path(relative)
        if relative not in self.manifest:
            self.problem(f"{where}: {relative} is not in the production")
            return False
        return True

    # -- load files --------------------------------------------------------------------------

    def _loadfile(self, suffix: str) -> Path | None:
        found = sorted(p for p in self.manifest if p.startswith("DATA/") and p.endswith(suffix))
        return self.folder / found[0] if found else None

    def check_dat(self) -> None:
        path = self._loadfile(".dat")
        if path is None:
            return
        where = path.relative_to(self.folder).as_posix()
        try:
            self.rows = parse_dat(path.read_bytes())
        except (ValueError, UnicodeDecodeError) as exc:
            self.problem(f"{where}: does not parse with the Concordance delimiters: {exc}")
            return
        if self.rows:
            missing = [name for name in REQUIRED_DAT if name not in self.rows[0]]
            if missing:
                self.problem(f"{where}: header lacks {', '.join(missing)}")
                return
        documents = (self.custody.get("counts") or {}).get("documents")
        if documents != len(self.rows):
            self.problem(
                f"{where}: {len(self.rows)} rows but the custody record counts {documents} documents"
            )
        self._check_bates(where)
        for number, row in enumerate(self.rows, start=2):
            label = f"{where} line {number} ({row.get('BEGBATES')})"
            for name in PATH_FIELDS:
                if row.get(name):
                    self._exists(f"{label} {name}", row[name])
            for name in LIST_FIELDS:
                for part in filter(None, (p.strip() for p in row.get(name, "").split(";"))):
                    self._exists(f"{label} {name}", part)
            native = posix_path(row.get("NATIVEPATH", ""))
            if native and native in self.manifest:
                digests = self.manifest[native]
                for name, value in (
                    ("MD5HASH", digests.md5),
                    ("SHA1HASH", digests.sha1),
                    ("SHA256HASH", digests.sha256),
                ):
                    if row.get(name) != value:
                        self.problem(f"{label}: {name} {row.get(name)} is not the native file's {value}")
        self.report.checked["documents"] = len(self.rows)

    def _check_bates(self, where: str) -> None:
        bates = self.bates
        if bates is None:
            return
        custody = self.custody.get("bates") or {}
        expected = custody.get("first_number")
        families: dict[int, int] = {}
        for number, row in enumerate(self.rows, start=2):
            label = f"{where} line {number}"
            begin, end = bates.parse(row.get("BEGBATES", "")), bates.parse(row.get("ENDBATES", ""))
            fam_begin, fam_end = bates.parse(row.get("BEGATTACH", "")), bates.parse(row.get("ENDATTACH", ""))
            if None in (begin, end, fam_begin, fam_end):
                self.problem(f"{label}: a Bates field is not a {bates.prefix} number of {bates.width} digits")
                expected = None
                continue
            assert begin is not None and end is not None and fam_begin is not None and fam_end is not None
            if expected is not None and begin != expected:
                self.problem(
                    f"{label}: BEGBATES {row['BEGBATES']} breaks the sequence "
                    f"(expected {bates.label(expected)})"
                )
            if end < begin:
                self.problem(f"{label}: ENDBATES {row['ENDBATES']} is before BEGBATES {row['BEGBATES']}")
            if not fam_begin <= begin <= end <= fam_end:
                self.problem(
                    f"{label}: {row['BEGBATES']} lies outside its family "
                    f"{row['BEGATTACH']}-{row['ENDATTACH']}"
                )
            if families.setdefault(fam_begin, fam_end) != fam_end:
                self.problem(f"{label}: family {row['BEGATTACH']} ends at two places")
            if row.get("PAGECOUNT") and row["PAGECOUNT"] != str(end - begin + 1):
                self.problem(
                    f"{label}: PAGECOUNT {row['PAGECOUNT']} but the Bates range holds {end - begin + 1}"
                )
            expected = end + 1
        if self.rows and expected is not None and expected - 1 != custody.get("last_number"):
            self.problem(
                f"{where}: the last Bates number is {bates.label(expected - 1)}, "
                f"the custody record says {custody.get('last')}"
            )
        starts = {bates.parse(row.get("BEGBATES", "")) for row in self.rows}
        for fam_begin in families:
            if fam_begin not in starts:
                self.problem(f"{where}: family {bates.label(fam_begin)} has no parent document")

    def check_opt(self) -> None:
        path = self._loadfile(".opt")
        if path is None:
            return
        where = path.relative_to(self.folder).as_posix()
        lines = [line for line in path.read_bytes().decode("utf-8").split("\r\n") if line]
        documents: list[tuple[str, int]] = []
        keys: list[str] = []
        for number, line in enumerate(lines, start=1):
            parts = line.split(",")
            if len(parts) != 7:
                self.problem(f"{where} line {number}: {len(parts)} fields, expected 7")
                continue
            key, _volume, image, brk, _folder, _box, count = parts
            keys.append(key)
            self._exists(f"{where} line {number}", image)
            if posix_path(image).rsplit("/", 1)[-1].rsplit(".", 1)[0] != key:
                self.problem(f"{where} line {number}: image {image} is not named after its key {key}")
            if brk == "Y":
                documents.append((key, int(count) if count.isdigit() else -1))
        if self.rows:
            expected: list[str] = []
            assert self.bates is not None
            for row in self.rows:
                begin, end = self.bates.parse(row["BEGBATES"]), self.bates.parse(row["ENDBATES"])
                if begin is None or end is None:
                    return
                expected.extend(self.bates.label(n) for n in range(begin, end + 1))
            if keys != expected:
                self.problem(
                    f"{where}: image keys are not the DAT's pages in order ({len(keys)} vs {len(expected)})"
                )
            breaks = [
                (row["BEGBATES"], int(row["PAGECOUNT"]) if row.get("PAGECOUNT", "").isdigit() else -1)
                for row in self.rows
            ]
            if documents != breaks:
                self.problem(f"{where}: document breaks or page counts differ from the DAT")
        self.report.checked["pages"] = len(keys)

    def check_edrm(self) -> None:
        path = self._loadfile(".xml")
        if path is None:
            return
        where = path.relative_to(self.folder).as_posix()
        try:
            # expat (bundled with CPython 3.11) caps entity amplification and ElementTree never
            # fetches external entities, so a hostile load file cannot blow up or reach out
            root = ET.parse(path).getroot()  # noqa: S314
        except ET.ParseError as exc:
            self.problem(f"{where}: not well-formed XML: {exc}")
            return
        if root.tag != "Root" or root.get("MajorVersion") != "1" or root.get("MinorVersion") != "2":
            self.problem(f"{where}: not an EDRM XML 1.2 Root element")
        docs = root.findall("./Batch/Documents/Document")
        ids = [doc.get("DocID") for doc in docs]
        if self.rows and ids != [row["BEGBATES"] for row in self.rows]:
            self.problem(f"{where}: its {len(ids)} documents are not the DAT's {len(self.rows)} in order")
        for doc in docs:
            for external in doc.findall("./Files/File/ExternalFile"):
                relative = posix_path(f"{external.get('FilePath', '')}/{external.get('FileName', '')}")
                known = self._exists(f"{where} {doc.get('DocID')}", relative)
                if known and external.get("Hash") != self.manifest[relative].md5:
                    self.problem(f"{where} {doc.get('DocID')}: hash of {relative} differs from the file's")

    def check_pdfs(self) -> None:
        import pypdfium2  # type: ignore[import-untyped]

        for row in self.rows:
            relative = posix_path(row.get("PDFPATH", ""))
            if not relative or relative not in self.manifest:
                continue
            try:
                document = pypdfium2.PdfDocument((self.folder / relative).read_bytes())
            except pypdfium2.PdfiumError as exc:
                self.problem(f"{relative}: not a readable PDF ({exc})")
                continue
            try:
                if str(len(document)) != row.get("PAGECOUNT"):
                    self.problem(f"{relative}: {len(document)} pages, the DAT says {row.get('PAGECOUNT')}")
            finally:
                document.close()

    def check_text(self) -> None:
        for relative in self.manifest:
            if relative.startswith("TEXT/"):
                try:
                    (self.folder / relative).read_bytes().decode("utf-8")
                except (UnicodeDecodeError, OSError) as exc:
                    self.problem(f"{relative}: not UTF-8 text ({exc})")

    # -- WACZ ----------------------------------------------------------------------------------

    def check_wacz(self) -> None:
        expected = self.custody.get("wacz")
        if not expected:
            return
        relative = str(expected.get("path"))
        if relative not in self.manifest:
            self.problem(f"{relative}: named in the custody record but not in the production")
            return
        with zipfile.ZipFile(self.folder / relative) as archive:
            names = set(archive.namelist())
            package_bytes = archive.read("datapackage.json")
            package = json.loads(package_bytes)
            digest = json.loads(archive.read("datapackage-digest.json"))
            package_hash = "sha256:" + hashlib.sha256(package_bytes).hexdigest()
            if digest.get("hash") != package_hash:
                self.problem(f"{relative}: datapackage-digest.json does not match datapackage.json")
            if package_hash != f"sha256:{expected.get('datapackage_sha256')}":
                self.problem(f"{relative}: datapackage.json is not the one the custody record names")
            signed = digest.get("signedData") or {}
            if signed.get("hash") != digest.get("hash") or not verify_signed_data(signed):
                self.problem(f"{relative}: the WACZ signature does not verify")
            if signed.get("publicKey") != expected.get("public_key"):
                self.problem(f"{relative}: signed with a key the custody record does not name")
            listed = set()
            for resource in package.get("resources", []):
                name = str(resource.get("path"))
                listed.add(name)
                if name not in names:
                    self.problem(f"{relative}: resource {name} is missing")
                    continue
                data = archive.read(name)
                if f"sha256:{hashlib.sha256(data).hexdigest()}" != resource.get("hash") or len(
                    data
                ) != resource.get("bytes"):
                    self.problem(f"{relative}: resource {name} does not match its hash or size")
            for name in sorted(names - listed - {"datapackage.json", "datapackage-digest.json"}):
                self.problem(f"{relative}: {name} is not listed in datapackage.json")
            self._check_warcs(relative, archive, sorted(n for n in names if n.startswith("archive/")))
            self._check_pages(relative, archive)

    def _check_warcs(self, relative: str, archive: zipfile.ZipFile, names: list[str]) -> None:
        from hp_archive.warc.members import iter_file

        count = 0
        for name in names:
            stream = io.BytesIO(archive.read(name))
            try:
                for record in iter_file(stream, check_digests=True):
                    count += 1
                    if record.rec_type == "revisit":
                        self.problem(f"{relative} {name}: record {record.record_id} is a revisit")
            except Exception as exc:
                self.problem(f"{relative} {name}: {exc}")
        self.report.checked["warc_records"] = count

    def _check_pages(self, relative: str, archive: zipfile.ZipFile) -> None:
        index = archive.read("indexes/index.cdxj").decode("utf-8")
        urls = set()
        for line in index.splitlines():
            if line.strip():
                urls.add(json.loads(line.split(" ", 2)[2]).get("url"))
        lines = archive.read("pages/pages.jsonl").decode("utf-8").splitlines()
        for line in lines[1:]:
            page = json.loads(line)
            if page.get("url") not in urls:
                self.problem(f"{relative}: page {page.get('id')} ({page.get('url')}) is not in the index")
        wanted = (self.custody.get("counts") or {}).get("wacz_pages")
        if wanted is not None and wanted != len(lines) - 1:
            self.problem(f"{relative}: {len(lines) - 1} pages but the custody record counts {wanted}")
