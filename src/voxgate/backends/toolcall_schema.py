"""What a declared function's JSON schema says of its arguments, read defensively. Pure.

Clients send tool schemas of every shape (`parameters` missing, `properties` a list, `required` naming
numbers), and every settling step of the tool layer reads the same two things from them:

    declared_properties(function)   its `parameters.properties` when both are objects, else None
    required_names(function)        the argument names its `parameters.required` lists, in order
    argument_name_words(name)       an argument name's words: snake_case and camelCase split, lower case
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["argument_name_words", "declared_properties", "required_names"]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def declared_properties(function: object) -> dict[str, Any] | None:
    """`function`'s `parameters.properties` when both are objects; else None."""
    parameters = function.get("parameters") if isinstance(function, dict) else None
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    return properties if isinstance(properties, dict) else None


def required_names(function: object) -> tuple[str, ...]:
    """The argument names `function`'s `parameters.required` lists, in its order (empty when none)."""
    parameters = function.get("parameters") if isinstance(function, dict) else None
    required = parameters.get("required") if isinstance(parameters, dict) else None
    return tuple(name for name in required if isinstance(name, str)) if isinstance(required, list) else ()


def argument_name_words(name: str) -> list[str]:
    """The words of an argument's name, lower case: `weight_earth_kg` -> weight, earth, kg; `startDate` ->
    start, date."""
    return _WORD.findall(_CAMEL_HUMP.sub(" ", name).lower())
