"""The certificate PDFs read like the forms they stand for, and are reproducible."""

from __future__ import annotations

import pypdfium2 as pdfium

from hp_archive.retention.pdf import destruction_certificate_pdf, disposal_certificate_pdf

SCHEDULE = {
    "agency": "Hanover Park Police Department",
    "address": "2011 West Lake Street",
    "records_officer": "R. Officer",
    "commission_name": "Local Records Commission (downstate)",
    "application_number": "APP-2024-17",
    "approved_on": "2024-06-04",
    "example": False,
}
PROPOSED = {
    "certificate_id": "DC-2029-0001",
    "as_of": "2029-02-01",
    "schedule": SCHEDULE,
    "waiting_days": 30,
    "proposed_by": "records.officer",
    "proposed_at": "2029-02-01T15:00:00+00:00",
    "items": [
        {"item_number": "26.4", "series_title": "Public comments", "retention": "2 years after end of calendar year",
         "quantity": 812, "first_date": "2026-01-03T10:00:00+00:00", "last_date": "2026-12-30T22:00:00+00:00"},
    ],
}  # fmt: skip


def text_of(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        text = " ".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
        return " ".join(text.split())  # line breaks fall wherever the layout wraps
    finally:
        document.close()


def test_the_disposal_certificate_has_the_forms_parts() -> None:
    text = text_of(disposal_certificate_pdf(PROPOSED))
    for expected in (
        "LOCAL RECORDS DISPOSAL CERTIFICATE",
        "Local Records Commission (downstate)",
        "DC-2029-0001",
        "Hanover Park Police Department",
        "APP-2024-17",
        "26.4",
        "Public comments",
        "2026-01-03 to 2026-12-30",
        "812 electronic records",
        "FOR COMMISSION USE",
        "pending",
    ):
        assert expected in text, expected
    assert "EXAMPLE" not in text


def test_an_amended_approval_and_an_example_schedule_show() -> None:
    approved = {
        **PROPOSED,
        "schedule": {**SCHEDULE, "example": True},
        "approval": {"reference": "LRC-29-114", "approved_on": "2029-02-10", "approver": "A. Chair",
                     "removed": ["facebook:1_2"]},
    }  # fmt: skip
    text = text_of(disposal_certificate_pdf(approved))
    assert "APPROVED AS AMENDED" in text and "LRC-29-114" in text and "facebook:1_2" in text
    assert "EXAMPLE RETENTION SCHEDULE" in text


def test_the_certificate_of_destruction_names_what_who_and_how() -> None:
    document = {
        "certificate_id": "DC-2029-0001",
        "schedule": SCHEDULE,
        "submitted_on": "2029-02-01",
        "approval": {"reference": "LRC-29-114", "approved_on": "2029-02-10", "approver": "A. Chair", "removed": []},
        "destroyed": [
            {"item_number": "26.4", "series_title": "Public comments", "records": 811, "captures": 2400,
             "first_date": "2026-01-03T10:00:00+00:00", "last_date": "2026-12-30T22:00:00+00:00"},
        ],
        "records_destroyed": 811,
        "not_destroyed": {"retained": 1},
        "destroyed_records_sha256": "ab" * 32,
        "method": "every version of each stored object deleted",
        "objects_deleted": [{"key": "warcs/a"}],
        "objects_rewritten": [],
        "executed_by": "records.officer",
        "executed_at": "2029-03-03T15:00:00+00:00",
        "verified_by": "auditor",
        "verified_at": "2029-03-04T09:00:00+00:00",
        "key_id": "0123456789abcdef",
    }  # fmt: skip
    pdf = destruction_certificate_pdf(document)
    text = text_of(pdf)
    for expected in ("CERTIFICATE OF DESTRUCTION", "811", "2400", "ab" * 32, "LRC-29-114", "records.officer",
                     "auditor", "retained: 1", "0123456789abcdef"):  # fmt: skip
        assert expected in text, expected
    assert destruction_certificate_pdf(document) == pdf
