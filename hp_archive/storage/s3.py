"""Any S3 API (AWS S3, MinIO, Ceph RGW) as the object store, through boto3.

A write sends the SHA-256 so the server verifies the bytes it received (``ChecksumSHA256``, per
part for multipart uploads), records the whole-object hex digest as user metadata ``sha256``,
and only counts once a HEAD shows the expected size and digests. Writes are conditional
(``If-None-Match: *``) where the server supports it, after a HEAD that makes repeated writes
cheap. With Object Lock on the bucket, retain-until dates and legal holds are the server's;
without it they are not enforced and :attr:`S3ObjectStore.object_lock_enabled` says so.

Credentials come from boto3's chain (environment, profile, instance role) and never appear in
messages or URLs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from hp_archive.errors import (
    ChecksumMismatchError,
    ConfigError,
    ObjectExistsError,
    ObjectLockedError,
    ObjectLockUnavailableError,
    ObjectNotFoundError,
    StorageError,
)
from hp_archive.storage.base import CHUNK, ObjectInfo, ObjectStore, validate_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MiB = 1024 * 1024
#: S3's smallest allowed part (except the last) and largest part count
MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000

LockMode = Literal["COMPLIANCE", "GOVERNANCE"]

_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion"})
_KEY_TAKEN = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})
_BAD_CHECKSUM = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "InvalidChecksum"})
_BAD_CREDENTIALS = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"})
_BUSY = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "503", "500"})
_HEX = frozenset("0123456789abcdef")


#: (version id or None for the "null" version, is a delete marker)
_Versions = list[tuple[str | None, bool]]


class _KeyTakenError(Exception):
    """A conditional write found the key already taken (internal signal, never escapes)."""


@dataclass(frozen=True)
class _Uploaded:
    size: int
    #: the ``ChecksumSHA256`` the server should report: base64 digest, or ``b64-N`` for N parts
    checksum: str
    version_id: str | None


class S3ObjectStore(ObjectStore):
    """Write-once objects in an S3 bucket under an optional key prefix.

    ``lock_mode`` is the Object Lock mode given to retain-until dates: COMPLIANCE (nobody can
    shorten or bypass it) or GOVERNANCE (principals with s3:BypassGovernanceRetention can).
    Creating the store makes no request; the bucket's Object Lock setting is read once, on first
    use.
    """

    scheme = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: S3Client | None = None,
        multipart_threshold: int = 64 * MiB,
        part_size: int = 16 * MiB,
        lock_mode: LockMode = "COMPLIANCE",
    ) -> None:
        if not bucket or "/" in bucket:
            raise ConfigError(f"S3 bucket name {bucket!r} is invalid: give a bare bucket name")
        prefix = prefix.strip("/")
        if prefix:
            try:
                validate_key(prefix)
            except StorageError as exc:
                raise ConfigError(
                    f"S3 key prefix {prefix!r} is invalid: use 'a/b' without '.' or '..'"
                ) from exc
        if lock_mode not in ("COMPLIANCE", "GOVERNANCE"):
            raise ConfigError(
                f"Object Lock mode {lock_mode!r} is not supported: use COMPLIANCE or GOVERNANCE"
            )
        if part_size < MIN_PART_SIZE:
            raise ConfigError(
                f"S3 part size {part_size} is below S3's minimum of {MIN_PART_SIZE} bytes (5 MiB)"
            )
        self.bucket = bucket
        self.prefix = prefix
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.lock_mode: LockMode = lock_mode
        self._key_prefix = f"{prefix}/" if prefix else ""
        self._client: S3Client = client if client is not None else _make_client(endpoint_url, region)
        self._endpoint = _redact(endpoint_url or self._client.meta.endpoint_url)
        self._lock_enabled: bool | None = None
        # Cleared the first time the server answers If-None-Match with 501 Not Implemented.
        self._conditional_writes = True

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.url!r}, endpoint={self._endpoint!r})"

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def object_lock_enabled(self) -> bool:
        if self._lock_enabled is None:
            try:
                answer = self._client.get_object_lock_configuration(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) != "ObjectLockConfigurationNotFoundError":
                    raise self._error(exc, "read the Object Lock configuration of") from exc
                self._lock_enabled = False
            except BotoCoreError as exc:
                raise self._error(exc, "read the Object Lock configuration of") from exc
            else:
                config = answer.get("ObjectLockConfiguration", {})
                self._lock_enabled = config.get("ObjectLockEnabled") == "Enabled"
        return self._lock_enabled

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
        key, sha256, until, existing = self._prepare(key, sha256, retain_until)
        if existing is not None:
            return existing
        path = Path(path)
        try:
            size = path.stat().st_size
            data = path.read_bytes() if size <= self.multipart_threshold else None
        except OSError as exc:
            raise StorageError(
                f"cannot read {str(path)!r} to store as {key!r}: {exc.strerror or exc}"
            ) from exc
        if data is None:
            return self._write(
                key,
                sha256,
                lambda: self._put_multipart(
                    key, path, size=size, sha256=sha256, until=until, content_type=content_type
                ),
            )
        return self._write(key, sha256, lambda: self._put_single(key, data, sha256, until, content_type))

    def _put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        sha256: str,
        retain_until: datetime | None,
        content_type: str,
    ) -> ObjectInfo:
        key, sha256, until, existing = self._prepare(key, sha256, retain_until)
        if existing is not None:
            return existing
        return self._write(key, sha256, lambda: self._put_single(key, data, sha256, until, content_type))

    def _prepare(
        self, key: str, sha256: str, retain_until: datetime | None
    ) -> tuple[str, str, datetime | None, ObjectInfo | None]:
        """Check a write's arguments; a stored object with the same digest makes it a no-op."""
        key = validate_key(key)
        sha256 = _check_sha256(sha256, key)
        until = _whole_seconds(retain_until, "retain_until") if retain_until is not None else None
        existing = self.head(key)
        return key, sha256, until, (self._same_or_conflict(existing, sha256) if existing else None)

    def _write(self, key: str, sha256: str, upload: Callable[[], _Uploaded]) -> ObjectInfo:
        try:
            uploaded = upload()
        except _KeyTakenError:
            # A concurrent writer got there between our HEAD and our write.
            existing = self.head(key)
            if existing is None:
                raise StorageError(
                    f"object {key!r} in {self.url} was written and removed while we wrote it: retry the write"
                ) from None
            return self._same_or_conflict(existing, sha256)
        return self._verify(key, sha256, uploaded)

    def _same_or_conflict(self, existing: ObjectInfo, sha256: str) -> ObjectInfo:
        if existing.sha256 == sha256:
            return existing
        raise ObjectExistsError(
            f"object {existing.key!r} already exists in {self.url} with SHA-256 "
            f"{existing.sha256}, not {sha256}: objects are write-once, store it under a new key"
        )

    def _object_args(
        self, key: str, sha256: str, until: datetime | None, content_type: str
    ) -> dict[str, Any]:
        args: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self._full(key),
            "ContentType": content_type,
            "Metadata": {"sha256": sha256},
            "ChecksumAlgorithm": "SHA256",
        }
        if until is not None and self.object_lock_enabled:
            args["ObjectLockMode"] = self.lock_mode
            args["ObjectLockRetainUntilDate"] = until
        return args

    def _put_single(
        self, key: str, data: bytes, sha256: str, until: datetime | None, content_type: str
    ) -> _Uploaded:
        digest = hashlib.sha256(data).digest()
        if digest.hex() != sha256:
            raise ChecksumMismatchError(
                f"object {key!r}: the bytes given hash to {digest.hex()} but the caller sent "
                f"{sha256}: the source changed or is damaged; recompute and retry"
            )
        checksum = _b64(digest)
        args = self._object_args(key, sha256, until, content_type)
        args.update(Body=data, ChecksumSHA256=checksum)
        answer = self._conditional(self._client.put_object, args, key)
        return _Uploaded(len(data), checksum, _version(answer))

    def _put_multipart(
        self,
        key: str,
        path: Path,
        *,
        size: int,
        sha256: str,
        until: datetime | None,
        content_type: str,
    ) -> _Uploaded:
        # Grow the part size in whole MiB when the file would need more parts than S3 allows.
        part_size = max(self.part_size, math.ceil(size / MAX_PARTS / MiB) * MiB)
        full = self._full(key)
        try:
            created = self._client.create_multipart_upload(
                **self._object_args(key, sha256, until, content_type)
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "start the upload of", key) from exc
        upload_id = created["UploadId"]
        try:
            whole = hashlib.sha256()
            part_digests: list[bytes] = []
            parts: list[dict[str, Any]] = []
            with path.open("rb") as source:
                while chunk := source.read(part_size):
                    digest = hashlib.sha256(chunk).digest()
                    whole.update(chunk)
                    part_digests.append(digest)
                    number = len(part_digests)
                    answer = self._client.upload_part(
                        Bucket=self.bucket,
                        Key=full,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                        ChecksumAlgorithm="SHA256",
                        ChecksumSHA256=_b64(digest),
                    )
                    parts.append(
                        {
                            "PartNumber": number,
                            "ETag": answer["ETag"],
                            "ChecksumSHA256": _b64(digest),
                        }
                    )
            if whole.hexdigest() != sha256:
                raise ChecksumMismatchError(
                    f"object {key!r}: {str(path)!r} hashes to {whole.hexdigest()} but the caller "
                    f"sent {sha256}: the file changed or is damaged; recompute and retry"
                )
            args = {
                "Bucket": self.bucket,
                "Key": full,
                "UploadId": upload_id,
                "MultipartUpload": {"Parts": parts},
            }
            answer = self._conditional(self._client.complete_multipart_upload, args, key)
        except BaseException as exc:
            # Abandoned parts are invisible but billed and would outlive a disposal.
            with contextlib.suppress(ClientError, BotoCoreError):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
            if isinstance(exc, ClientError | BotoCoreError):
                raise self._error(exc, "upload", key) from exc
            if isinstance(exc, OSError):
                raise StorageError(
                    f"cannot read {str(path)!r} to store as {key!r}: {exc.strerror or exc}"
                ) from exc
            raise
        # S3's multipart checksum: the digest of the parts' digests, suffixed with the count.
        composite = _b64(hashlib.sha256(b"".join(part_digests)).digest())
        return _Uploaded(size, f"{composite}-{len(part_digests)}", _version(answer))

    def _conditional(self, call: Callable[..., Any], args: dict[str, Any], key: str) -> Any:
        """Make a write with ``If-None-Match: *`` where the server supports it."""
        if self._conditional_writes:
            try:
                return call(**args, IfNoneMatch="*")
            except ClientError as exc:
                code = _code(exc)
                if code in _KEY_TAKEN:
                    raise _KeyTakenError(key) from exc
                if code != "NotImplemented":
                    raise self._error(exc, "write", key) from exc
                # An older server: the HEAD before the write is the write-once guard.
                self._conditional_writes = False
            except BotoCoreError as exc:
                raise self._error(exc, "write", key) from exc
        try:
            return call(**args)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "write", key) from exc

    def _verify(self, key: str, sha256: str, uploaded: _Uploaded) -> ObjectInfo:
        """HEAD the new object; the write only counts once size and digests match."""
        head = self._head(key, uploaded.version_id)
        if head is None:
            raise StorageError(
                f"object {key!r} is not visible in {self.url} right after it was written: "
                "the server is not read-after-write consistent; retry the write"
            )
        problems = []
        if head.get("ContentLength") != uploaded.size:
            problems.append(f"size {head.get('ContentLength')} instead of {uploaded.size}")
        stored_sha = head.get("Metadata", {}).get("sha256")
        if stored_sha != sha256:
            problems.append(f"metadata sha256 {stored_sha} instead of {sha256}")
        checksum = head.get("ChecksumSHA256")
        # Some servers (moto) report a multipart checksum without its "-N" part count.
        if checksum is not None and checksum not in (
            uploaded.checksum,
            uploaded.checksum.partition("-")[0],
        ):
            problems.append(f"ChecksumSHA256 {checksum} instead of {uploaded.checksum}")
        if not problems:
            return self._info(key, head)
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._full(key)}
        if uploaded.version_id:
            args.update(VersionId=uploaded.version_id, BypassGovernanceRetention=True)
        try:
            self._client.delete_object(**args)
            outcome = "it was removed; retry the write"
        except (ClientError, BotoCoreError):
            outcome = "it could not be removed (Object Lock?); record it as damaged"
        raise ChecksumMismatchError(
            f"object {key!r} in {self.url} was stored with {', '.join(problems)}: {outcome}"
        )

    # -- reading -----------------------------------------------------------------------------

    def head(self, key: str) -> ObjectInfo | None:
        key = validate_key(key)
        answer = self._head(key)
        return None if answer is None else self._info(key, answer)

    def _head(self, key: str, version_id: str | None = None) -> Mapping[str, Any] | None:
        args: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self._full(key),
            "ChecksumMode": "ENABLED",
        }
        if version_id:
            args["VersionId"] = version_id
        try:
            return self._client.head_object(**args)
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                return None
            raise self._error(exc, "read", key) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "read", key) from exc

    def _info(self, key: str, head: Mapping[str, Any]) -> ObjectInfo:
        sha = head.get("Metadata", {}).get("sha256")
        checksum = head.get("ChecksumSHA256")
        if sha is None and checksum and "-" not in checksum:
            # Written by another tool: a single-part checksum is the whole object's digest.
            sha = base64.b64decode(checksum).hex()
        until = head.get("ObjectLockRetainUntilDate")
        return ObjectInfo(
            key=key,
            size=int(head.get("ContentLength", 0)),
            sha256=sha,
            retain_until=until.astimezone(UTC) if until is not None else None,
            legal_hold=head.get("ObjectLockLegalHoldStatus") == "ON",
        )

    def open(self, key: str) -> BinaryIO:
        key = validate_key(key)
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._full(key))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "read", key) from exc
        raw = _ObjectStream(answer["Body"], lambda exc: self._error(exc, "read", key))
        return io.BufferedReader(raw, CHUNK)

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        key = validate_key(key)
        if offset < 0 or length < 0:
            raise StorageError(
                f"range {offset}+{length} of object {key!r} is invalid: offset and length must be >= 0"
            )
        if length == 0:
            if self.head(key) is None:
                raise ObjectNotFoundError(f"object {key!r} is missing from {self.url}")
            return b""
        try:
            answer = self._client.get_object(
                Bucket=self.bucket,
                Key=self._full(key),
                Range=f"bytes={offset}-{offset + length - 1}",
            )
            data = answer["Body"].read()
        except ClientError as exc:
            if _code(exc) != "InvalidRange":
                raise self._error(exc, "read", key) from exc
            data = b""
        except BotoCoreError as exc:
            raise self._error(exc, "read", key) from exc
        content_range = answer.get("ContentRange", "") if data else ""
        if len(data) != length or (content_range and not content_range.startswith(f"bytes {offset}-")):
            raise StorageError(
                f"range {offset}+{length} of object {key!r} in {self.url} runs past its end "
                f"or was not honoured ({len(data)} bytes came back): the index and the object "
                "disagree, run 'hp-archive fixity'"
            )
        return data

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages = iter(paginator.paginate(Bucket=self.bucket, Prefix=self._key_prefix + prefix))
        start = len(self._key_prefix)
        while True:
            try:
                page = next(pages)
            except StopIteration:
                return
            except (ClientError, BotoCoreError) as exc:
                raise self._error(exc, "list", prefix or None) from exc
            for item in page.get("Contents", []):
                yield ObjectInfo(key=item["Key"][start:], size=item["Size"], sha256=None)

    # -- retention and disposal --------------------------------------------------------------

    def delete(self, key: str, *, as_of: datetime, bypass_governance: bool = False) -> None:
        key = validate_key(key)
        as_of = _utc(as_of, "as_of")
        versions = self._versions(key)
        if not versions:
            return
        if self.object_lock_enabled:
            # Check every version before removing any, so a refusal leaves the key whole.
            for version_id, is_marker in versions:
                if is_marker:
                    continue
                head = self._head(key, version_id)
                if head is not None:
                    self._check_deletable(key, self._info(key, head), as_of, bypass_governance)
        for version_id, _ in versions:
            args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._full(key)}
            if version_id is not None:
                args["VersionId"] = version_id
            if bypass_governance:
                args["BypassGovernanceRetention"] = True
            try:
                self._client.delete_object(**args)
            except ClientError as exc:
                if _code(exc) in _NOT_FOUND:
                    continue
                if _code(exc) in ("AccessDenied", "403") and self.object_lock_enabled:
                    raise ObjectLockedError(
                        f"S3 refused to delete object {key!r} from {self.url}: it is under "
                        "retention or legal hold by the server's clock (or the credentials lack "
                        "s3:DeleteObjectVersion): wait for the retain-until date or release it"
                    ) from exc
                raise self._error(exc, "delete", key) from exc
            except BotoCoreError as exc:
                raise self._error(exc, "delete", key) from exc
        if self._versions(key):
            raise StorageError(
                f"object {key!r} in {self.url} still has versions after deleting all of them: "
                "it was written again meanwhile; re-run the deletion"
            )

    def _check_deletable(self, key: str, info: ObjectInfo, as_of: datetime, bypass_governance: bool) -> None:
        if info.legal_hold:
            raise ObjectLockedError(
                f"object {key!r} in {self.url} is under legal hold: release the hold first"
            )
        if info.retain_until is not None and as_of < info.retain_until and not bypass_governance:
            raise ObjectLockedError(
                f"object {key!r} in {self.url} is retained until {_iso(info.retain_until)}, "
                f"after {_iso(as_of)}: wait for that date"
            )

    def versions(self, key: str) -> int:
        return len(self._versions(validate_key(key)))

    def _versions(self, key: str) -> _Versions:
        """(version id, is a delete marker) of every version of the key, delete markers too."""
        full = self._full(key)
        found: _Versions = []
        paginator = self._client.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for version in page.get("Versions", []):
                    if version.get("Key") == full:
                        found.append((version.get("VersionId"), False))
                for marker in page.get("DeleteMarkers", []):
                    if marker.get("Key") == full:
                        found.append((marker.get("VersionId"), True))
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "list the versions of", key) from exc
        return [(_version({"VersionId": vid}), marker) for vid, marker in found]

    def set_retain_until(self, key: str, retain_until: datetime) -> None:
        """Extend the object's retain-until date; a no-op when the bucket has no Object Lock."""
        key = validate_key(key)
        until = _whole_seconds(retain_until, "retain_until")
        head, args = self._current_version(key)
        if not self.object_lock_enabled:
            return
        current = self._info(key, head).retain_until
        if current is not None and until < current:
            raise ObjectLockedError(
                f"object {key!r} in {self.url} is retained until {_iso(current)}: a "
                f"retain-until date can only be extended, not moved back to {_iso(until)}"
            )
        if current == until:
            return
        mode = head.get("ObjectLockMode") or self.lock_mode
        try:
            self._client.put_object_retention(**args, Retention={"Mode": mode, "RetainUntilDate": until})
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "set the retain-until date of", key) from exc

    def set_legal_hold(self, key: str, on: bool) -> None:
        key = validate_key(key)
        if not self.object_lock_enabled:
            raise ObjectLockUnavailableError(
                f"bucket {self.bucket!r} has no Object Lock, so object {key!r} cannot be put "
                "under legal hold: create the bucket with Object Lock enabled"
            )
        _, args = self._current_version(key)
        try:
            self._client.put_object_legal_hold(**args, LegalHold={"Status": "ON" if on else "OFF"})
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "set the legal hold of", key) from exc

    def _current_version(self, key: str) -> tuple[Mapping[str, Any], dict[str, Any]]:
        """The HEAD of the key's current version and the arguments that address exactly it."""
        head = self._head(key)
        if head is None:
            raise ObjectNotFoundError(f"object {key!r} is missing from {self.url}")
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._full(key)}
        if _version(head):
            args["VersionId"] = _version(head)
        return head, args

    # -- internals ---------------------------------------------------------------------------

    def _full(self, key: str) -> str:
        return self._key_prefix + key

    def _error(self, exc: Exception, action: str, key: str | None = None) -> StorageError:
        """Translate a boto3 error into a one-line StorageError naming what to do."""
        what = f"object {key!r} in {self.url}" if key else self.url
        if isinstance(exc, ClientError):
            code = _code(exc)
            message = str(exc.response.get("Error", {}).get("Message", ""))[:200]
            if code in _NOT_FOUND:
                return ObjectNotFoundError(
                    f"object {key!r} is missing from {self.url}" if key else f"{what} is missing"
                )
            if code == "NoSuchBucket":
                return StorageError(
                    f"bucket {self.bucket!r} does not exist at {self._endpoint}: create it or fix "
                    "HP_ARCHIVE_STORAGE_URL / HP_ARCHIVE_S3_ENDPOINT_URL"
                )
            if code in _BAD_CHECKSUM:
                return ChecksumMismatchError(
                    f"S3 refused the bytes of {what} ({code}): they do not match the SHA-256 "
                    "sent; the data was damaged in transit or the source changed, retry"
                )
            if code in _BAD_CREDENTIALS:
                return StorageError(
                    f"{self._endpoint} rejected the credentials ({code}) when trying to {action} "
                    f"{what}: check AWS_ACCESS_KEY_ID / AWS_PROFILE and the secret key"
                )
            if code in ("AccessDenied", "403"):
                return StorageError(
                    f"access denied when trying to {action} {what}: grant the credentials the "
                    "S3 permission for it"
                )
            if code == "InvalidRequest" and "ObjectLock" in message.replace(" ", ""):
                return ObjectLockUnavailableError(
                    f"bucket {self.bucket!r} has no Object Lock: create the bucket with Object Lock enabled"
                )
            if code in _BUSY:
                return StorageError(
                    f"{self._endpoint} is unavailable ({code}) when trying to {action} {what}: retry later"
                )
            detail = f"{code}: {message}" if message else code
            return StorageError(f"cannot {action} {what}: {detail}")
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return StorageError(
                f"no usable S3 credentials to {action} {what}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an instance role"
            )
        if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
            return StorageError(
                f"cannot reach {self._endpoint} to {action} {what}: check "
                "HP_ARCHIVE_S3_ENDPOINT_URL and the network"
            )
        return StorageError(f"cannot {action} {what}: {type(exc).__name__}")


class _ObjectStream(io.RawIOBase):
    """An S3 response body whose read errors are StorageErrors."""

    def __init__(self, body: Any, describe: Callable[[Exception], StorageError]) -> None:
        self._body = body
        self._describe = describe

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._body.read(len(view))
        except BotoCoreError as exc:
            raise self._describe(exc) from exc
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _make_client(endpoint_url: str | None, region: str | None) -> S3Client:
    config = Config(
        # Path-style works on MinIO, Ceph and moto; AWS picks its own style.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        retries={"mode": "standard", "max_attempts": 5},
        # We send SHA-256 checksums ourselves; no extra CRC32 on every request.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        user_agent_extra="hp-archive",
    )
    try:
        return boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )
    except (BotoCoreError, ValueError) as exc:
        shown = _redact(endpoint_url) if endpoint_url else "the default AWS endpoint"
        raise ConfigError(
            f"cannot set up an S3 client for {shown}: check HP_ARCHIVE_S3_ENDPOINT_URL "
            f"(an http(s) URL) and the region ({type(exc).__name__})"
        ) from exc


def _code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code:
        return code
    return str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def _version(answer: Mapping[str, Any]) -> str | None:
    """The answer's version id; None for "null", an object written while versioning was off."""
    version_id = answer.get("VersionId")
    return None if version_id in (None, "", "null") else str(version_id)


def _redact(url: str) -> str:
    """The URL without user info or query, which could carry credentials."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _check_sha256(sha256: str, key: str) -> str:
    value = sha256.lower()
    if len(value) != 64 or not set(value) <= _HEX:
        raise StorageError(
            f"SHA-256 {sha256!r} given for object {key!r} is not 64 hex digits: pass hexdigest()"
        )
    return value


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise StorageError(f"{name} {value.isoformat()} has no time zone: pass an aware datetime")
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _whole_seconds(value: datetime, name: str) -> datetime:
    """UTC, rounded up to the second: S3 keeps retain-until dates to the second, never less."""
    value = _utc(value, name)
    if value.microsecond:
        value = value.replace(microsecond=0) + timedelta(seconds=1)
    return value
