"""Policy files: the shipped default and a clinic's own (the reading side of pathway.policy)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from spinepath.pathway.policy import InvalidPolicy, Policy, parse_policy


@cache
def default_policy() -> Policy:
    text = resources.files(__package__).joinpath("default.toml").read_text(encoding="utf-8")
    return parse_policy(text)


def load_policy(path: str | Path | None) -> Policy:
    """The policy in ``path`` applied over the defaults, or the defaults when ``path`` is None."""
    if path is None:
        return default_policy()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidPolicy(str(path), f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InvalidPolicy(str(path), "is not UTF-8 text") from None
    return parse_policy(text, base=default_policy())
