"""``hp-archive import WARC... [--account ID] [--series S]``: WARCs written by other tools."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hp_archive.commands import common
from hp_archive.importer import DEFAULT_ACCOUNT, DEFAULT_SERIES, import_warcs, layout_note


def cmd_import(args: argparse.Namespace) -> int:
    archive = common.open_archive()
    try:
        results = import_warcs(archive, args.warcs, account=args.account, series=args.series)
    finally:
        archive.close()
    if args.json:
        common.print_json({"files": [r.as_dict() for r in results]})
        return 0
    rows = [[Path(r.path).name, r.status, str(r.records), str(r.items), r.layout, r.key] for r in results]
    print(common.table(rows, ["file", "status", "records", "items", "layout", "key"]))
    for r in results:
        note = layout_note(r.layout)
        if note:
            print(f"{Path(r.path).name}: {note}")
    return 0


def register(subparsers: Any) -> None:
    parser = common.add_command(
        subparsers,
        "import",
        cmd_import,
        "ingest WARCs written by other tools (Browsertrix, warcprox, wget, pywb): stored unmodified, "
        "verified, indexed",
    )
    parser.add_argument("warcs", nargs="+", type=Path, metavar="WARC")
    parser.add_argument(
        "--account",
        default=DEFAULT_ACCOUNT,
        metavar="ID",
        help=f"account to file them under ({DEFAULT_ACCOUNT})",
    )
    parser.add_argument(
        "--series", default=DEFAULT_SERIES, metavar="S", help=f"record series ({DEFAULT_SERIES})"
    )
