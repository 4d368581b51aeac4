"""What a declared function's JSON schema says of its arguments, read defensively. Pure.

Clients send tool schemas of every shape (`parameters` missing, `properties` a list, `required` naming
numbers), and every settling step of the tool layer reads the same two things from them:

    declared_properties(function)   its `parameters.properties` when both are objects, else None
    required_names(function)        the argument names its `parameters.required` lists, in order
    argument_name_words(name)       an argument name's words: snake_case and camelCase split, lower case
    values_rewritten(arguments, function, rewrite)  a call's top-level values that `rewrite` gives a
                                    new value for (the argument's name, value, schema) replaced
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["argument_name_words", "declared_properties", "required_names", "values_rewritten"]

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


def values_rewritten(
    arguments: Any, function: object, rewrite: Callable[[str, Any, Any], Any | None]
) -> tuple[Any, tuple[str, ...]]:
    """`arguments` (a call's decoded JSON) with each top-level value for which `rewrite` (the argument's
    name, its value, `function`'s schema of it) gives a new value (not None) replaced by it, and their names."""
    properties = declared_properties(function)
    if not isinstance(arguments, dict) or properties is None:
        return arguments, ()
    written = {key: rewrite(key, value, properties.get(key)) for key, value in arguments.items()}
    changed = tuple(key for key, value in written.items() if value is not None)
    return ({**arguments, **{key: written[key] for key in changed}}, changed) if changed else (arguments, ())
