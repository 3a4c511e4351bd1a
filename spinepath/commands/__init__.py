"""Sub-commands of `spinepath`. Each module has ``add_parser(subcommands)`` which registers
its parser and sets ``handler`` (a function of the parsed arguments returning the exit status)."""

from __future__ import annotations

from types import ModuleType

from spinepath.commands import (
    api_token,
    audit,
    backup,
    dicom,
    lookback,
    rescreen,
    schedule,
    score,
    screen,
    smart_app,
    web,
)

COMMANDS: tuple[ModuleType, ...] = (
    screen,
    score,
    schedule,
    web,
    audit,
    backup,
    rescreen,
    dicom,
    api_token,
    smart_app,
    lookback,
)
