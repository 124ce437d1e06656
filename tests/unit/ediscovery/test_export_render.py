"""Page images and searchable PDFs as the public saw the item; hostile text stays text."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pypdfium2
from PIL import Image

from hp_archive.ediscovery.export.render import RenderContext, Thumbnail, rasterize, render_document
from hp_archive.ediscovery.export.selection import Bates, EventView, ProducedItem, RecordRef, VersionView

T0 = datetime(2026, 11, 3, 8, tzinfo=UTC)
REF = RecordRef("warcs/a/x.warc.gz", "00", 0, 10, "<urn:uuid:1>", "response", "https://api.test/x", T0)
CONTEXT = RenderContext("PROD0001", "2026-CV-0142", "America/Chicago", Bates("HPPD", 7))


def item(uid: str, kind: str, *texts: str, status: str = "live", parent: str | None = None) -> ProducedItem:
    return ProducedItem(
        uid=uid,
        platform="facebook",
        account="hppd-facebook",
        kind=kind,
        native_id=uid,
        parent_uid=parent,
        root_uid=parent,
        author_name="Jane <b>Doe</b>",
        author_id="9",
        url="https://www.facebook.com/x?a=<script>",
        series="social-media",
        created_at=T0,
        first_seen_at=T0,
        last_seen_at=T0,
        deleted_observed_at=T0 if status == "deleted" else None,
        is_hidden=status == "hidden",
        is_deleted=status == "deleted",
        status=status,
        versions=tuple(VersionView(n, t, "d", T0, None, T0, REF) for n, t in enumerate(texts, start=1)),
        events=(EventView("created", T0, T0),),
    )


def page_texts(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        # words as drawn, whatever the line wrapping
        return [" ".join(document[i].get_textpage().get_text_range().split()) for i in range(len(document))]
    finally:
        document.close()


def png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


def test_script_tags_and_markup_render_as_the_characters_typed() -> None:
    post = item("p1", "post", 'Hi <script>alert("x")</script> & <b>bold</b> <font size=40>big</font>')
    rendered = render_document(post, [], [], first=1, context=CONTEXT)
    text = page_texts(rendered.pdf)[0]
    assert '<script>alert("x")</script> & <b>bold</b> <font size=40>big</font>' in text
    assert "Post by Jane <b>Doe</b>" in text
    assert "URL: https://www.facebook.com/x?a=<script>" in text


def test_right_to_left_emoji_and_control_characters_do_not_break_rendering() -> None:
    post = item("p1", "post", "שלום עולם مرحبا بالعالم 💙👍🏽\x00\x07\u202e done \U000e0001 \udcff"[:-1])
    rendered = render_document(post, [], [], first=1, context=CONTEXT)
    text = page_texts(rendered.pdf)[0]
    assert "[U+1F499 BLUE HEART]" in text and "[U+1F44D THUMBS UP SIGN]" in text
    assert "שלום" in text or "םולש" in text  # Hebrew is drawn (in display order)


def test_status_capture_time_and_parent_are_on_the_page_and_bates_on_every_page() -> None:
    post = item("p1", "post", "Road closed on Lake Street")
    comment = item("c1", "comment", "first words", "edited " * 2500, status="deleted", parent="p1")
    rendered = render_document(comment, [post], [], first=41, context=CONTEXT)
    texts = page_texts(rendered.pdf)
    assert rendered.pages == len(texts) > 1
    for index, text in enumerate(texts):
        assert f"HPPD{41 + index:07d}" in text
        assert f"page {index + 1} of {len(texts)}" in text
    assert "DELETED — deletion observed 2026-11-03 02:00:00 CST (UTC-06:00)" in texts[0]
    assert "EDITED — 2 versions archived" in texts[0]
    assert "On the post: post by Jane <b>Doe</b>" in texts[0]
    assert "Road closed on Lake Street" in texts[0]
    assert "Captured: first 2026-11-03 02:00:00 CST" in texts[0]
    assert any("Version 1 of 2" in t and "first words" in t for t in texts)


def test_hidden_items_say_so() -> None:
    rendered = render_document(item("c1", "comment", "x", status="hidden"), [], [], first=1, context=CONTEXT)
    assert "HIDDEN on the platform" in page_texts(rendered.pdf)[0]


def test_pictures_become_colour_jpeg_pages_and_bad_images_a_placeholder() -> None:
    thumbs = [
        Thumbnail("Media 1", png("red"), "image/png"),
        Thumbnail("Media 2", b"not an image", "image/jpeg"),
        Thumbnail("Media 3", b"\x00" * 10, "video/mp4"),
        Thumbnail("Media 4", None, ""),
    ]
    rendered = render_document(item("p1", "post", "with pictures"), [], thumbs, first=1, context=CONTEXT)
    assert rendered.has_pictures
    text = page_texts(rendered.pdf)[0]
    assert "Media 2: image could not be drawn" in text
    assert "Media 3: video/mp4 — see the native file" in text
    assert "Media 4: media bytes not archived" in text
    images = rasterize(rendered.pdf, colour=True)
    assert [i.extension for i in images] == [".jpg"]
    with Image.open(io.BytesIO(images[0].data)) as page:
        assert page.format == "JPEG" and page.mode == "RGB"
        red = page.convert("RGB").resize((85, 110)).getcolors(85 * 110) or []
        assert any(r > 200 and g < 80 and b < 80 for _n, (r, g, b) in red)  # the red picture


def test_pages_without_pictures_are_group4_tiffs_at_300_dpi() -> None:
    rendered = render_document(item("p1", "post", "plain"), [], [], first=1, context=CONTEXT)
    assert not rendered.has_pictures
    images = rasterize(rendered.pdf, colour=False)
    with Image.open(io.BytesIO(images[0].data)) as page:
        assert page.format == "TIFF" and page.mode == "1"
        assert page.info["compression"] == "group4"
        assert round(page.info["dpi"][0]) == 300


def test_a_decompression_bomb_is_not_decoded() -> None:
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG")  # 144 Mpx, above Pillow's bomb limit
    thumbs = [Thumbnail("Media 1", out.getvalue(), "image/png")]
    rendered = render_document(item("p1", "post", "x"), [], thumbs, first=1, context=CONTEXT)
    assert "image could not be drawn" in page_texts(rendered.pdf)[0]
