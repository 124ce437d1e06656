"""IMAGES: each document drawn as the public saw it, as a searchable PDF and as page images.

The PDF is laid out with ReportLab (text stays text, so the PDF is searchable) and rasterized
with PDFium (``pypdfium2``), so the page images are exactly the PDF's pages. Each page shows the
post or comment (author, time, text, media thumbnails), for a comment the post it answers and for
a reply the comment too, the item's status (live / edited / hidden / deleted) with when that was
observed, its capture times, its earlier versions and its change events; every page carries the
Bates number in its footer.

Text from the public is hostile: it is escaped before ReportLab's paragraph markup sees it (a
``<script>`` comment shows as those characters), control characters are dropped, right-to-left
runs are put in display order (``python-bidi``), and a character the font has no glyph for (most
emoji) is shown as its code point and name, ``[U+1F499 BLUE HEART]``, rather than an empty box.
Images from the platform are decoded by Pillow inside a guard: one that does not decode (or is a
decompression bomb) becomes a labelled placeholder, never a failed production.

Page images: documents with pictures become single-page colour JPEGs at 200 dpi; the others
single-page black-and-white Group IV TIFFs at 300 dpi — the usual production specification.
"""

from __future__ import annotations

import io
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from bidi import get_display  # type: ignore[import-untyped]
from PIL import Image
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus import Image as PdfImage

from .selection import Bates, ProducedItem, VersionView

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)
THUMB_PX = 480
JPEG_DPI, TIFF_DPI = 200, 300
MARGIN = 0.75 * inch
STATUS_COLOURS = {
    "deleted": colors.HexColor("#8b0000"),
    "hidden": colors.HexColor("#7a4b00"),
    "edited": colors.HexColor("#1f3f7a"),
    "live": colors.HexColor("#1e5631"),
}


@dataclass(frozen=True)
class Thumbnail:
    """A media file to show on the page: its bytes (None when not archived) and where it is."""

    label: str
    data: bytes | None
    content_type: str


@dataclass(frozen=True)
class RenderContext:
    """What every page shows besides the document: production, matter, zone, numbering."""

    production: str
    matter: str
    timezone: str
    bates: Bates


@dataclass(frozen=True)
class RenderedDocument:
    pdf: bytes
    pages: int
    has_pictures: bool


@dataclass(frozen=True)
class PageImage:
    data: bytes
    extension: str  # ".tif" or ".jpg"


# -- fonts -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fonts:
    regular: str
    bold: str
    glyphs: frozenset[int]

    @property
    def plain(self) -> frozenset[str]:
        """Characters shown as themselves with no further check: tab and the printable ASCII the
        font has glyphs for (never right-to-left, never a control or a joiner)."""
        return _plain_characters(self.glyphs)


@lru_cache(maxsize=4)
def _plain_characters(glyphs: frozenset[int]) -> frozenset[str]:
    return frozenset("\t" + "".join(chr(code) for code in range(0x20, 0x7F) if code in glyphs))


@lru_cache(maxsize=1)
def _fonts() -> _Fonts:
    """DejaVu Sans (wide coverage: Latin, Greek, Cyrillic, Hebrew, Arabic) or ReportLab's Vera."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return _register("HPSans", regular, "HPSans-Bold", bold)
    import reportlab

    base = Path(reportlab.__file__).parent / "fonts"
    return _register("HPSans", base / "Vera.ttf", "HPSans-Bold", base / "VeraBd.ttf")


def _register(name: str, regular: Path, bold_name: str, bold: Path) -> _Fonts:
    face = TTFont(name, str(regular))
    pdfmetrics.registerFont(face)
    pdfmetrics.registerFont(TTFont(bold_name, str(bold)))
    return _Fonts(name, bold_name, frozenset(face.face.charToGlyph))


# -- hostile text ----------------------------------------------------------------------------------


def safe_markup(text: str) -> str:
    """Platform text as ReportLab paragraph markup that shows exactly the characters given."""
    fonts = _fonts()
    glyphs, plain = fonts.glyphs, fonts.plain
    lines = []
    for logical in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = logical
        if plain.issuperset(line):  # the common case: what the loop below would give, at once
            lines.append(escape(line).replace("\t", "    "))
            continue
        if any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in line):
            line = get_display(line)
        out: list[str] = []
        for ch in line:
            code = ord(ch)
            if ch == "\t":
                out.append("    ")
            elif unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
                continue  # control, surrogate, private-use or unassigned: nothing to show
            elif code in glyphs:
                out.append(escape(ch))
            elif unicodedata.category(ch) in ("Mn", "Me", "Cf", "Sk") and code >= 0x200B:
                continue  # joiners and variation selectors of emoji sequences
            else:
                name = unicodedata.name(ch, "")
                out.append(escape(f"[U+{code:04X}{' ' + name if name else ''}]"))
        lines.append("".join(out))
    return "<br/>".join(lines)


# -- layout ----------------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    fonts = _fonts()
    base = ParagraphStyle("body", fontName=fonts.regular, fontSize=10.5, leading=14, wordWrap="LTR")
    return {
        "body": base,
        "small": ParagraphStyle(
            "small", parent=base, fontSize=8.5, leading=11, textColor=colors.HexColor("#333333")
        ),
        "head": ParagraphStyle("head", parent=base, fontName=fonts.bold, fontSize=12.5, leading=16),
        "label": ParagraphStyle("label", parent=base, fontName=fonts.bold, fontSize=9.5, leading=12),
        "banner": ParagraphStyle(
            "banner", parent=base, fontName=fonts.bold, fontSize=11, leading=14, textColor=colors.white
        ),
        "quote": ParagraphStyle(
            "quote", parent=base, fontSize=9.5, leading=12.5, textColor=colors.HexColor("#222222")
        ),
    }


class _Clock:
    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.name = timezone

    def show(self, moment: datetime | None) -> str:
        if moment is None:
            return "unknown"
        local = moment.astimezone(self.zone)
        offset = local.strftime("%z")
        return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"


def _status_line(item: ProducedItem, clock: _Clock) -> str:
    versions = len(item.versions)
    if item.is_deleted:
        text = f"DELETED — deletion observed {clock.show(item.deleted_observed_at)}"
    elif item.is_hidden:
        hidden = [e for e in item.events if e.kind == "hidden"]
        when = clock.show(hidden[-1].observed_at) if hidden else "unknown"
        text = f"HIDDEN on the platform — observed hidden {when}"
    elif versions > 1:
        text = f"EDITED — {versions} versions archived; the current one is shown"
    else:
        text = "LIVE as last captured"
    if versions > 1 and (item.is_deleted or item.is_hidden):
        text += f"; EDITED — {versions} versions archived"
    return text


def _version_block(
    version: VersionView, total: int, clock: _Clock, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    label = f"Version {version.number} of {total} — observed {clock.show(version.observed_at)}"
    if version.edited_at:
        label += f"; edited on the platform {clock.show(version.edited_at)}"
    return [
        Paragraph(escape(label), styles["label"]),
        Paragraph(safe_markup(version.text) or "(no text)", styles["quote"]),
        Spacer(1, 6),
    ]


def _context_box(item: ProducedItem, role: str, clock: _Clock, styles: dict[str, ParagraphStyle]) -> Flowable:
    current = item.current
    text = current.text if current else ""
    if len(text) > 1200:
        text = text[:1200] + " …"
    # the platform's text is put in display order on its own, apart from our words around it
    head = (
        f"{escape(role)}: {escape(item.kind)} by {safe_markup(item.author_name or 'unknown author')} "
        f"— {escape(clock.show(item.created_at))} [{escape(item.status)}]"
    )
    table = Table(
        [[Paragraph(head, styles["label"])], [Paragraph(safe_markup(text) or "(no text)", styles["quote"])]],
        colWidths=[LETTER[0] - 2 * MARGIN],
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f2f2f2")),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def _thumbnail(thumb: Thumbnail) -> tuple[Flowable | None, str]:
    """A picture flowable (or None) and its caption."""
    if thumb.data is None:
        return None, f"{thumb.label}: media bytes not archived"
    if not thumb.content_type.startswith("image/"):
        return None, f"{thumb.label}: {thumb.content_type or 'media'} — see the native file"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(thumb.data)) as picture:
                picture.thumbnail((THUMB_PX, THUMB_PX))
                rgb = picture.convert("RGB")
    except Exception as exc:  # hostile or damaged image: show that, never fail the production
        return None, f"{thumb.label}: image could not be drawn ({type(exc).__name__})"
    out = io.BytesIO()
    rgb.save(out, format="PNG")
    out.seek(0)
    width, height = rgb.size
    scale = min(2.1 * inch / width, 2.1 * inch / height)
    return PdfImage(out, width=width * scale, height=height * scale), thumb.label


def _thumbnail_grid(
    thumbs: Sequence[Thumbnail], styles: dict[str, ParagraphStyle]
) -> tuple[list[Flowable], bool]:
    cells: list[list[Flowable]] = []
    drawn = False
    for thumb in thumbs:
        picture, caption = _thumbnail(thumb)
        drawn = drawn or picture is not None
        cell: list[Flowable] = [picture] if picture is not None else []
        cell.append(Paragraph(escape(caption), styles["small"]))
        cells.append(cell)
    if not cells:
        return [], False
    rows = [cells[i : i + 3] for i in range(0, len(cells), 3)]
    rows[-1] += [[Spacer(1, 1)]] * (3 - len(rows[-1]))
    table = Table(rows, colWidths=[(LETTER[0] - 2 * MARGIN) / 3] * 3)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [table], drawn


def _story(
    item: ProducedItem, context: Sequence[ProducedItem], thumbs: Sequence[Thumbnail], clock: _Clock
) -> tuple[list[Flowable], bool]:
    styles = _styles()
    story: list[Flowable] = []
    banner = Table(
        [[Paragraph(escape(_status_line(item, clock)), styles["banner"])]], colWidths=[LETTER[0] - 2 * MARGIN]
    )
    banner.setStyle(
        TableStyle([("BACKGROUND", (0, 0), (-1, -1), STATUS_COLOURS.get(item.status, colors.black))])
    )
    story += [banner, Spacer(1, 6)]
    current = item.current
    capture = (
        f"Captured: first {clock.show(item.first_seen_at)}; last seen {clock.show(item.last_seen_at)}. "
        f"Times are {clock.name}."
    )
    if current is not None:
        source = current.record.file_key.rsplit("/", 1)[-1]
        capture += f" Evidence: WARC record {current.record.record_id} in {source}."
    story += [Paragraph(escape(capture), styles["small"]), Spacer(1, 8)]
    for index, ancestor in enumerate(context):
        role = "On the post" if index == 0 else "In reply to"
        story += [_context_box(ancestor, role, clock, styles), Spacer(1, 6)]
    author = safe_markup(item.author_name or "unknown author")
    story.append(Paragraph(f"{escape(item.kind.capitalize())} by {author}", styles["head"]))
    meta = f"Posted {clock.show(item.created_at)} on {item.platform} ({item.account}) · item "
    story += [Paragraph(escape(meta) + safe_markup(item.uid), styles["small"]), Spacer(1, 6)]
    story += [
        Paragraph(safe_markup(current.text if current else "") or "(no text)", styles["body"]),
        Spacer(1, 8),
    ]
    grid, pictures = _thumbnail_grid(thumbs, styles)
    story += grid
    if item.url:
        story += [Spacer(1, 6), Paragraph("URL: " + safe_markup(item.url), styles["small"])]
    if len(item.versions) > 1:
        story += [Spacer(1, 10), Paragraph("Earlier versions", styles["label"]), Spacer(1, 4)]
        for version in reversed(item.versions[:-1]):
            story += _version_block(version, len(item.versions), clock, styles)
    if item.events:
        rows = [
            [
                Paragraph("Event", styles["label"]),
                Paragraph("Observed", styles["label"]),
                Paragraph("Occurred (platform)", styles["label"]),
            ]
        ]
        for event in item.events:
            occurred = clock.show(event.occurred_at) if event.occurred_at else "—"
            rows.append(
                [
                    Paragraph(escape(event.kind), styles["small"]),
                    Paragraph(escape(clock.show(event.observed_at)), styles["small"]),
                    Paragraph(escape(occurred), styles["small"]),
                ]
            )
        table = Table(rows, colWidths=[1.4 * inch, 2.6 * inch, 3.0 * inch])
        table.setStyle(
            TableStyle(
                [("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
            )
        )
        story += [Spacer(1, 10), Paragraph("Change events", styles["label"]), table]
    return story, pictures


def _numbered_canvas(context: RenderContext, first: int, pages: list[int]) -> type[Canvas]:
    """A canvas that stamps header, Bates number and "page i of n" once the page count is known.

    The page count is appended to ``pages`` (PDFium is kept to the rasterizing thread).
    """
    fonts = _fonts()

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # ReportLab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]

        def save(self) -> None:
            total = len(self._pages)
            pages.append(total)
            for index, state in enumerate(self._pages):
                self.__dict__.update(state)
                self._stamp(index, total)
                super().showPage()
            super().save()

        def _stamp(self, index: int, total: int) -> None:
            width, height = LETTER
            self.setFont(fonts.regular, 8)
            self.setFillColor(colors.HexColor("#444444"))
            self.drawString(MARGIN, height - 0.5 * inch, f"{context.production} · matter {context.matter}")
            self.drawRightString(width - MARGIN, height - 0.5 * inch, "hp-archive production")
            self.drawString(MARGIN, 0.45 * inch, f"page {index + 1} of {total}")
            self.setFont(fonts.bold, 11)
            self.setFillColor(colors.black)
            self.drawRightString(width - MARGIN, 0.45 * inch, context.bates.label(first + index))

    return NumberedCanvas


def render_document(
    item: ProducedItem,
    context_items: Sequence[ProducedItem],
    thumbs: Sequence[Thumbnail],
    *,
    first: int,
    context: RenderContext,
) -> RenderedDocument:
    """The document's PDF, Bates-stamped from ``first`` (one number per page)."""
    clock = _Clock(context.timezone)
    story, pictures = _story(item, context_items, thumbs, clock)
    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=0.8 * inch,
        bottomMargin=0.8 * inch,
        title=context.bates.label(first),
        author="hp-archive",
        subject=f"{context.production} matter {context.matter}",
        invariant=1,
    )
    pages: list[int] = []
    template.build(story, canvasmaker=_numbered_canvas(context, first, pages))
    return RenderedDocument(pdf=out.getvalue(), pages=pages[-1], has_pictures=pictures)


def rasterize(pdf: bytes, *, colour: bool) -> list[PageImage]:
    """One image per PDF page: colour JPEG (200 dpi) or black-and-white Group IV TIFF (300 dpi)."""
    import pypdfium2  # type: ignore[import-untyped]

    images: list[PageImage] = []
    document = pypdfium2.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            page = document[index]
            dpi = JPEG_DPI if colour else TIFF_DPI
            bitmap = page.render(scale=dpi / 72, grayscale=not colour)
            picture = bitmap.to_pil()
            out = io.BytesIO()
            if colour:
                picture.convert("RGB").save(out, format="JPEG", quality=85, dpi=(dpi, dpi))
                images.append(PageImage(out.getvalue(), ".jpg"))
            else:
                grey = picture if picture.mode == "L" else picture.convert("L")  # rendered grey already
                mono = grey.point(lambda v: 255 if v > 160 else 0, mode="1")
                mono.save(out, format="TIFF", compression="group4", dpi=(dpi, dpi))
                images.append(PageImage(out.getvalue(), ".tif"))
            page.close()
    finally:
        document.close()
    return images
