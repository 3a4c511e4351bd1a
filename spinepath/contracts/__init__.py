"""The interchange contracts spinepath reads and writes, shipped inside the package.

``workup.schema.json`` describes a workup (``spinepath.workup/1``), the input of the
candidacy engine; ``decision.schema.json`` the decision it returns. They are the JSON Schemas
other systems validate against; spinepath's own parsing lives in ``spinepath.pathway.workup``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Literal

ContractName = Literal["workup", "decision"]


@cache
def contract_schema(name: ContractName) -> dict[str, Any]:
    """The JSON Schema of a contract, as shipped with this version of spinepath."""
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
