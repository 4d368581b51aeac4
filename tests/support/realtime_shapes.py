"""Is an event in the GA or the beta realtime shape? Checked against the official `openai` SDK's types.

    shape_errors(event, GA_SERVER)    # [] when the event is one of the GA server events, every key
                                      # at every depth named by its model (pydantic models, TypedDicts)

The SDK's models allow extra keys, so validating alone would let a beta field slip into a GA event;
this walks the event beside the type and reports each key the type does not name, and each
`type` value its Literal does not allow. The event's class is picked by its `type`. `id`, `object`
and `expires_at` are allowed everywhere: the servers send them in session objects whose SDK models
(the create-request ones) leave them out.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import typing_extensions
from openai.types.beta.realtime import RealtimeClientEventParam as BetaClientEvent
from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeClientEventParam as GAClientEvent
from openai.types.realtime import RealtimeServerEvent as GAServerEvent
from pydantic import BaseModel

_Classes = dict[str, Any]
_IDENTITY_KEYS = frozenset({"id", "object", "expires_at"})


def _members(union: Any) -> list[Any]:
    while get_origin(union) is typing.Annotated:
        union = get_args(union)[0]
    return list(get_args(union))


def _fields(cls: Any) -> dict[str, Any]:
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return {name: field.annotation for name, field in cls.model_fields.items()}
    return get_type_hints(cls)


def _by_type(union: Any) -> _Classes:
    classes: _Classes = {}
    for cls in _members(union):
        for literal in _members(_fields(cls)["type"]):
            classes[literal] = cls
    return classes


GA_SERVER, BETA_SERVER = _by_type(GAServerEvent), _by_type(BetaServerEvent)
GA_CLIENT, BETA_CLIENT = _by_type(GAClientEvent), _by_type(BetaClientEvent)


def _is_object_type(annotation: Any) -> bool:
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return is_model or typing_extensions.is_typeddict(annotation)


def _errors(value: Any, annotation: Any, path: str) -> list[str]:
    origin = get_origin(annotation)
    if origin is typing.Annotated or origin is typing.Required or origin is typing.NotRequired:
        return _errors(value, get_args(annotation)[0], path)
    if origin is Union or origin is types.UnionType:
        tried = [_errors(value, member, path) for member in get_args(annotation)]
        return min(tried, key=len)
    if origin is Literal:
        return [] if value in get_args(annotation) else [f"{path} = {value!r} not in {get_args(annotation)}"]
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence) and isinstance(value, list):
        (item,) = get_args(annotation) or (Any,)
        return [e for n, v in enumerate(value) for e in _errors(v, item, f"{path}[{n}]")]
    if _is_object_type(annotation):
        if not isinstance(value, dict):
            return [f"{path} is not an object"]
        fields = _fields(annotation)
        found = [f"{path}.{key} is not a field of {annotation.__name__}" for key in value
                 if key not in fields and key not in _IDENTITY_KEYS]
        inner = [e for key, v in value.items() if key in fields for e in _errors(v, fields[key], f"{path}.{key}")]
        return found + inner
    return []


def shape_errors(event: dict[str, Any], classes: _Classes) -> list[str]:
    """What in `event` its class in `classes` (picked by `type`) does not name; [] for a well-shaped event."""
    cls = classes.get(event.get("type"))  # type: ignore[arg-type]
    if cls is None:
        return [f"{event.get('type')!r} is not an event of this shape"]
    return _errors(event, cls, "event")
