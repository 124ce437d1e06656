"""Object storage for stored WARCs: the port and its two adapters.

``store_from_url`` turns ``HP_ARCHIVE_STORAGE_URL`` into a store::

    store_from_url("file:///srv/hp-archive/store")      # LocalObjectStore
    store_from_url("/srv/hp-archive/store")             # the same, as a plain path
    store_from_url("s3://records/hp", endpoint_url=…)   # S3ObjectStore (AWS, MinIO, Ceph)
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from hp_archive.errors import ConfigError, ObjectLockUnavailableError
from hp_archive.storage.base import ObjectInfo, ObjectStore
from hp_archive.storage.local import LocalObjectStore
from hp_archive.storage.s3 import S3ObjectStore

__all__ = ["LocalObjectStore", "ObjectInfo", "ObjectStore", "S3ObjectStore", "store_from_url"]

_FORMS = "use file:///absolute/path, a directory path, or s3://bucket/prefix"
# AWS's rules for new buckets, which MinIO and Ceph also apply.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SCHEME_WITHOUT_SLASHES = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


def store_from_url(
    url: str, *, endpoint_url: str | None = None, require_object_lock: bool = False
) -> ObjectStore:
    """The object store a URL names (``file:///abs/path``, a plain path, or ``s3://bucket/prefix``).

    ``endpoint_url`` points S3 at MinIO, Ceph or a test server; AWS is the default. With
    ``require_object_lock`` an S3 bucket without Object Lock is refused (this makes one request);
    the local store always enforces retention itself. Raises ConfigError for anything else.
    """
    text = url.strip()
    if not text:
        raise ConfigError(f"the storage URL is empty: set HP_ARCHIVE_STORAGE_URL; {_FORMS}")
    if "://" not in text:
        if _SCHEME_WITHOUT_SLASHES.match(text):
            raise ConfigError(f"storage URL {_shown(text)!r} looks like a URL without '//': {_FORMS}")
        return LocalObjectStore(Path(text).expanduser())

    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise ConfigError(
                f"storage URL {_shown(text)!r} is not an absolute file URL: write "
                "file:///absolute/path (three slashes)"
            )
        if parts.query or parts.fragment:
            raise ConfigError(f"storage URL {_shown(text)!r} has a query or fragment: {_FORMS}")
        return LocalObjectStore(Path(path))

    if scheme == "s3":
        if "@" in parts.netloc:
            # Do not echo the URL: the part before '@' is a credential.
            raise ConfigError(
                "the s3:// storage URL contains credentials: remove them and use "
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE or an instance role"
            )
        bucket = parts.netloc
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise ConfigError(
                f"storage URL {text!r} names bucket {bucket!r}, which is not a valid S3 bucket "
                "name: use 3-63 lowercase letters, digits, '.' or '-'"
            )
        if parts.query or parts.fragment:
            raise ConfigError(f"storage URL {text!r} has a query or fragment: {_FORMS}")
        store = S3ObjectStore(bucket, unquote(parts.path).strip("/"), endpoint_url=endpoint_url)
        if require_object_lock and not store.object_lock_enabled:
            raise ObjectLockUnavailableError(
                f"bucket {bucket!r} has no Object Lock: create it with Object Lock enabled or set "
                "HP_ARCHIVE_REQUIRE_OBJECT_LOCK=0"
            )
        return store

    raise ConfigError(f"storage URL {_shown(text)!r} is not supported: {_FORMS}")


def _shown(url: str) -> str:
    """The URL fit for a message: user info (a credential) and query removed."""
    parts = urlsplit(url)
    if "@" not in parts.netloc and not parts.query:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
