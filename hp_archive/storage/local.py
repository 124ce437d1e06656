"""A local directory as the object store: the embedded default.

Layout under ``root``::

    objects/<key>        the object's bytes, read-only (0o444), never rewritten
    meta/<key>.json      sidecar: sha256, size, retain_until, legal_hold, content_type

A write goes to a temporary file in the object's own directory, is fsynced and re-hashed, then
hard-linked into place. ``os.link`` fails when the name exists, so two writers racing for one key
cannot clobber each other: the loser compares digests like any other repeated write. The store
enforces retain-until dates and legal holds itself, so :attr:`object_lock_enabled` is True; the
legal-hold flag is a marker this store honours, not a filesystem protection.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from hp_archive.errors import (
    ChecksumMismatchError,
    ObjectExistsError,
    ObjectLockedError,
    ObjectNotFoundError,
    StorageError,
)
from hp_archive.storage.base import CHUNK, ObjectInfo, ObjectStore, sha256_file, validate_key

#: temporary files start with this; keys with a segment starting with it are refused
TEMP_PREFIX = ".hp-tmp-"
_HEX = frozenset("0123456789abcdef")


class LocalObjectStore(ObjectStore):
    """Write-once objects in a directory; retain-until and legal hold enforced by this adapter.

    Creating the store touches nothing on disk; directories are made on the first write.
    """

    scheme = "file"

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    @property
    def url(self) -> str:
        return self.root.as_uri()

    @property
    def object_lock_enabled(self) -> bool:
        return True

    # -- writing -----------------------------------------------------------------------------

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        sha256: str,
        retain_until: datetime | None = None,
        content_type: str = "application/octet-stream",
    ) -> ObjectInfo:
        try:
            with Path(path).open("rb") as source:
                blocks = iter(lambda: source.read(CHUNK), b"")
                return self._write(key, blocks, sha256, retain_until, content_type)
        except OSError as exc:  # opening the source; _write translates its own errors
            raise StorageError(
                f"cannot read {str(path)!r} to store as {key!r}: {exc.strerror or exc}"
            ) from exc

    def _put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        sha256: str,
        retain_until: datetime | None,
        content_type: str,
    ) -> ObjectInfo:
        return self._write(key, [data], sha256, retain_until, content_type)

    def _write(
        self,
        key: str,
        blocks: Iterable[bytes],
        sha256: str,
        retain_until: datetime | None,
        content_type: str,
    ) -> ObjectInfo:
        key = self._check_key(key)
        sha256 = _check_sha256(sha256, key)
        until = _utc(retain_until, "retain_until") if retain_until is not None else None
        target = self._object_path(key)

        existing = self._load(key)
        if existing is not None:
            return self._existing(key, existing, sha256, until, content_type)
        if target.is_dir():
            raise StorageError(
                f"object key {key!r} cannot be stored in {self.url}: other objects are stored "
                "below it; choose a key that is not a prefix directory"
            )

        tmp = self._temp_file(target, key)
        try:
            with tmp.open("wb") as out:
                digest = hashlib.sha256()
                size = 0
                for block in blocks:
                    digest.update(block)
                    size += len(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise ChecksumMismatchError(
                    f"object {key!r}: the bytes given hash to {digest.hexdigest()} but the caller "
                    f"sent {sha256}: the source changed or is damaged; recompute and retry"
                )
            # Re-read what reached the disk, not what passed through our buffer.
            on_disk = sha256_file(tmp)
            if on_disk != sha256:
                raise ChecksumMismatchError(
                    f"object {key!r} reads back from {self.url} with SHA-256 {on_disk}, "
                    f"expected {sha256}: check the disk under {str(self.root)!r} and retry"
                )
            tmp.chmod(0o444)
            try:
                os.link(tmp, target)
            except FileExistsError:
                # Another writer won the race; its object is the object.
                winner = self._load(key)
                if winner is None:
                    raise StorageError(
                        f"object {key!r} appeared and vanished during the write to {self.url}: "
                        "retry the write"
                    ) from None
                return self._existing(key, winner, sha256, until, content_type)
            _fsync_dir(target.parent)
        except OSError as exc:
            raise StorageError(
                f"cannot write object {key!r} under {str(self.root)!r}: {exc.strerror or exc}"
            ) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

        meta = _new_meta(sha256, size, until, content_type)
        self._create_meta(key, meta)
        return self.head(key) or ObjectInfo(key, size, sha256, until)

    def _existing(
        self,
        key: str,
        loaded: tuple[int, dict[str, Any], bool],
        sha256: str,
        until: datetime | None,
        content_type: str,
    ) -> ObjectInfo:
        """A repeated write: the same bytes return the stored object, other bytes are refused."""
        size, meta, has_sidecar = loaded
        if meta.get("sha256") != sha256:
            raise ObjectExistsError(
                f"object {key!r} already exists in {self.url} with SHA-256 {meta.get('sha256')}, "
                f"not {sha256}: objects are write-once, store it under a new key"
            )
        if not has_sidecar:
            # The first writer crashed between linking the object and writing its sidecar.
            self._create_meta(key, _new_meta(sha256, size, until, content_type))
        return self.head(key) or _info(key, size, meta)

    def _temp_file(self, target: Path, key: str) -> Path:
        for _ in range(3):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
                # O_EXCL: the name is ours alone; 0o600 until the bytes are verified.
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                return tmp
            except FileNotFoundError:
                continue  # a concurrent delete pruned the empty directory; make it again
            except (NotADirectoryError, FileExistsError) as exc:
                raise StorageError(
                    f"object {key!r} cannot be stored in {self.url}: a parent of it is already "
                    "an object; choose a key that is not below another key"
                ) from exc
            except OSError as exc:
                raise StorageError(
                    f"cannot create a file in {str(target.parent)!r} for object {key!r}: "
                    f"{exc.strerror or exc}"
                ) from exc
        raise StorageError(f"cannot create the directory for object {key!r} in {self.url}: retry")

    # -- reading -----------------------------------------------------------------------------

    def head(self, key: str) -> ObjectInfo | None:
        key = self._check_key(key)
        loaded = self._load(key)
        if loaded is None:
            return None
        size, meta, _ = loaded
        return _info(key, size, meta)

    def open(self, key: str) -> BinaryIO:
        key = self._check_key(key)
        try:
            return self._object_path(key).open("rb")
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFoundError(f"object {key!r} is missing from {self.url}") from exc
        except OSError as exc:
            raise StorageError(f"cannot open object {key!r} in {self.url}: {exc.strerror}") from exc

    def local_path(self, key: str) -> Path | None:
        path = self._object_path(self._check_key(key))
        return path if path.is_file() else None

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        _check_range(key, offset, length)
        with self.open(key) as stream:
            stream.seek(offset)
            data = stream.read(length)
        if len(data) != length:
            raise StorageError(
                f"range {offset}+{length} of object {key!r} runs past its end "
                f"({offset + len(data)} bytes): the index and the object disagree, run "
                "'hp-archive fixity'"
            )
        return data

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        if (
            prefix.startswith("/")
            or "\\" in prefix
            or "\x00" in prefix
            or any(part in ("", ".", "..") for part in prefix.split("/")[:-1])
        ):
            raise StorageError(f"list prefix {prefix!r} is invalid: use a relative 'a/b/' prefix or ''")
        # Start at the deepest directory the prefix fully names; filter the rest by string so
        # the order is plain key order, the same as S3's (b"a-c" < b"a/b").
        start = self._objects.joinpath(*prefix.split("/")[:-1]) if "/" in prefix else self._objects
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(TEMP_PREFIX)]
            rel = Path(dirpath).relative_to(self._objects).as_posix()
            for name in filenames:
                if name.startswith(TEMP_PREFIX):
                    continue
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        for key in sorted(keys):
            info = self.head(key)
            if info is not None:  # deleted while we walked
                yield info

    # -- retention and disposal --------------------------------------------------------------

    def delete(self, key: str, *, as_of: datetime, bypass_governance: bool = False) -> None:
        key = self._check_key(key)
        as_of = _utc(as_of, "as_of")
        target = self._object_path(key)
        try:
            with self._locked(key) as meta:
                if meta.get("legal_hold"):
                    raise ObjectLockedError(
                        f"object {key!r} in {self.url} is under legal hold: release the hold first"
                    )
                until = _parse_iso(meta.get("retain_until"))
                if until is not None and as_of < until and not bypass_governance:
                    raise ObjectLockedError(
                        f"object {key!r} in {self.url} is retained until {_iso(until)}, "
                        f"after {_iso(as_of)}: wait for that date"
                    )
                try:
                    target.unlink(missing_ok=True)
                    _fsync_dir(target.parent)
                    self._meta_path(key).unlink(missing_ok=True)
                except OSError as exc:
                    raise StorageError(
                        f"cannot delete object {key!r} from {self.url}: {exc.strerror or exc}"
                    ) from exc
        except ObjectNotFoundError:
            return  # deleting a missing key is a no-op, so a destruction can be resumed
        # Directory names carry key names; a disposal leaves none behind.
        _prune_empty(target.parent, self._objects)
        _prune_empty(self._meta_path(key).parent, self._meta)

    def set_retain_until(self, key: str, retain_until: datetime) -> None:
        key = self._check_key(key)
        until = _utc(retain_until, "retain_until")
        with self._locked(key) as meta:
            current = _parse_iso(meta.get("retain_until"))
            if current is not None and until < current:
                raise ObjectLockedError(
                    f"object {key!r} in {self.url} is retained until {_iso(current)}: a "
                    f"retain-until date can only be extended, not moved back to {_iso(until)}"
                )
            if current != until:
                meta["retain_until"] = _iso(until)
                self._replace_meta(key, meta)

    def set_legal_hold(self, key: str, on: bool) -> None:
        key = self._check_key(key)
        with self._locked(key) as meta:
            if bool(meta.get("legal_hold")) != on:
                meta["legal_hold"] = on
                self._replace_meta(key, meta)

    # -- internals ---------------------------------------------------------------------------

    def _check_key(self, key: str) -> str:
        validate_key(key)
        if any(part.startswith(TEMP_PREFIX) for part in key.split("/")):
            raise StorageError(
                f"object key {key!r} is invalid: segments starting with {TEMP_PREFIX!r} are "
                "reserved for temporary files"
            )
        return key

    def _object_path(self, key: str) -> Path:
        return self._objects.joinpath(*key.split("/"))

    def _meta_path(self, key: str) -> Path:
        parts = key.split("/")
        return self._meta.joinpath(*parts[:-1], parts[-1] + ".json")

    def _load(self, key: str) -> tuple[int, dict[str, Any], bool] | None:
        """(size, metadata, whether the sidecar exists) of a stored object, or None."""
        target = self._object_path(key)
        try:
            st = target.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(f"cannot stat object {key!r} in {self.url}: {exc.strerror}") from exc
        if not stat.S_ISREG(st.st_mode):
            return None  # a directory holding other keys, not an object
        meta = self._read_meta(key)
        if meta is not None:
            return st.st_size, meta, True
        # A crash between linking the object and writing its sidecar: the bytes are
        # authoritative. The next write of this key writes the sidecar back.
        try:
            digest = sha256_file(target)
        except OSError as exc:
            raise StorageError(f"cannot read object {key!r} in {self.url}: {exc.strerror}") from exc
        return st.st_size, _new_meta(digest, st.st_size, None, None), False

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[dict[str, Any]]:
        """Hold an exclusive lock on the object file while its metadata is read and changed."""
        target = self._object_path(key)
        try:
            fh = target.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFoundError(f"object {key!r} is missing from {self.url}") from exc
        except OSError as exc:
            raise StorageError(f"cannot open object {key!r} in {self.url}: {exc.strerror}") from exc
        with fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            loaded = self._load(key)
            # Deleted (or deleted and written again) while we waited for the lock.
            if loaded is None or os.fstat(fh.fileno()).st_ino != target.stat().st_ino:
                raise ObjectNotFoundError(f"object {key!r} is missing from {self.url}")
            _, meta, has_sidecar = loaded
            if not has_sidecar:
                self._create_meta(key, meta)
                meta = self._read_meta(key) or meta
            yield meta

    def _read_meta(self, key: str) -> dict[str, Any] | None:
        path = self._meta_path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(
                f"cannot read metadata of object {key!r} at {str(path)!r}: {exc.strerror}"
            ) from exc
        try:
            meta = json.loads(text)
        except ValueError as exc:
            raise StorageError(
                f"metadata of object {key!r} at {str(path)!r} is not valid JSON: "
                "restore it from backup or delete it to have it rebuilt from the object"
            ) from exc
        if not isinstance(meta, dict):
            raise StorageError(f"metadata of object {key!r} at {str(path)!r} is not a JSON object")
        return meta

    def _create_meta(self, key: str, meta: dict[str, Any]) -> None:
        """Write the sidecar unless one exists (a racing writer of the same bytes wrote it)."""
        self._write_meta(key, meta, replace=False)

    def _replace_meta(self, key: str, meta: dict[str, Any]) -> None:
        self._write_meta(key, meta, replace=True)

    def _write_meta(self, key: str, meta: dict[str, Any], *, replace: bool) -> None:
        path = self._meta_path(key)
        for attempt in range(3):
            tmp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with tmp.open("x", encoding="utf-8") as out:
                    json.dump(meta, out, sort_keys=True)
                    out.flush()
                    os.fsync(out.fileno())
                if replace:
                    os.replace(tmp, path)
                else:
                    with contextlib.suppress(FileExistsError):
                        os.link(tmp, path)
                _fsync_dir(path.parent)
                return
            except FileNotFoundError:
                if attempt == 2:
                    raise StorageError(
                        f"cannot write metadata of object {key!r} at {str(path)!r}: its "
                        "directory keeps disappearing; retry"
                    ) from None
                # a concurrent delete pruned the empty directory; make it again
            except OSError as exc:
                raise StorageError(
                    f"cannot write metadata of object {key!r} at {str(path)!r}: {exc.strerror or exc}"
                ) from exc
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()


def _new_meta(sha256: str, size: int, until: datetime | None, content_type: str | None) -> dict[str, Any]:
    return {
        "sha256": sha256,
        "size": size,
        "retain_until": _iso(until) if until is not None else None,
        "legal_hold": False,
        "content_type": content_type or "application/octet-stream",
    }


def _info(key: str, size: int, meta: dict[str, Any]) -> ObjectInfo:
    sha = meta.get("sha256")
    return ObjectInfo(
        key=key,
        size=size,
        sha256=sha if isinstance(sha, str) else None,
        retain_until=_parse_iso(meta.get("retain_until")),
        legal_hold=bool(meta.get("legal_hold", False)),
    )


def _check_sha256(sha256: str, key: str) -> str:
    value = sha256.lower()
    if len(value) != 64 or not set(value) <= _HEX:
        raise StorageError(
            f"SHA-256 {sha256!r} given for object {key!r} is not 64 hex digits: pass hexdigest()"
        )
    return value


def _check_range(key: str, offset: int, length: int) -> None:
    if offset < 0 or length < 0:
        raise StorageError(
            f"range {offset}+{length} of object {key!r} is invalid: offset and length must be >= 0"
        )


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise StorageError(f"{name} {value.isoformat()} has no time zone: pass an aware datetime")
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_iso(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value).astimezone(UTC)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some filesystems refuse fsync on a directory
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _prune_empty(directory: Path, stop: Path) -> None:
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return  # not empty, or already gone
        directory = directory.parent
