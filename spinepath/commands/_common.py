"""Shared pieces of the sub-commands."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from spinepath.pathway.authority import Fact
from spinepath.pathway.policy import InvalidPolicy, Policy
from spinepath.policies import load_policy

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EXIT_INVALID = 2


def add_policy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", metavar="FILE", help="a policy TOML file applied over the clinic defaults"
    )


def policy_or_none(args: argparse.Namespace) -> Policy | None:
    """The policy the arguments name; on error, print it and return None (exit status 2)."""
    try:
        return load_policy(args.policy)
    except InvalidPolicy as exc:
        print(f"{args.policy}: {exc}", file=sys.stderr)
        return None


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_INVALID


def staff_actor(username: str, fact: Fact) -> tuple[User | None, str | None]:
    """The staff account a command acts as (``--by``): one that could sign in now (active, not a
    name on records only like the synthetic cohort's clinicians, not a demo login outside demo
    mode) and whose role may state ``fact``. Returns (user, None) or (None, why not); the
    command then acts as :func:`spinepath.accounts.actors.at_command_line` of that user."""
    from django.contrib.auth.models import User

    from spinepath.accounts.backends import StaffBackend
    from spinepath.accounts.roles import role_names
    from spinepath.pathway.authority import may_state, refusal
    from spinepath.web.text import text_problem

    problem = text_problem(username)
    if problem:
        return None, f"--by: {problem}"
    user = User.objects.filter(username=username).select_related("staff_account").first()
    if user is None or not user.is_active:
        return None, f"--by: no active staff account {username}"
    if not StaffBackend().user_can_authenticate(user):
        return None, (
            f"--by: {username} is not a person's account that can sign in (a name on records "
            "only, or a demo login outside demo mode): name your own staff account"
        )
    if not may_state(role_names(user), fact):
        return None, f"--by: {refusal(fact)}"
    return user, None
