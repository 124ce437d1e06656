"""The one exception hierarchy of hp_archive.

Every error a person can see derives from :class:`HPArchiveError`; its ``str()`` is a single line
that names the thing, the problem and what to do about it. Library errors (boto3, SQLAlchemy,
requests, warcio) are translated at the boundary with ``raise ... from exc`` so callers only ever
catch these::

    HPArchiveError
    ├── ConfigError                 settings, accounts file, retention schedule files
    ├── StorageError                object store
    │   ├── ObjectExistsError       write-once refused: the key holds different bytes
    │   ├── ObjectNotFoundError
    │   ├── ChecksumMismatchError   stored bytes do not match the SHA-256 the caller sent
    │   ├── ObjectLockedError       retain-until or legal hold forbids the operation
    │   └── ObjectLockUnavailableError
    ├── WarcError                   a WARC file that cannot be read or written
    ├── IndexError_                 the SQL index (named with an underscore: ``IndexError`` is a builtin)
    │   └── NotFoundError           an item, run or certificate id that does not exist
    ├── SourceError                 talking to a platform
    │   ├── AuthenticationError     expired or revoked token: the account stops, others continue
    │   ├── RateLimitedError        the account's request budget is spent
    │   ├── PlatformError           the platform answered with an error object
    │   └── TransportError          no usable response: refused, dropped, timed out, too large
    ├── CaptureError                a capture run that could not complete
    └── QueryError                  a search query that does not parse
"""

from __future__ import annotations


class HPArchiveError(Exception):
    """Base of every hp_archive error; ``str(err)`` is one actionable line."""

    def __str__(self) -> str:
        text = super().__str__()
        # One line, always: a multi-line message from a library must not break log parsing.
        return " ".join(text.split())


class ConfigError(HPArchiveError):
    """Configuration, accounts file or schedule file is invalid or missing."""


class StorageError(HPArchiveError):
    """The object store refused or failed an operation."""


class ObjectExistsError(StorageError):
    """A write-once key already holds different bytes."""


class ObjectNotFoundError(StorageError):
    """The key does not exist in the object store."""


class ChecksumMismatchError(StorageError):
    """Bytes read or written do not match the recorded SHA-256."""


class ObjectLockedError(StorageError):
    """A retention date or legal hold forbids deleting or changing the object."""


class ObjectLockUnavailableError(StorageError):
    """Object Lock was requested but the bucket does not have it enabled."""


class WarcError(HPArchiveError):
    """A WARC file is damaged or a record cannot be built."""


class IndexError_(HPArchiveError):
    """The SQL index could not be read or written."""


class NotFoundError(IndexError_):
    """An identifier (item, run, matter, certificate) does not exist."""


class SourceError(HPArchiveError):
    """A platform could not be captured."""


class AuthenticationError(SourceError):
    """The account's token is expired, revoked or lacks a permission."""


class RateLimitedError(SourceError):
    """The platform's rate limit spent the account's request budget."""


class PlatformError(SourceError):
    """The platform answered with an error object or an unusable response."""


class TransportError(SourceError):
    """No usable response: connection refused or dropped, timeout, or an oversize body."""


class CaptureError(HPArchiveError):
    """A capture run could not finish."""


class QueryError(HPArchiveError):
    """A search query is malformed; the message points at the position."""
