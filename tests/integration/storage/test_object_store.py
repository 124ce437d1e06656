"""One suite for every object-store adapter: a local directory and S3 (moto's server over HTTP).

Tests parametrized by the ``kind``/``store``/``locked_store`` fixtures run against both adapters;
the S3-only and local-only tests below them cover what one adapter alone can show.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from hp_archive.errors import (
    ChecksumMismatchError,
    ConfigError,
    HPArchiveError,
    ObjectExistsError,
    ObjectLockedError,
    ObjectLockUnavailableError,
    ObjectNotFoundError,
    StorageError,
)
from hp_archive.storage import LocalObjectStore, ObjectStore, S3ObjectStore, store_from_url

MiB = 1024 * 1024
# The dummy credentials the conftest puts in the environment; they must never appear in messages.
ACCESS_KEY = "AKIAHPARCHIVETESTING"
SECRET_KEY = "hp-archive-test-secret-Zq9vX2mW7kL4"
AS_OF = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
WARC = b"WARC/1.1\r\nWARC-Type: response\r\n\r\n" + bytes(range(256)) * 40


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / f"spool-{uuid.uuid4().hex[:8]}.warc.gz"
    path.write_bytes(data)
    return path


def in_future(seconds: int) -> datetime:
    """A whole-second moment ``seconds`` after the real clock (S3 Object Lock uses real time)."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text
    assert SECRET_KEY not in text and SECRET_KEY not in repr(err)
    return text


# -- writing and reading, both adapters ----------------------------------------------------------


def test_round_trip_put_head_get_range_list_download(store: ObjectStore, tmp_path: Path) -> None:
    key = "facebook/page-1/2025-03-01/run-1.warc.gz"
    info = store.put_file(key, write(tmp_path, WARC), sha256=sha(WARC))

    assert (info.key, info.size, info.sha256) == (key, len(WARC), sha(WARC))
    assert store.head(key) == info
    assert store.get_bytes(key) == WARC
    with store.open(key) as stream:
        assert stream.read(8) == b"WARC/1.1"
        assert stream.read() == WARC[8:]
    assert store.get_range(key, 10, 100) == WARC[10:110]
    assert store.get_range(key, len(WARC) - 5, 5) == WARC[-5:]
    assert store.get_range(key, 3, 0) == b""

    out = tmp_path / "restored.warc.gz"
    assert store.download(key, out).sha256 == sha(WARC)
    assert out.read_bytes() == WARC
    assert store.head("facebook/page-1/2025-03-01/other.warc.gz") is None
    assert store.url.startswith(f"{store.scheme}://")


def test_put_bytes_and_list_in_key_order_with_prefix(store: ObjectStore) -> None:
    # "a-c" sorts before "a/b" (0x2d < 0x2f): the local walk must match S3's byte order.
    keys = ["z", "a/b", "a-c", "a.b/x", "a0", "B", "é/x", "a/c/d"]
    for key in keys:
        store.put_bytes(key, key.encode())

    listed = list(store.list())
    assert [i.key for i in listed] == sorted(keys)
    assert [i.size for i in listed] == [len(k.encode()) for k in sorted(keys)]
    assert [i.key for i in store.list("a/")] == ["a/b", "a/c/d"]
    assert [i.key for i in store.list("a")] == ["a-c", "a.b/x", "a/b", "a/c/d", "a0"]
    assert [i.key for i in store.list("a/c")] == ["a/c/d"]
    assert list(store.list("nothing/")) == []


def test_same_bytes_again_is_a_no_op(store: ObjectStore, tmp_path: Path) -> None:
    until = AS_OF + timedelta(days=365)
    first = store.put_file("k.warc.gz", write(tmp_path, WARC), sha256=sha(WARC), retain_until=until)
    again = store.put_file("k.warc.gz", write(tmp_path, WARC), sha256=sha(WARC), retain_until=until)
    assert again == first
    assert store.put_bytes("k.warc.gz", WARC) == first
    assert [i.key for i in store.list()] == ["k.warc.gz"]


def test_different_bytes_under_a_taken_key_are_refused(store: ObjectStore) -> None:
    store.put_bytes("run-1.warc.gz", WARC)
    with pytest.raises(ObjectExistsError) as caught:
        store.put_bytes("run-1.warc.gz", WARC + b"tampered")
    assert "'run-1.warc.gz'" in one_line(caught.value)
    assert store.get_bytes("run-1.warc.gz") == WARC


def test_wrong_sha256_is_refused_and_leaves_no_object(store: ObjectStore, tmp_path: Path) -> None:
    path = write(tmp_path, WARC)
    with pytest.raises(ChecksumMismatchError) as caught:
        store.put_file("bad.warc.gz", path, sha256=sha(b"something else"))
    assert "'bad.warc.gz'" in one_line(caught.value)
    assert store.head("bad.warc.gz") is None
    assert list(store.list()) == []
    with pytest.raises(StorageError):
        store.put_file("bad.warc.gz", path, sha256="not-a-digest")


def test_large_file_goes_multipart_and_is_verified(kind: Any, tmp_path: Path) -> None:
    store = kind.make(multipart_threshold=5 * MiB, part_size=5 * MiB)
    data = os.urandom(11 * MiB)  # three parts: 5 + 5 + 1 MiB
    info = store.put_file("big.warc.gz", write(tmp_path, data), sha256=sha(data))
    assert (info.size, info.sha256) == (len(data), sha(data))
    assert store.head("big.warc.gz") == info
    assert store.get_range("big.warc.gz", 5 * MiB - 3, 6) == data[5 * MiB - 3 : 5 * MiB + 3]
    assert store.download("big.warc.gz", tmp_path / "big.out").sha256 == sha(data)

    with pytest.raises(ChecksumMismatchError):
        store.put_file("big-bad.warc.gz", write(tmp_path, data), sha256=sha(b"x"))
    assert store.head("big-bad.warc.gz") is None


def test_missing_objects(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError):
        store.open("missing")
    with pytest.raises(ObjectNotFoundError):
        store.get_range("missing", 0, 10)
    with pytest.raises(ObjectNotFoundError):
        store.download("missing", tmp_path / "out")
    store.delete("missing", as_of=AS_OF)  # a no-op, so a destruction can be resumed


def test_range_past_the_end_is_an_error(store: ObjectStore) -> None:
    store.put_bytes("small", b"0123456789")
    with pytest.raises(StorageError):
        store.get_range("small", 5, 10)
    with pytest.raises(StorageError):
        store.get_range("small", 20, 1)
    with pytest.raises(StorageError):
        store.get_range("small", -1, 1)


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "../escape", "a/../b", "a/./b", "a/", "a\\b", "a\x00b"])
def test_invalid_keys_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(StorageError) as caught:
        store.put_bytes(key, b"x")
    one_line(caught.value)
    with pytest.raises(StorageError):
        store.head(key)
    with pytest.raises(StorageError):
        store.delete(key, as_of=AS_OF)
    assert list(store.list()) == []


def test_times_must_be_aware(locked_store: ObjectStore) -> None:
    locked_store.put_bytes("k", b"x")
    naive = datetime(2030, 1, 1)
    with pytest.raises(StorageError, match="time zone"):
        locked_store.put_bytes("k2", b"x", retain_until=naive)
    with pytest.raises(StorageError, match="time zone"):
        locked_store.delete("k", as_of=naive)


def test_delete_removes_the_object(store: ObjectStore) -> None:
    store.put_bytes("a/b/c.warc.gz", WARC)
    store.delete("a/b/c.warc.gz", as_of=AS_OF)
    assert store.head("a/b/c.warc.gz") is None
    assert list(store.list()) == []
    store.delete("a/b/c.warc.gz", as_of=AS_OF)  # again: a no-op
    store.put_bytes("a/b/c.warc.gz", WARC + b"new")  # the key is free again


# -- retention and legal holds, both adapters ----------------------------------------------------


def test_retain_until_blocks_delete_before_the_date(locked_store: ObjectStore) -> None:
    assert locked_store.object_lock_enabled
    until = in_future(3600)
    info = locked_store.put_bytes("r.warc.gz", WARC, retain_until=until)
    assert info.retain_until == until
    assert locked_store.head("r.warc.gz") == info

    with pytest.raises(ObjectLockedError) as caught:
        locked_store.delete("r.warc.gz", as_of=until - timedelta(seconds=1))
    assert "'r.warc.gz'" in one_line(caught.value)
    assert locked_store.get_bytes("r.warc.gz") == WARC


def test_retain_until_allows_delete_after_the_date(kind: Any) -> None:
    store = kind.make(object_lock=True)
    until = in_future(2)  # S3 Object Lock follows the server's real clock
    store.put_bytes("r.warc.gz", WARC, retain_until=until)
    with pytest.raises(ObjectLockedError):
        store.delete("r.warc.gz", as_of=until - timedelta(seconds=1))

    kind.wait_until(until)
    store.delete("r.warc.gz", as_of=until)
    assert store.head("r.warc.gz") is None


def test_governance_bypass_deletes_before_the_date(locked_store: ObjectStore) -> None:
    until = in_future(3600)
    locked_store.put_bytes("r.warc.gz", WARC, retain_until=until)
    locked_store.delete("r.warc.gz", as_of=until - timedelta(days=1), bypass_governance=True)
    assert locked_store.head("r.warc.gz") is None


def test_retain_until_only_extends(locked_store: ObjectStore) -> None:
    until = in_future(3600)
    locked_store.put_bytes("r.warc.gz", WARC, retain_until=until)
    later = until + timedelta(days=30)
    locked_store.set_retain_until("r.warc.gz", later)
    info = locked_store.head("r.warc.gz")
    assert info is not None and info.retain_until == later

    with pytest.raises(ObjectLockedError) as caught:
        locked_store.set_retain_until("r.warc.gz", until)
    assert "extended" in one_line(caught.value)
    locked_store.set_retain_until("r.warc.gz", later)  # the same date again: a no-op
    with pytest.raises(ObjectLockedError):
        locked_store.delete("r.warc.gz", as_of=until + timedelta(days=1))

    locked_store.put_bytes("no-date", b"x")
    locked_store.set_retain_until("no-date", later)
    info = locked_store.head("no-date")
    assert info is not None and info.retain_until == later
    with pytest.raises(ObjectNotFoundError):
        locked_store.set_retain_until("missing", later)


def test_legal_hold_blocks_delete_until_cleared(locked_store: ObjectStore) -> None:
    locked_store.put_bytes("h.warc.gz", WARC)
    locked_store.set_legal_hold("h.warc.gz", True)
    info = locked_store.head("h.warc.gz")
    assert info is not None and info.legal_hold

    far = AS_OF + timedelta(days=365 * 100)
    for bypass in (False, True):
        with pytest.raises(ObjectLockedError) as caught:
            locked_store.delete("h.warc.gz", as_of=far, bypass_governance=bypass)
        assert "legal hold" in one_line(caught.value)
    assert locked_store.get_bytes("h.warc.gz") == WARC

    locked_store.set_legal_hold("h.warc.gz", False)
    info = locked_store.head("h.warc.gz")
    assert info is not None and not info.legal_hold
    locked_store.delete("h.warc.gz", as_of=far)
    assert locked_store.head("h.warc.gz") is None
    with pytest.raises(ObjectNotFoundError):
        locked_store.set_legal_hold("h.warc.gz", True)


def test_delete_of_missing_key_on_a_locked_store_is_a_no_op(locked_store: ObjectStore) -> None:
    locked_store.delete("never/written", as_of=AS_OF)
    locked_store.delete("never/written", as_of=AS_OF, bypass_governance=True)


# -- S3 only -------------------------------------------------------------------------------------


def test_s3_writes_sha256_checksums_and_metadata(s3_kind: Any, s3_client: Any) -> None:
    store = s3_kind.make()
    store.put_bytes("k.warc.gz", WARC)
    head = s3_client.head_object(Bucket=store.bucket, Key="archive/k.warc.gz", ChecksumMode="ENABLED")
    assert head["Metadata"]["sha256"] == sha(WARC)
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(WARC).digest()).decode()
    assert store.url == f"s3://{store.bucket}/archive"
    # keys are the caller's: the store's prefix is added and stripped
    assert [i.key for i in store.list()] == ["k.warc.gz"]


def test_s3_multipart_has_per_part_checksums_and_aborts_on_failure(
    s3_kind: Any, s3_client: Any, tmp_path: Path
) -> None:
    store = s3_kind.make(multipart_threshold=5 * MiB, part_size=5 * MiB)
    data = os.urandom(11 * MiB)
    store.put_file("big", write(tmp_path, data), sha256=sha(data))
    head = s3_client.head_object(Bucket=store.bucket, Key="archive/big", ChecksumMode="ENABLED")
    parts = [data[i : i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    composite = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
    # S3 reports "<digest of part digests>-3"; moto leaves out the "-3"
    assert head["ChecksumSHA256"].partition("-")[0] == base64.b64encode(composite).decode()
    assert head["Metadata"]["sha256"] == sha(data)

    with pytest.raises(ChecksumMismatchError):
        store.put_file("big-bad", write(tmp_path, data), sha256=sha(b"x"))
    assert s3_client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_s3_conditional_write_catches_a_racing_writer(s3_kind: Any, s3_client: Any) -> None:
    store = s3_kind.make()
    s3_client.put_object(Bucket=store.bucket, Key="archive/race", Body=b"other writer")
    real_head = store.head
    calls: list[str] = []

    def head_missing_once(key: str) -> Any:
        # The racing writer lands between our HEAD and our PUT.
        calls.append(key)
        return None if len(calls) == 1 else real_head(key)

    store.head = head_missing_once
    with pytest.raises(ObjectExistsError):
        store.put_bytes("race", WARC)
    assert s3_client.get_object(Bucket=store.bucket, Key="archive/race")["Body"].read() == (b"other writer")
    assert len(calls) == 2  # the If-None-Match refusal sent us back to HEAD


def test_s3_delete_removes_every_version_and_delete_marker(s3_kind: Any, s3_client: Any) -> None:
    for object_lock in (False, True):
        store = s3_kind.make(versioned=not object_lock, object_lock=object_lock)
        store.put_bytes("v.warc.gz", WARC)
        # Someone deletes it the ordinary way (a delete marker) and writes over it.
        s3_client.delete_object(Bucket=store.bucket, Key="archive/v.warc.gz")
        s3_client.put_object(Bucket=store.bucket, Key="archive/v.warc.gz", Body=b"v2")
        s3_client.put_object(Bucket=store.bucket, Key="archive/v.warc.gz.sibling", Body=b"s")

        store.delete("v.warc.gz", as_of=AS_OF)

        left = s3_client.list_object_versions(Bucket=store.bucket, Prefix="archive/v.warc.gz")
        keys = {v["Key"] for v in left.get("Versions", []) + left.get("DeleteMarkers", [])}
        assert keys == {"archive/v.warc.gz.sibling"}


def test_s3_compliance_retention_cannot_be_bypassed(s3_kind: Any) -> None:
    store = s3_kind.make(object_lock=True, lock_mode="COMPLIANCE")
    until = in_future(3600)
    store.put_bytes("c.warc.gz", WARC, retain_until=until)
    # Even when the caller's as_of is past the date, the server's clock rules.
    for bypass in (False, True):
        with pytest.raises(ObjectLockedError):
            store.delete("c.warc.gz", as_of=until + timedelta(days=1), bypass_governance=bypass)
    assert store.get_bytes("c.warc.gz") == WARC


def test_s3_without_object_lock(s3_kind: Any) -> None:
    store = s3_kind.make()
    assert not store.object_lock_enabled
    # retain_until is silently not enforced: callers check object_lock_enabled
    info = store.put_bytes("k", WARC, retain_until=in_future(3600))
    assert info.retain_until is None
    store.set_retain_until("k", in_future(7200))  # a documented no-op
    with pytest.raises(ObjectLockUnavailableError) as caught:
        store.set_legal_hold("k", True)
    message = one_line(caught.value)
    assert f"'{store.bucket}'" in message and "Object Lock enabled" in message
    store.delete("k", as_of=AS_OF)
    assert store.head("k") is None


def test_s3_errors_are_one_line_and_never_carry_credentials(
    s3_kind: Any, moto_endpoint: str, aws_env: Any, tmp_path: Path
) -> None:
    assert (aws_env.access_key, aws_env.secret_key) == (ACCESS_KEY, SECRET_KEY)
    errors: list[HPArchiveError] = []
    store = s3_kind.make(object_lock=True)
    store.put_bytes("k", WARC, retain_until=in_future(3600))
    for attempt in (
        lambda: store.put_bytes("k", b"other"),
        lambda: store.put_file("k2", write(tmp_path, WARC), sha256=sha(b"x")),
        lambda: store.open("missing"),
        lambda: store.delete("k", as_of=AS_OF),
        lambda: s3_kind.make().set_legal_hold("k", True),
        lambda: S3ObjectStore("no-such-bucket", endpoint_url=moto_endpoint).put_bytes("k", b"x"),
    ):
        with pytest.raises(HPArchiveError) as caught:
            attempt()
        errors.append(caught.value)

    # Credentials in the endpoint URL are dropped from everything the store shows.
    port = moto_endpoint.rsplit(":", 1)[1]
    with_userinfo = f"http://{ACCESS_KEY}:{SECRET_KEY}@127.0.0.1:{port}"
    shown = S3ObjectStore("no-such-bucket", endpoint_url=with_userinfo)
    assert SECRET_KEY not in repr(shown) and SECRET_KEY not in shown.url
    with pytest.raises(StorageError) as caught:
        shown.put_bytes("k", b"x")
    errors.append(caught.value)

    # An endpoint nobody listens on (no retries, so the test stays fast).
    unreachable = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(StorageError) as caught:
        S3ObjectStore("records", client=unreachable).head("k")
    assert "cannot reach" in str(caught.value)
    errors.append(caught.value)

    for err in errors:
        one_line(err)
        assert ACCESS_KEY not in str(err)
        cause = err.__cause__
        assert cause is None or SECRET_KEY not in str(cause)


def test_s3_falls_back_when_the_server_lacks_conditional_writes(moto_endpoint: str, make_bucket: Any) -> None:
    """Older MinIO/Ceph answer If-None-Match with 501; the HEAD before the write still guards."""
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    refused: list[str] = []

    def not_implemented(request: Any, **_: Any) -> AWSResponse | None:
        if "If-None-Match" not in request.headers:
            return None
        refused.append(request.url)
        body = b"<Error><Code>NotImplemented</Code><Message>not implemented</Message></Error>"
        return AWSResponse(request.url, 501, {}, _Raw(body))

    client.meta.events.register("before-send.s3.PutObject", not_implemented)
    store = S3ObjectStore(make_bucket(), client=client)
    assert store.put_bytes("k", WARC).sha256 == sha(WARC)
    assert store.put_bytes("k2", WARC).size == len(WARC)
    assert len(refused) == 1  # asked once, then remembered
    with pytest.raises(ObjectExistsError):
        store.put_bytes("k", b"other")
    assert store.get_bytes("k") == WARC


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("BadDigest", ChecksumMismatchError),
        ("XAmzContentSHA256Mismatch", ChecksumMismatchError),
        ("NoSuchKey", ObjectNotFoundError),
        ("InvalidAccessKeyId", StorageError),
        ("SignatureDoesNotMatch", StorageError),
        ("SlowDown", StorageError),
    ],
)
def test_s3_error_codes_map_to_the_hierarchy(code: str, expected: type[StorageError], aws_env: Any) -> None:
    # moto does not produce these (it accepts any checksum and any signature), so build them.
    error = ClientError({"Error": {"Code": code, "Message": "from the server"}}, "PutObject")
    translated = S3ObjectStore("records")._error(error, "write", "k")
    assert type(translated) is expected
    assert "'k'" in one_line(translated)


def test_s3_store_settings_are_checked(aws_env: Any) -> None:
    with pytest.raises(ConfigError):
        S3ObjectStore("records", part_size=1 * MiB)
    with pytest.raises(ConfigError):
        S3ObjectStore("records", lock_mode="FOREVER")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        S3ObjectStore("records", prefix="a/../b")
    assert S3ObjectStore("records", prefix="/hp/").url == "s3://records/hp"
    assert S3ObjectStore("records").url == "s3://records"


# -- the local directory only --------------------------------------------------------------------


def test_local_layout_is_read_only_files_and_json_sidecars(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    until = datetime(2032, 1, 1, tzinfo=UTC)
    store.put_bytes("a/b.warc.gz", WARC, retain_until=until, content_type="application/warc")

    obj = tmp_path / "objects" / "a" / "b.warc.gz"
    assert stat.S_IMODE(obj.stat().st_mode) == 0o444
    meta = json.loads((tmp_path / "meta" / "a" / "b.warc.gz.json").read_text())
    assert meta == {
        "sha256": sha(WARC),
        "size": len(WARC),
        "retain_until": "2032-01-01T00:00:00Z",
        "legal_hold": False,
        "content_type": "application/warc",
    }
    assert [p.name for p in obj.parent.iterdir()] == ["b.warc.gz"]  # no temp files left
    assert store.url == tmp_path.absolute().as_uri()

    store.delete("a/b.warc.gz", as_of=until)
    assert not (tmp_path / "objects" / "a").exists()  # no key names left behind
    assert not (tmp_path / "meta" / "a").exists()


def test_local_retention_follows_as_of(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    until = datetime(2032, 1, 1, tzinfo=UTC)
    store.put_bytes("k", WARC, retain_until=until)
    with pytest.raises(ObjectLockedError):
        store.delete("k", as_of=until - timedelta(microseconds=1))
    store.delete("k", as_of=until)
    assert store.head("k") is None


def test_local_list_skips_temp_files_and_refuses_their_names(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put_bytes("a/k", b"x")
    (tmp_path / "objects" / "a" / ".hp-tmp-0123456789abcdef").write_bytes(b"half written")
    assert [i.key for i in store.list()] == ["a/k"]
    with pytest.raises(StorageError):
        store.put_bytes("a/.hp-tmp-x", b"x")
    with pytest.raises(StorageError):
        list(store.list("../"))


def test_local_racing_writer_loses_without_clobbering(tmp_path: Path) -> None:
    first, second = LocalObjectStore(tmp_path), LocalObjectStore(tmp_path)
    real_load = second._load
    calls: list[str] = []

    def load_missing_once(key: str) -> Any:
        # The first writer links its file between the second writer's look and its link.
        calls.append(key)
        return None if len(calls) == 1 else real_load(key)

    second._load = load_missing_once  # type: ignore[method-assign]
    first.put_bytes("k", WARC)
    with pytest.raises(ObjectExistsError):
        second.put_bytes("k", b"other")
    assert len(calls) == 2  # os.link refused to overwrite, so the loser looked again
    assert first.get_bytes("k") == WARC
    assert [p.name for p in (tmp_path / "objects").iterdir()] == ["k"]


def test_local_sidecar_lost_in_a_crash_is_rebuilt(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put_bytes("k", WARC)
    (tmp_path / "meta" / "k.json").unlink()
    info = store.head("k")
    assert info is not None and info.sha256 == sha(WARC)
    until = datetime(2032, 1, 1, tzinfo=UTC)
    assert store.put_bytes("k", WARC, retain_until=until).retain_until == until


def test_local_key_below_an_object_is_refused(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put_bytes("a", b"x")
    with pytest.raises(StorageError, match="'a/b'"):
        store.put_bytes("a/b", b"y")
    store.put_bytes("c/d", b"y")
    with pytest.raises(StorageError, match="'c'"):
        store.put_bytes("c", b"x")


# -- store_from_url ------------------------------------------------------------------------------


def test_store_from_url_local_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    by_url = store_from_url(tmp_path.as_uri())
    assert isinstance(by_url, LocalObjectStore) and by_url.root == tmp_path
    by_path = store_from_url(str(tmp_path))
    assert isinstance(by_path, LocalObjectStore) and by_path.root == tmp_path
    monkeypatch.chdir(tmp_path)
    relative = store_from_url("data/store")
    assert isinstance(relative, LocalObjectStore) and relative.root == tmp_path / "data/store"
    assert store_from_url("file://localhost/srv/x").url == "file:///srv/x"
    assert store_from_url(str(tmp_path), require_object_lock=True).object_lock_enabled


def test_store_from_url_s3(moto_endpoint: str, make_bucket: Any) -> None:
    plain = store_from_url("s3://records/hp/warcs/", endpoint_url=moto_endpoint)
    assert isinstance(plain, S3ObjectStore)
    assert (plain.bucket, plain.prefix, plain.url) == (
        "records",
        "hp/warcs",
        "s3://records/hp/warcs",
    )
    assert store_from_url("s3://records").url == "s3://records"

    bucket = make_bucket()
    with pytest.raises(ObjectLockUnavailableError) as caught:
        store_from_url(f"s3://{bucket}", endpoint_url=moto_endpoint, require_object_lock=True)
    assert str(caught.value) == (
        f"bucket '{bucket}' has no Object Lock: create it with Object Lock enabled or set "
        "HP_ARCHIVE_REQUIRE_OBJECT_LOCK=0"
    )
    locked = make_bucket(object_lock=True)
    store = store_from_url(f"s3://{locked}/p", endpoint_url=moto_endpoint, require_object_lock=True)
    assert store.object_lock_enabled


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "http://example.org/bucket",
        "ftp://host/path",
        "file://server/share",
        "file:relative/path",
        "s3:records",
        "s3://",
        "s3://Not_A_Bucket/x",
        "s3://records/x?versionId=1",
        pytest.param(f"s3://{ACCESS_KEY}:{SECRET_KEY}@records/x", id="s3-with-credentials"),
        pytest.param(f"https://user:{SECRET_KEY}@minio.local/records", id="https-with-password"),
    ],
)
def test_store_from_url_refuses_everything_else(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        store_from_url(url)
    message = one_line(caught.value)
    assert ":" in message  # the problem, then what to do about it
