"""``hp-archive export`` and ``hp-archive verify-export``: court-ready productions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hp_archive.commands import common
from hp_archive.errors import ConfigError


def register(subparsers: Any) -> None:
    from hp_archive.ediscovery.export import DEFAULT_FORMATS

    p = common.add_command(
        subparsers,
        "export",
        cmd_export,
        "produce a matter: Bates-numbered natives, text, page images and PDFs, DAT/OPT/EDRM load "
        "files, a signed WACZ, a manifest and a signed chain-of-custody record",
    )
    p.add_argument("matter", metavar="MATTER", help="the matter whose held items are produced")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write PRODnnnn into")
    p.add_argument("--query", metavar="Q", help="narrow the matter's items (see docs/query-language.md)")
    p.add_argument(
        "--format",
        default=",".join(DEFAULT_FORMATS),
        metavar="LIST",
        help=f"comma-separated subset of {','.join(DEFAULT_FORMATS)} (default: all)",
    )
    p.add_argument("--bates-prefix", default="HPPD", metavar="PREFIX", help="Bates prefix (default HPPD)")
    p.add_argument(
        "--bates-width", type=int, default=7, metavar="N", help="digits after the prefix (default 7)"
    )
    p.add_argument(
        "--bates-start", type=int, metavar="N", help="first number (default: after the last production's)"
    )
    p.add_argument("--zip", action="store_true", help="also write PRODnnnn.zip beside the folder")
    p.add_argument("--by", metavar="NAME", help="who exports (default: HP_ARCHIVE_OPERATOR)")
    p = common.add_command(
        subparsers,
        "verify-export",
        cmd_verify_export,
        "check a production offline: hashes, signatures, Bates continuity, load files",
    )
    p.add_argument("path", type=Path, metavar="DIR", help="a production folder or its zip")
    p.add_argument(
        "--public-key",
        type=Path,
        metavar="PEM",
        help="the archive's public key (keys/archive-ed25519-*.pem in its store) to check who signed",
    )


def cmd_export(args: argparse.Namespace) -> int:
    from hp_archive.ediscovery.export import export_matter, parse_formats

    formats = parse_formats(args.format)
    archive = common.open_archive()
    try:
        result = export_matter(
            archive,
            args.matter,
            args.out,
            query=args.query,
            formats=formats,
            bates_prefix=args.bates_prefix,
            width=args.bates_width,
            bates_start=args.bates_start,
            actor=args.by or archive.operator,
            as_of=common.now(),
            make_zip=args.zip,
        )
    finally:
        archive.close()
    if args.json:
        common.print_json(result.as_dict())
    else:
        print(
            f"{result.name}: {result.documents} document(s) in {result.families} famil"
            f"{'y' if result.families == 1 else 'ies'}, {result.pages} Bates number(s) "
            f"{result.bates_first}-{result.bates_last}"
        )
        print(f"  folder   {result.folder}")
        if result.zip_path:
            print(f"  zip      {result.zip_path}")
        print(f"  manifest SHA-256 {result.manifest_sha256} ({len(result.files)} files)")
        print(f"  audit entry {result.audit_seq} ({result.audit_hash})")
        print(f"  verify with: hp-archive verify-export {result.folder}")
    for warning in result.warnings:
        print(f"export: warning: {warning}", file=sys.stderr)
    return 0


def cmd_verify_export(args: argparse.Namespace) -> int:
    from hp_archive.ediscovery.export import verify_export

    key = None
    if args.public_key is not None:
        try:
            key = args.public_key.read_bytes()
        except OSError as exc:
            raise ConfigError(f"public key {args.public_key} cannot be read: {exc.strerror}") from None
    report = verify_export(args.path, public_key_pem=key)
    if args.json:
        common.print_json(report.as_dict())
    elif report.ok:
        checked = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report.checked.items())
        trust = (
            "the given public key"
            if report.trusted_key
            else "its embedded key (pass --public-key to check who signed)"
        )
        print(
            f"{report.production}: intact ({checked}); signed by key {report.key_id}, verified with {trust}"
        )
    else:
        for problem in report.problems:
            print(f"verify-export: {problem}", file=sys.stderr)
        print(f"{report.production or args.path}: {len(report.problems)} problem(s)", file=sys.stderr)
    return 0 if report.ok else 1
