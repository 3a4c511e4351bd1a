"""spinepath smart-app create NAME --kind KIND ... | list | revoke NAME: the SMART apps that may
reach the FHIR API with OAuth 2.0 (the clinic admin's SMART apps page does the same)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from spinepath.commands._common import EXIT_INVALID


def add_parser(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "smart-app",
        help="register, list or revoke SMART apps (App Launch and Backend Services)",
        description=(
            "SMART apps reach the FHIR API with OAuth 2.0 access tokens: a public app (PKCE) or "
            "a confidential one (a client secret, printed once) that staff authorize, or a "
            "backend service that signs a JWT with a key of its JWK Set (--jwks FILE)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="register an app (prints its client id)")
    create.add_argument("name")
    create.add_argument(
        "--kind", required=True, choices=["public", "confidential", "backend"], help="its kind"
    )
    create.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        metavar="URI",
        help="an https address it receives its authorization at (repeat for more)",
    )
    create.add_argument("--launch-url", default="", metavar="URL", help="its EHR launch URL")
    create.add_argument(
        "--scopes", default="", help='the scopes it may ask, e.g. "launch patient/*.rs"'
    )
    create.add_argument(
        "--jwks", metavar="FILE", help="a backend service's public keys (a JWK Set, JSON)"
    )
    actions.add_parser("list", help="the apps, their client ids and scopes")
    revoke = actions.add_parser("revoke", help="revoke an app and every token it holds")
    revoke.add_argument("name")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from spinepath.commands.web import _django

    _django()
    from spinepath.accounts.actors import at_command_line
    from spinepath.errors import Refused
    from spinepath.fhir_api.models import SmartApp
    from spinepath.fhir_api.smart.registry import (
        Registration,
        smart_app_create,
        smart_app_revoke,
    )

    actor = at_command_line(args.command)
    if args.action == "create":
        jwks = ""
        if args.jwks:
            try:
                jwks = Path(args.jwks).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as problem:
                print(f"--jwks: {args.jwks} cannot be read ({problem})", file=sys.stderr)
                return EXIT_INVALID
        try:
            app, secret = smart_app_create(
                actor=actor,
                registration=Registration(
                    name=args.name,
                    kind=args.kind,
                    redirect_uris=" ".join(args.redirect_uri),
                    launch_url=args.launch_url,
                    scopes=args.scopes,
                    jwks=jwks,
                ),
            )
        except Refused as refused:
            print("; ".join(refused.reasons), file=sys.stderr)
            return EXIT_INVALID
        print(f"client_id {app.application.client_id}")
        if secret:
            print(f"client_secret {secret}")
        return 0
    if args.action == "list":
        for app in SmartApp.objects.select_related("application"):
            state = f"revoked {app.revoked_at:%Y-%m-%d %H:%M}" if app.revoked_at else "live"
            print(f"{app.name}\t{app.kind}\t{app.application.client_id}\t{app.scopes}\t{state}")
        return 0
    found = SmartApp.objects.filter(name=args.name).first()
    if found is None:
        print(f"no SMART app named {args.name}", file=sys.stderr)
        return EXIT_INVALID
    smart_app_revoke(actor=actor, app_id=found.pk)
    print(f"{found.name} revoked")
    return 0
