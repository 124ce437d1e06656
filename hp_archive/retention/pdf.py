"""Certificate PDFs, rendered with ReportLab from the signed JSON documents.

* :func:`disposal_certificate_pdf` — laid out like the Illinois *Local Records Disposal
  Certificate*: the agency and its application number, one line per application item (item
  number, records series title, inclusive dates, quantity), the agency's certification and
  signature block, and the Commission's approval block (filled in once the approval is recorded,
  "approved as amended" when records were struck).
* :func:`destruction_certificate_pdf` — the certificate of destruction: what was destroyed per
  item number with counts and inclusive dates, the SHA-256 of the full list of destroyed records,
  the method, the approval, who executed and who verified, and the signing key.

The PDFs are renderings for people; the signed JSON next to each one in the store is the
authoritative document, and it names the PDF's SHA-256. Output is byte-for-byte reproducible
(ReportLab's invariant mode), so a resumed step writes the same object again.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

_STYLES = getSampleStyleSheet()
TITLE = ParagraphStyle("cert-title", parent=_STYLES["Title"], fontSize=15, spaceAfter=4)
SUBTITLE = ParagraphStyle("cert-subtitle", parent=_STYLES["Normal"], alignment=TA_CENTER, fontSize=9)
BODY = ParagraphStyle("cert-body", parent=_STYLES["Normal"], fontSize=9, leading=11.5)
SMALL = ParagraphStyle("cert-small", parent=BODY, fontSize=7.5, leading=9.5)
CELL = ParagraphStyle("cert-cell", parent=BODY, fontSize=8.5, leading=10.5)
HEAD = ParagraphStyle("cert-head", parent=CELL, fontName="Helvetica-Bold")
WARNING = ParagraphStyle("cert-warning", parent=BODY, textColor=colors.red, fontName="Helvetica-Bold")
GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
)
BOX = TableStyle(
    [
        ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
    ]
)


def _p(text: Any, style: ParagraphStyle = CELL) -> Paragraph:
    return Paragraph(_escape(str(text if text is not None else "")), style)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _day(value: str | None) -> str:
    return (value or "")[:10] or "—"


def _fields(rows: Sequence[tuple[str, Any]], widths: tuple[float, float] = (1.8 * inch, 5.2 * inch)) -> Table:
    table = Table([[_p(label, HEAD), _p(value)] for label, value in rows], colWidths=list(widths))
    table.setStyle(BOX)
    return table


def _render(story: list[Flowable], title: str, subject: str) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=0.7 * inch,
        rightMargin=0.7 * inch,
        topMargin=0.6 * inch,
        bottomMargin=0.6 * inch,
        title=title,
        subject=subject,
        author="hp-archive",
        creator="hp-archive",
        invariant=1,
    )
    doc.build(story)
    return buffer.getvalue()


def _header(schedule: Mapping[str, Any], title: str, number: str) -> list[Flowable]:
    story: list[Flowable] = [
        _p(schedule.get("commission_name", "Local Records Commission"), SUBTITLE),
        _p("Illinois State Archives — Local Records Act (50 ILCS 205)", SUBTITLE),
        Paragraph(_escape(title), TITLE),
        _p(f"Certificate number {number}", SUBTITLE),
        Spacer(1, 8),
    ]
    if schedule.get("example"):
        story.append(
            _p(
                "EXAMPLE RETENTION SCHEDULE — not the agency's approved application; this document "
                "has no authority.",
                WARNING,
            )
        )
        story.append(Spacer(1, 4))
    return story


def _agency(schedule: Mapping[str, Any]) -> Table:
    return _fields(
        [
            ("Agency", schedule.get("agency")),
            ("Address", schedule.get("address") or "—"),
            ("Application number", schedule.get("application_number")),
            ("Application approved", _day(schedule.get("approved_on"))),
            ("Records officer", schedule.get("records_officer") or "—"),
        ]
    )


def disposal_certificate_pdf(document: Mapping[str, Any]) -> bytes:
    """The Local Records Disposal Certificate for a proposed (or approved) certificate document."""
    schedule = document["schedule"]
    story = _header(schedule, "LOCAL RECORDS DISPOSAL CERTIFICATE", document["certificate_id"])
    story += [_agency(schedule), Spacer(1, 10)]
    story.append(
        _p(
            f"Records eligible for disposal as of {document['as_of']} under the approved application "
            f"(electronic records: social media and web captures held as WARC files).",
            BODY,
        )
    )
    story.append(Spacer(1, 6))
    rows: list[list[Any]] = [
        [_p("Application item no.", HEAD), _p("Records series title", HEAD),
         _p("Inclusive dates", HEAD), _p("Quantity", HEAD)]
    ]  # fmt: skip
    for group in document["items"]:
        rows.append(
            [
                _p(group["item_number"]),
                _p(f"{group['series_title']} ({group['retention']})"),
                _p(f"{_day(group['first_date'])} to {_day(group['last_date'])}"),
                _p(f"{group['quantity']} electronic records"),
            ]
        )
    if len(rows) == 1:
        rows.append([_p("—"), _p("no records are eligible"), _p(""), _p("0")])
    table = Table(rows, colWidths=[1.1 * inch, 3.4 * inch, 1.5 * inch, 1.0 * inch], repeatRows=1)
    table.setStyle(GRID)
    story += [table, Spacer(1, 10)]
    story.append(
        _p(
            "I certify that the records listed above have met the retention period of the approved "
            "application, are not needed for pending or anticipated litigation, audit, or a request "
            "under the Freedom of Information Act, and that no records will be destroyed until this "
            f"certificate is returned approved and at least {document['waiting_days']} days after it "
            "was sent to the Commission.",
            BODY,
        )
    )
    story.append(Spacer(1, 8))
    story.append(
        _fields(
            [
                ("Prepared by", document.get("proposed_by")),
                ("Prepared on", _day(document.get("proposed_at"))),
                ("Sent to the Commission", _day(document.get("submitted_on"))),
                ("Signature of agency head / records officer", ""),
            ]
        )
    )
    story.append(Spacer(1, 10))
    approval = document.get("approval") or {}
    removed = approval.get("removed") or []
    decision = "APPROVED AS AMENDED" if removed else ("APPROVED" if approval else "")
    story.append(_p("FOR COMMISSION USE", HEAD))
    story.append(
        _fields(
            [
                ("Decision", decision or "pending"),
                ("Approval reference", approval.get("reference") or ""),
                ("Approved on", _day(approval.get("approved_on")) if approval else ""),
                ("Approved by", approval.get("approver") or ""),
                ("Records struck by the Commission", f"{len(removed)}" if approval else ""),
            ]
        )
    )
    if removed:
        story.append(Spacer(1, 4))
        story.append(_p("Struck: " + ", ".join(removed[:200]) + (" …" if len(removed) > 200 else ""), SMALL))
    story.append(Spacer(1, 10))
    story.append(
        _p(
            "Send this certificate to the Local Records Commission at least 30 days before the "
            "disposal date; do not dispose of the records until the approved copy is returned "
            "(44 Ill. Adm. Code 4000.40(c); Cook County: 4500.40(c)). The signed JSON "
            f"certificates/{document['certificate_id']}/ in the archive's object store lists every "
            "record by identifier.",
            SMALL,
        )
    )
    return _render(
        story, f"Local Records Disposal Certificate {document['certificate_id']}", "disposal certificate"
    )


def destruction_certificate_pdf(document: Mapping[str, Any]) -> bytes:
    """The certificate of destruction for a certificate-of-destruction document."""
    schedule = document["schedule"]
    story = _header(schedule, "CERTIFICATE OF DESTRUCTION", document["certificate_id"])
    story += [_agency(schedule), Spacer(1, 8)]
    approval = document.get("approval") or {}
    story.append(
        _fields(
            [
                ("Disposal certificate", document["certificate_id"]),
                ("Sent to the Commission", _day(document.get("submitted_on"))),
                ("Approval reference", approval.get("reference")),
                (
                    "Approved on / by",
                    f"{_day(approval.get('approved_on'))} — {approval.get('approver') or ''}",
                ),
                ("Approved as amended", f"{len(approval.get('removed') or [])} record(s) struck"),
            ]
        )
    )
    story.append(Spacer(1, 8))
    rows: list[list[Any]] = [
        [_p("Item no.", HEAD), _p("Records series title", HEAD), _p("Inclusive dates", HEAD),
         _p("Records destroyed", HEAD), _p("Captures destroyed", HEAD)]
    ]  # fmt: skip
    for group in document["destroyed"]:
        rows.append(
            [
                _p(group["item_number"]),
                _p(group["series_title"]),
                _p(f"{_day(group['first_date'])} to {_day(group['last_date'])}"),
                _p(group["records"]),
                _p(group["captures"]),
            ]
        )
    if len(rows) == 1:
        rows.append([_p("—"), _p("no records were destroyed"), _p(""), _p("0"), _p("0")])
    table = Table(rows, colWidths=[0.8 * inch, 2.9 * inch, 1.5 * inch, 0.9 * inch, 0.9 * inch], repeatRows=1)
    table.setStyle(GRID)
    story += [table, Spacer(1, 8)]
    kept = document.get("not_destroyed") or {}
    story.append(
        _fields(
            [
                ("Records destroyed", document["records_destroyed"]),
                (
                    "Listed but not destroyed",
                    ", ".join(f"{k}: {v}" for k, v in sorted(kept.items())) or "none",
                ),
                ("SHA-256 of the list of destroyed records", document["destroyed_records_sha256"]),
                ("Method", document["method"]),
                ("Stored objects deleted", len(document.get("objects_deleted") or [])),
                ("Stored objects rewritten", len(document.get("objects_rewritten") or [])),
                ("Executed by / on", f"{document.get('executed_by')} — {document.get('executed_at')}"),
                (
                    "Verified by / on",
                    f"{document.get('verified_by') or 'pending'} — {document.get('verified_at') or ''}",
                ),
            ]
        )
    )
    story.append(Spacer(1, 8))
    story.append(
        _p(
            "The records above were destroyed under the approved disposal certificate: every stored "
            "copy (all object versions), their index entries, versions, change events and full-text "
            "entries. A stub of each destroyed record (identifier, item number, series, dates, "
            "SHA-256 digests) is kept permanently. This certificate is signed with the archive's "
            f"Ed25519 key {document.get('key_id', '')}; the signed JSON next to it in the object store "
            "is authoritative and verifies with the published public key alone.",
            SMALL,
        )
    )
    return _render(
        story, f"Certificate of destruction {document['certificate_id']}", "certificate of destruction"
    )
