"""What a WARC file says about the capture run that wrote it.

The warcinfo record (first) names the account, platform, series and run; the metadata record
(last) is the capture report. Together they let ``reindex`` rebuild runs from the WARCs alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hp_archive import __version__
from hp_archive.errors import WarcError

REPORT_PROFILE = "hp-archive/capture-report/1"
REPORT_URI_PREFIX = "urn:hp-archive:capture-report:"


@dataclass(frozen=True)
class RunInfo:
    """The warcinfo fields hp_archive writes (and requires when it reads its own files)."""

    run_id: str
    account_id: str
    platform: str
    handle: str
    series: str
    window_start: datetime | None
    window_end: datetime
    started_at: datetime
    operator: str
    hostname: str

    def warc_fields(self) -> dict[str, str]:
        return {
            "software": f"hp-archive/{__version__}",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "operator": self.operator,
            "hostname": self.hostname,
            "description": f"Capture of {self.platform} account {self.account_id} ({self.handle})",
            "isPartOf": self.run_id,
            "hp-account": self.account_id,
            "hp-platform": self.platform,
            "hp-handle": self.handle,
            "hp-series": self.series,
            "hp-window-start": self.window_start.isoformat() if self.window_start else "",
            "hp-window-end": self.window_end.isoformat(),
            "hp-run-started": self.started_at.isoformat(),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str], *, where: str) -> RunInfo:
        try:
            start = fields.get("hp-window-start") or ""
            return cls(
                run_id=fields["isPartOf"],
                account_id=fields["hp-account"],
                platform=fields["hp-platform"],
                handle=fields.get("hp-handle", ""),
                series=fields["hp-series"],
                window_start=datetime.fromisoformat(start) if start else None,
                window_end=datetime.fromisoformat(fields["hp-window-end"]),
                started_at=datetime.fromisoformat(fields["hp-run-started"]),
                operator=fields.get("operator", ""),
                hostname=fields.get("hostname", ""),
            )
        except KeyError as exc:
            raise WarcError(
                f"{where}: warcinfo lacks the field {exc.args[0]!r}; not an hp-archive capture file"
            ) from None
        except ValueError as exc:
            raise WarcError(f"{where}: warcinfo has an unreadable date ({exc})") from None


def parse_report(block: bytes, *, where: str) -> dict[str, Any]:
    """The capture report JSON of a closing metadata record."""
    try:
        report = json.loads(block.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WarcError(f"{where}: capture report is not valid JSON ({exc})") from None
    if not isinstance(report, dict) or report.get("profile") != REPORT_PROFILE:
        raise WarcError(f"{where}: metadata record is not an {REPORT_PROFILE} report")
    return report
