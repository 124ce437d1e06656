"""``hp-archive disposal propose | submit | approve | execute | verify | list | show``.

``execute`` accepts no time override: it always judges by the real clock (DESIGN invariant 7 —
only entry points read it; the library takes ``as_of``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hp_archive.commands import common

SHOWN = (
    "proposed_by", "submitted_on", "earliest_destruction", "approval_reference", "approved_on", "approver",
    "executed_at", "executed_by", "verified_at", "verified_by", "execution_phase",
)  # fmt: skip


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "disposal",
        help="disposal certificates: propose, submit, approve, execute, verify",
        description="the Illinois two-step: a certificate filed and approved, then executed and verified",
    )
    sub = parser.add_subparsers(dest="disposal_command", required=True, metavar="ACTION")
    p = common.add_command(
        sub, "propose", cmd_propose, "propose a certificate for what is eligible; prints its id"
    )
    p.add_argument("--as-of", metavar="DATE", help="eligible as of this date (may lie ahead; default today)")
    p.add_argument("--series", metavar="ITEM", help="only this schedule item (its number)")
    p = common.add_command(
        sub, "submit", cmd_submit, "record the date the certificate was sent to the Commission"
    )
    p.add_argument("certificate", metavar="CERT")
    p.add_argument("--on", required=True, metavar="DATE", help="the date it was sent (not in the future)")
    p = common.add_command(sub, "approve", cmd_approve, "record the Commission's approval (audited)")
    p.add_argument("certificate", metavar="CERT")
    p.add_argument("--reference", required=True, metavar="REF", help="the Commission's approval reference")
    p.add_argument(
        "--approved-on", required=True, metavar="DATE", help="the approval date (not in the future)"
    )
    p.add_argument("--by", required=True, metavar="NAME", help="who approved it")
    p.add_argument(
        "--remove",
        nargs="+",
        default=[],
        metavar="RECORD",
        help="records the Commission struck (approved as amended)",
    )
    p = common.add_command(
        sub, "execute", cmd_execute, "destroy the approved records (real clock; resumable)"
    )
    p.add_argument("certificate", metavar="CERT")
    p.add_argument("--dry-run", action="store_true", help="plan and report, change nothing")
    p.add_argument(
        "--bypass-governance",
        action="store_true",
        help="delete objects still under GOVERNANCE-mode Object Lock retention (audited)",
    )
    p = common.add_command(
        sub, "verify", cmd_verify, "prove the destruction complete; issue the certificate of destruction"
    )
    p.add_argument("certificate", metavar="CERT")
    p.add_argument(
        "--public-key", type=Path, metavar="PEM", help="verify signatures with this public key file"
    )
    common.add_command(sub, "list", cmd_list, "every disposal certificate")
    p = common.add_command(sub, "show", cmd_show, "a certificate, its records and documents")
    p.add_argument("certificate", metavar="CERT")


def _date(value: str, name: str) -> Any:
    parsed = common.parse_date(value, name)
    assert parsed is not None
    return parsed


def cmd_propose(args: argparse.Namespace) -> int:
    from hp_archive.retention.disposal import propose
    from hp_archive.retention.rows import local_day

    now = common.now()
    archive = common.open_archive()
    try:
        as_of = common.parse_date(args.as_of, "--as-of") or local_day(now, archive.timezone)
        proposal = propose(archive, as_of=as_of, now=now, series=args.series)
    finally:
        archive.close()
    if args.json:
        common.print_json(proposal.as_dict())
        return 0
    print(proposal.certificate_id)
    print(
        f"proposed {proposal.certificate_id}: {proposal.records} record(s) eligible as of {as_of}",
        file=sys.stderr,
    )
    for group in proposal.items:
        print(
            f"  {group['item_number']:8} {group['series_title']}: {group['quantity']} record(s), "
            f"{(group['first_date'] or '')[:10]} to {(group['last_date'] or '')[:10]}",
            file=sys.stderr,
        )
    print(f"  certificate PDF: {proposal.documents['proposed_pdf']['key']}", file=sys.stderr)
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from hp_archive.retention.disposal import submit

    archive = common.open_archive()
    try:
        data = submit(archive, args.certificate, on=_date(args.on, "--on"), now=common.now())
    finally:
        archive.close()
    if args.json:
        common.print_json(data)
    else:
        print(
            f"{data['certificate_id']} submitted on {data['submitted_on']}; destruction may run on or after "
            f"{data['earliest_destruction']} once approved"
        )
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from hp_archive.retention.disposal import approve

    archive = common.open_archive()
    try:
        data = approve(
            archive,
            args.certificate,
            reference=args.reference,
            approved_on=_date(args.approved_on, "--approved-on"),
            approver=args.by,
            now=common.now(),
            remove=args.remove,
        )
    finally:
        archive.close()
    if args.json:
        common.print_json(data)
    else:
        amended = data["records"].get("removed", 0)
        print(
            f"{data['certificate_id']} approved ({data['approval_reference']}, {data['approved_on']}, "
            f"{data['approver']})"
            + (f" as amended: {amended} record(s) struck" if amended else "")
            + f"; destruction may run on or after {data['earliest_destruction']}"
        )
    return 0


def cmd_execute(args: argparse.Namespace) -> int:
    from hp_archive.retention.disposal import execute

    archive = common.open_archive()
    try:
        report = execute(
            archive,
            args.certificate,
            as_of=common.now(),
            dry_run=args.dry_run,
            bypass_governance=args.bypass_governance,
        )
    finally:
        archive.close()
    data = report.as_dict()
    if args.json:
        common.print_json(data)
        return 0
    verb = "would destroy" if report.dry_run else "destroyed"
    print(f"{data['certificate_id']}: {verb} {data['destroyed']} record(s) {data['destroyed_by_item']}")
    print(
        f"  objects deleted: {len(data['objects_deleted'])}, rewritten: {len(data['objects_rewritten'])}, "
        f"revisits made full records: {data['revisits_converted']}"
        + (", index rebuilt" if data["index_rebuilt"] and not report.dry_run else "")
    )
    for label, key in (
        ("partially destroyed", "partially_destroyed"),
        ("retained", "retained"),
        ("skipped", "skipped"),
    ):
        if data[key]:
            print(f"  {label}: {len(data[key])}")
            for entry in data[key][:50]:
                print(f"    {entry['id']}: {entry['reason']}")
    if not report.dry_run:
        print(f"  next: hp-archive disposal verify {data['certificate_id']}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from hp_archive.errors import ConfigError
    from hp_archive.retention.disposal import verify

    public_key = None
    if args.public_key is not None:
        try:
            public_key = args.public_key.read_bytes()
        except OSError as exc:
            raise ConfigError(f"public key {args.public_key} cannot be read: {exc.strerror or exc}") from None
    archive = common.open_archive()
    try:
        report = verify(archive, args.certificate, as_of=common.now(), public_key=public_key)
    finally:
        archive.close()
    data = report.as_dict()
    if args.json:
        common.print_json(data)
    else:
        for check in data["checks"]:
            print(f"  {'ok  ' if check['ok'] else 'FAIL'} {check['check']}: {check['detail']}")
        if report.ok:
            cert = data["documents"].get("destruction_certificate", {})
            print(f"{data['certificate_id']} verified; certificate of destruction {cert.get('key', '')}")
    for problem in data["problems"]:
        print(f"disposal verify: {problem}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_list(args: argparse.Namespace) -> int:
    from hp_archive.retention.disposal import list_certificates

    archive = common.open_archive()
    try:
        certificates = list_certificates(archive)
    finally:
        archive.close()
    if args.json:
        common.print_json({"certificates": certificates})
        return 0
    rows = [
        [c["certificate_id"], c["state"], c["as_of"], str(sum(c["records"].values())),
         c["submitted_on"] or "-", c["approval_reference"] or "-", c["earliest_destruction"] or "-"]
        for c in certificates
    ]  # fmt: skip
    print(
        common.table(
            rows, ["certificate", "state", "as of", "records", "submitted", "approval", "destroy from"]
        )
        if rows
        else "no disposal certificates"
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from hp_archive.retention.disposal import show_certificate

    archive = common.open_archive()
    try:
        data = show_certificate(archive, args.certificate)
    finally:
        archive.close()
    if args.json:
        common.print_json(data)
        return 0
    print(f"{data['certificate_id']}  {data['state']}  (as of {data['as_of']}, {data['schedule']['agency']})")
    for name in SHOWN:
        if data.get(name):
            print(f"  {name.replace('_', ' '):22} {data[name]}")
    print(
        "  records: " + ", ".join(f"{k} {v}" for k, v in data["records"].items()) + f"; stubs {data['stubs']}"
    )
    for group in data["items"]:
        print(f"  {group['item_number']:8} {group['series_title']}: {group['quantity']} record(s)")
    for name, ref in sorted(data["documents"].items()):
        if isinstance(ref, dict) and "key" in ref:
            print(f"  document {name:30} {ref['key']}")
    return 0
