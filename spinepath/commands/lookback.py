"""spinepath lookback --lot CODE --by USERNAME: which patients received a lot of a biologic."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "lookback",
        help="list the patients who received a lot, a product or a donor's material",
        description=(
            "Every patient who received the lot (its code on the label or its lot number), the "
            "catalogue product, or the donor's material, with each injection (date, target, "
            "lot) and the patient's contact details, as CSV on standard output (PATHWAY.md "
            "section 10; 21 CFR 1271.290). Voided entries are left out. Each patient listed "
            "is recorded in the audit log as a disclosure to the account named by --by. Exit "
            "status 2 names what is wrong."
        ),
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--lot", metavar="CODE")
    which.add_argument("--product", metavar="NAME")
    which.add_argument("--donor", metavar="DONOR_ID")
    parser.add_argument(
        "--by",
        metavar="USERNAME",
        required=True,
        help="your own staff account (audited, with the machine account that ran the command)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from spinepath.commands.web import _django

    _django()
    from spinepath.accounts.actors import at_command_line
    from spinepath.audit.models import AuditEvent
    from spinepath.audit.services import audit_record
    from spinepath.commands._common import EXIT_INVALID, staff_actor
    from spinepath.errors import Refused
    from spinepath.plans.biologics import LOOKBACK_HEADER, lookback, lookback_rows
    from spinepath.plans.models import BiologicProduct
    from spinepath.web.text import text_problem

    for name in ("lot", "product", "donor"):
        value = getattr(args, name)
        if value is not None and text_problem(value):
            print(f"spinepath lookback: --{name}: {text_problem(value)}", file=sys.stderr)
            return EXIT_INVALID
    user, refused = staff_actor(args.by, "product_catalogue")
    if user is None:
        print(f"spinepath lookback: {refused}", file=sys.stderr)
        return EXIT_INVALID
    product_id = None
    if args.product is not None:
        product = BiologicProduct.objects.filter(name__iexact=args.product.strip()).first()
        if product is None:
            print(
                f"spinepath lookback: --product: no product named {args.product}", file=sys.stderr
            )
            return EXIT_INVALID
        product_id = product.pk
    try:
        found = lookback(lot=args.lot or "", product_id=product_id, donor=args.donor or "")
    except Refused as refusal:
        print(f"spinepath lookback: {'; '.join(refusal.reasons)}", file=sys.stderr)
        return EXIT_INVALID
    actor = at_command_line("lookback", user)
    # Each disclosure is recorded before anything is shown.
    for recipient in found:
        audit_record(
            actor=actor,
            action=AuditEvent.EXPORT,
            what="look-back of a biologic product (contact details disclosed)",
            patient=recipient.patient,
            detail={"lot": args.lot, "product": args.product, "donor": args.donor},
        )
    out = csv.writer(sys.stdout)
    out.writerow(LOOKBACK_HEADER)
    out.writerows(lookback_rows(found))
    print(f"{len(found)} patient(s) received it", file=sys.stderr)
    return 0
