"""What a declared function's JSON schema says of its arguments, read defensively. Pure.

Clients send tool schemas of every shape (`parameters` missing, `properties` a list, `required` naming
numbers), and every settling step of the tool layer reads the same two things from them:

    declared_properties(function)   its `parameters.properties` when both are objects, else None
    required_names(function)        the argument names its `parameters.required` lists, in order
"""

from __future__ import annotations

from typing import Any

__all__ = ["declared_properties", "required_names"]


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
