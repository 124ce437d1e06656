"""The object store port: write-once objects with SHA-256 checks, retention dates and legal holds.

Adapters: :class:`~hp_archive.storage.local.LocalObjectStore` (a directory, the embedded default)
and :class:`~hp_archive.storage.s3.S3ObjectStore` (any S3 API). Both pass the same test suite.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows of one object. ``sha256`` is lowercase hex of the whole object."""

    key: str
    size: int
    sha256: str | None
    retain_until: datetime | None = None
    legal_hold: bool = False


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def validate_key(key: str) -> str:
    """Refuse keys that could escape a prefix or be ambiguous across adapters."""
    from hp_archive.errors import StorageError

    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise StorageError(f"object key {key!r} is invalid: use a relative 'a/b/c' path")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise StorageError(f"object key {key!r} is invalid: empty, '.' or '..' path segment")
    return key


class ObjectStore(ABC):
    """Write-once object storage.

    Every write names the SHA-256 the caller computed; the write only counts once the store
    confirms it (S3 verifies the checksum server-side and the adapter HEAD-checks it; the local
    adapter re-hashes). Writing a key again with the same bytes is a no-op that returns the
    existing object; with different bytes it raises :class:`ObjectExistsError`.
    """

    #: a short name for messages and ``--json`` output ("file", "s3")
    scheme: str = ""

    @property
    @abstractmethod
    def url(self) -> str:
        """The store's location as a URL without credentials (``file:///…``, ``s3://bucket/prefix``)."""

    @property
    @abstractmethod
    def object_lock_enabled(self) -> bool:
        """True when retain-until dates and legal holds are enforced by the store."""

    @abstractmethod
    def put_file(
        self,
        key: str,
        path: Path,
        *,
        sha256: str,
        retain_until: datetime | None = None,
        content_type: str = "application/octet-stream",
    ) -> ObjectInfo:
        """Store a local file under ``key`` (write-once, checksum verified, multipart if large)."""

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        retain_until: datetime | None = None,
        content_type: str = "application/octet-stream",
    ) -> ObjectInfo:
        """Store a small byte string under ``key`` (write-once, checksum verified)."""
        return self._put_bytes(
            key,
            data,
            sha256=hashlib.sha256(data).hexdigest(),
            retain_until=retain_until,
            content_type=content_type,
        )

    @abstractmethod
    def _put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        sha256: str,
        retain_until: datetime | None,
        content_type: str,
    ) -> ObjectInfo: ...

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """The object's info, or None when the key does not exist."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable stream of the whole object; the caller closes it."""

    @abstractmethod
    def get_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes starting at ``offset`` (used to read one WARC record)."""

    def get_bytes(self, key: str) -> bytes:
        """The whole object in memory; for small objects only."""
        with self.open(key) as stream:
            return stream.read()

    def download(self, key: str, path: Path) -> ObjectInfo:
        """Copy the object to a local file and verify its SHA-256 against the recorded one."""
        from hp_archive.errors import ChecksumMismatchError, ObjectNotFoundError

        info = self.head(key)
        if info is None:
            raise ObjectNotFoundError(f"object {key!r} is missing from {self.url}")
        digest = hashlib.sha256()
        with self.open(key) as stream, path.open("wb") as out:
            for block in iter(lambda: stream.read(CHUNK), b""):
                digest.update(block)
                out.write(block)
        if info.sha256 and digest.hexdigest() != info.sha256:
            raise ChecksumMismatchError(
                f"object {key!r} in {self.url} reads back with SHA-256 {digest.hexdigest()} "
                f"but was stored as {info.sha256}: run 'hp-archive fixity' and restore it"
            )
        return info

    def local_path(self, key: str) -> Path | None:
        """A path this process can read the object's bytes from directly, if the store has one.

        Read-only: the caller must never write to it. Stores without local files return None
        (use :meth:`downloaded`).
        """
        del key
        return None

    @contextlib.contextmanager
    def downloaded(self, key: str) -> Iterator[tuple[Path, ObjectInfo]]:
        """A verified local copy of the object in a temporary file, removed afterwards."""
        with tempfile.TemporaryDirectory(prefix="hp-archive-") as folder:
            path = Path(folder) / key.rsplit("/", 1)[-1]
            info = self.download(key, path)
            yield path, info

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix``, in key order."""

    def versions(self, key: str) -> int:
        """How many stored versions the key has (delete markers included); 0 once it is gone."""
        return 0 if self.head(key) is None else 1

    @abstractmethod
    def delete(self, key: str, *, as_of: datetime, bypass_governance: bool = False) -> None:
        """Delete an object.

        Refused (:class:`ObjectLockedError`) while a legal hold is set or ``as_of`` is before the
        retain-until date, unless ``bypass_governance`` is given and the store allows it. Deleting
        a missing key is a no-op, so destruction can be resumed.
        """

    @abstractmethod
    def set_retain_until(self, key: str, retain_until: datetime) -> None:
        """Extend (never shorten) the object's retain-until date."""

    @abstractmethod
    def set_legal_hold(self, key: str, on: bool) -> None:
        """Set or clear the object's legal-hold flag."""
