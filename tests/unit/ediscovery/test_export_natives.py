"""Cutting an item's own object, byte for byte, out of the archived response body."""

from __future__ import annotations

import json

from hp_archive.ediscovery.export.natives import extension_for, index_objects, item_object

BODY = (
    '{"data": [\n  {"id": "1_2", "message": "h\\u00e9llo \u00e9 \U0001f499",\n'
    '   "comments": {"data": [{"id": "2_3", "parent": {"id": "1_2"}, "message": "<script>x</script>"}]}},\n'
    '  {"id": 5, "uri": "at://x/post/5"},\n'
    '  {"reply": {"parent": {"uri": "at://x/post/9", "cid": "c"}}, "uri": "at://x/post/9", "text": "t"}\n]}'
).encode()


def test_the_object_is_the_exact_bytes_of_the_body_not_a_reserialization() -> None:
    index = index_objects(BODY)
    got = item_object(BODY, index, "1_2")
    assert got is not None and got in BODY
    assert got.startswith(b'{"id": "1_2"') and got.endswith(b"}]}}")
    assert json.loads(got)["message"] == "h\u00e9llo \u00e9 \U0001f499"  # escapes kept as sent
    assert b"\\u00e9" in got


def test_the_item_is_the_largest_object_with_its_id_not_a_reference_to_it() -> None:
    index = index_objects(BODY)
    comment = item_object(BODY, index, "2_3")
    assert comment is not None and json.loads(comment)["message"] == "<script>x</script>"
    post = item_object(BODY, index, "at://x/post/9")
    assert post is not None and json.loads(post)["text"] == "t"  # not the {"uri", "cid"} strong ref


def test_numeric_ids_and_other_id_keys_are_found() -> None:
    index = index_objects(BODY)
    assert item_object(BODY, index, "5") == b'{"id": 5, "uri": "at://x/post/5"}'


def test_bodies_that_are_not_json_give_no_object() -> None:
    assert index_objects(b"<html><body>hi</body></html>") is None
    assert index_objects(b"\xff\xfe not utf-8") is None
    assert index_objects(b"[" * 100_000) is None  # hostile nesting must not crash the export
    assert item_object(b"{}", None, "x") is None
    assert item_object(BODY, index_objects(BODY), "absent") is None


def test_a_byte_order_mark_is_skipped_but_offsets_stay_exact() -> None:
    body = b'\xef\xbb\xbf{"id": "a", "x": "\xc3\xa9"}'
    assert item_object(body, index_objects(body), "a") == body[3:]


def test_file_extensions_come_from_the_media_type_only() -> None:
    assert extension_for("application/json; charset=UTF-8") == ".json"
    assert extension_for("image/jpeg") == ".jpg"
    assert extension_for("application/activity+json") == ".json"
    assert extension_for("text/html") == ".html"
    assert extension_for("../../etc/passwd") == ".bin"
