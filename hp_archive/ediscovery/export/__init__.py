"""Court-ready productions of a matter, and their offline verifier.

``export_matter`` builds one numbered production (Bates-numbered natives, text, page images and
searchable PDFs, Concordance DAT / Opticon OPT / EDRM XML load files, a signed WACZ of the
original WARC records, a manifest and a signed chain-of-custody record); ``verify_export`` checks
one offline and names every discrepancy.
"""

from hp_archive.ediscovery.export.produce import ExportError
from hp_archive.ediscovery.export.service import (
    DEFAULT_FORMATS,
    FORMATS,
    ProductionResult,
    export_matter,
    parse_formats,
    publish_production,
)
from hp_archive.ediscovery.export.verify import VerificationReport, verify_export

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "ExportError",
    "ProductionResult",
    "VerificationReport",
    "export_matter",
    "parse_formats",
    "publish_production",
    "verify_export",
]
