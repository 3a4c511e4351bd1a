"""spinepath api-token create NAME [--write] | list | revoke NAME: tokens for the FHIR API."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from spinepath.commands._common import EXIT_INVALID


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "api-token",
        help="issue, list or revoke bearer tokens for the FHIR API",
        description=(
            "Tokens for the FHIR API and CDS Hooks: read-only unless --write (which may store "
            "questionnaire answers). The token is printed once and only its hash is kept."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="issue a token (printed once)")
    create.add_argument("name")
    create.add_argument("--write", action="store_true", help="may also write")
    actions.add_parser("list", help="the tokens, without their secrets")
    revoke = actions.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("name")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from spinepath.commands.web import _django

    _django()
    from spinepath.accounts.actors import at_command_line
    from spinepath.errors import Refused
    from spinepath.fhir_api.models import ApiToken
    from spinepath.fhir_api.services import token_create, token_revoke

    # Whoever runs the command on the server (the machine's account is recorded).
    actor = at_command_line(args.command)
    if args.action == "create":
        try:
            _token, secret = token_create(actor=actor, name=args.name, can_write=args.write)
        except Refused as refused:
            print("; ".join(refused.reasons), file=sys.stderr)
            return EXIT_INVALID
        print(secret)
        return 0
    if args.action == "list":
        for token in ApiToken.objects.all():
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "live"
            scope = "read and write" if token.can_write else "read only"
            used = (
                f"last used {token.last_used_at:%Y-%m-%d %H:%M}"
                if token.last_used_at
                else "never used"
            )
            print(f"{token.name}\t{token.prefix}...\t{scope}\t{state}\t{used}")
        return 0
    token = ApiToken.objects.filter(name=args.name).first()
    if token is None:
        print(f"no token named {args.name}", file=sys.stderr)
        return EXIT_INVALID
    token_revoke(actor=actor, token_id=token.pk)
    print(f"{token.name} revoked")
    return 0
