"""The objects inside realtime events, rewritten between the GA and beta shapes: sessions, responses, items.

The official `openai` SDK's models are the spec (`openai.types.realtime`: GA; `openai.types.beta.realtime`).

    beta (flat)                          GA (nested)
    modalities ["text", "audio"]         output_modalities ["audio"]       (["text"] stays ["text"])
    voice, speed                         audio.output.voice, audio.output.speed
    output_audio_format "pcm16"          audio.output.format {"type": "audio/pcm", "rate": 24000}
    input_audio_format "g711_ulaw"       audio.input.format {"type": "audio/pcmu"}   (g711_alaw: audio/pcma)
    input_audio_transcription            audio.input.transcription
    input_audio_noise_reduction          audio.input.noise_reduction
    turn_detection                       audio.input.turn_detection
    max_response_output_tokens           max_output_tokens   (a beta *response*'s own field keeps its name)
    temperature                          -- refused: GA sessions and responses have none (below)
    --                                   type "realtime" (added; "transcription" has no beta equivalent)
    content "text", "audio"              content "output_text", "output_audio"   (assistant messages)

instructions, tools, tool_choice, tracing, conversation, metadata, input, id, model, object, status,
usage and the rest are the same in both and pass unchanged. A field the other shape cannot express
(GA's prompt, truncation, include, reasoning, parallel_tool_calls, input_image content, MCP tools
and items; beta's item_reference content and temperature) raises `Untranslatable` in a client's
object (`strict`: the client is told) and is left out of a server's (the client did not ask for it).

Beta's `temperature` towards a GA model is refused the same way (`session.temperature`,
`response.temperature`), with a message that says to remove it. It used to be dropped; it is refused
because a client that set it asked for a way of sampling the model cannot give, and a silent drop
would hand it replies unlike the ones it asked for with no sign why. Refusing the whole event, not
only the field, is what every other untranslatable field gets: an event goes up whole or not at all,
so the upstream never holds half of a session.update, and the client's `error` names the one field to
remove. The cost: a beta client that always sends a temperature must stop sending it to GA models.
A `temperature: null` (beta's "the default") asks for nothing GA cannot give and is left out. A beta
*server's* temperature (a beta model's session.created) is left out of a GA client's session, as any
server-side field without an equivalent is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject, RealtimeDialect

GA, BETA = RealtimeDialect.GA, RealtimeDialect.BETA
_BETA_FORMATS: dict[str, JSONObject] = {"pcm16": {"type": "audio/pcm", "rate": 24_000},
                                        "g711_ulaw": {"type": "audio/pcmu"}, "g711_alaw": {"type": "audio/pcma"}}
_GA_FORMATS = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}
_CONTENT_TO_GA = {"text": "output_text", "audio": "output_audio"}
_CONTENT_TO_BETA = {ga: beta for beta, ga in _CONTENT_TO_GA.items()}
_GA_ONLY_FIELDS = ("prompt", "truncation", "include", "reasoning", "parallel_tool_calls")
# beta-only fields GA has no place for: the fix a refused client is told
_BETA_ONLY_FIELDS = {"temperature": "Remove `temperature` and send the event again: GA realtime models take none."}


class Untranslatable(InvalidRequestError):
    """A client's event says something the upstream's shape has no equivalent for (`param` names it)."""

    def __init__(self, param: str, target: RealtimeDialect, detail: str = "", fix: str = "") -> None:
        shape = "GA" if target is GA else "beta"
        super().__init__(f"`{param}`{detail} has no equivalent in the {shape} realtime protocol this session's "
                         f"model speaks; the event was not sent.{' ' + fix if fix else ''}",
                         param=param, code="dialect_untranslatable")


def _format_to_ga(value: Any) -> Any:
    return dict(_BETA_FORMATS[value]) if isinstance(value, str) and value in _BETA_FORMATS else value


def _format_to_beta(value: Any) -> Any:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "audio/pcm" and value.get("rate", 24_000) != 24_000:
        return None
    return _GA_FORMATS.get(kind) if isinstance(kind, str) else None


def _modalities_to_ga(value: Any) -> Any:
    return ["audio"] if isinstance(value, list) and "audio" in value else value


def _modalities_to_beta(value: Any) -> Any:
    return ["text", "audio"] if isinstance(value, list) and "audio" in value else value


def _same(value: Any) -> Any:
    return value


# (beta key, GA path, to GA, to beta): the fields whose place or value differs.
_Field = tuple[str, tuple[str, ...], Callable[[Any], Any], Callable[[Any], Any]]
_AUDIO_OUT: tuple[_Field, ...] = (
    ("modalities", ("output_modalities",), _modalities_to_ga, _modalities_to_beta),
    ("voice", ("audio", "output", "voice"), _same, _same),
    ("output_audio_format", ("audio", "output", "format"), _format_to_ga, _format_to_beta),
)
_SESSION_FIELDS: tuple[_Field, ...] = (
    *_AUDIO_OUT,
    ("speed", ("audio", "output", "speed"), _same, _same),
    ("input_audio_format", ("audio", "input", "format"), _format_to_ga, _format_to_beta),
    ("input_audio_transcription", ("audio", "input", "transcription"), _same, _same),
    ("input_audio_noise_reduction", ("audio", "input", "noise_reduction"), _same, _same),
    ("turn_detection", ("audio", "input", "turn_detection"), _same, _same),
    ("max_response_output_tokens", ("max_output_tokens",), _same, _same),
)
_RESPONSE_PARAMS = (*_AUDIO_OUT, ("max_response_output_tokens", ("max_output_tokens",), _same, _same))


def _get_path(obj: JSONObject, path: tuple[str, ...]) -> tuple[bool, Any]:
    value: Any = obj
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return False, None
        value = value[key]
    return True, value


def _set_path(obj: JSONObject, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        inner = obj.get(key)  # copied, never edited: it may be the caller's
        obj[key] = dict(inner) if isinstance(inner, dict) else {}
        obj = obj[key]
    obj[path[-1]] = value


def _to_ga(obj: JSONObject, fields: tuple[_Field, ...], *, strict: bool, where: str) -> JSONObject:
    for key, fix in _BETA_ONLY_FIELDS.items():
        if strict and obj.get(key) is not None:
            raise Untranslatable(f"{where}.{key}", GA, fix=fix)
    moved = {beta for beta, *_ in fields}
    out = {k: v for k, v in obj.items() if k not in moved and k not in _BETA_ONLY_FIELDS}
    for beta, path, to_ga, _ in fields:
        if beta in obj:
            _set_path(out, path, to_ga(obj[beta]))
    return out


def _to_beta(obj: JSONObject, fields: tuple[_Field, ...], *, strict: bool, where: str) -> JSONObject:
    out = {k: v for k, v in obj.items() if k not in ("audio", "output_modalities", "max_output_tokens", "type")}
    for key in _GA_ONLY_FIELDS:
        if key in out:
            if strict:
                raise Untranslatable(f"{where}.{key}", BETA)
            del out[key]
    for beta, path, _, to_beta in fields:
        found, value = _get_path(obj, path)
        if not found:
            continue
        converted = to_beta(value)
        if converted is None and value is not None:
            if strict:
                raise Untranslatable(f"{where}.{'.'.join(path)}", BETA, f" = {value!r}")
            continue
        out[beta] = converted
    _check_no_leftover_audio(obj, fields, strict=strict, where=where)
    return out


def _check_no_leftover_audio(obj: JSONObject, fields: tuple[_Field, ...], *, strict: bool, where: str) -> None:
    """A GA `audio` member the table does not place (say, audio.input.format in a response) is refused."""
    placed = {path for _, path, *_ in fields}
    audio = obj.get("audio")
    for direction, part in (audio.items() if isinstance(audio, dict) and strict else ()):
        for key in part if isinstance(part, dict) else ():
            if ("audio", direction, key) not in placed:
                raise Untranslatable(f"{where}.audio.{direction}.{key}", BETA)


def _tools(obj: JSONObject, target: RealtimeDialect, *, strict: bool, where: str) -> JSONObject:
    tools = obj.get("tools")
    if target is GA or not isinstance(tools, list):
        return obj
    kept = [t for t in tools if not (isinstance(t, dict) and t.get("type", "function") != "function")]
    if strict and len(kept) != len(tools):
        raise Untranslatable(f"{where}.tools", BETA, " (a tool that is not a function, such as mcp)")
    return {**obj, "tools": kept}


def session_to(session: JSONObject, target: RealtimeDialect, *, strict: bool) -> JSONObject:
    """A session object (session.update's, session.created's) in `target`'s shape (see the module)."""
    if target is GA:
        return {"type": "realtime", **_to_ga(session, _SESSION_FIELDS, strict=strict, where="session")}
    if session.get("type", "realtime") != "realtime" and strict:
        raise Untranslatable("session.type", BETA, f" = {session['type']!r}")
    return _tools(_to_beta(session, _SESSION_FIELDS, strict=strict, where="session"), target,
                  strict=strict, where="session")


def response_params_to(response: JSONObject, target: RealtimeDialect) -> JSONObject:
    """response.create's `response` in `target`'s shape; raises Untranslatable."""
    converted = (_to_ga(response, _RESPONSE_PARAMS, strict=True, where="response") if target is GA
                 else _to_beta(response, _RESPONSE_PARAMS, strict=True, where="response"))
    converted = _tools(converted, target, strict=True, where="response")
    if isinstance(converted.get("input"), list):
        converted["input"] = [item_to(i, target, strict=True, where=f"response.input[{n}]") if isinstance(i, dict)
                              else i for n, i in enumerate(converted["input"])]
    return converted


def response_to(response: JSONObject, target: RealtimeDialect) -> JSONObject:
    """A server's response object (response.created, response.done) in `target`'s shape."""
    converted = (_to_ga(response, _AUDIO_OUT, strict=False, where="response") if target is GA
                 else _to_beta(response, _AUDIO_OUT, strict=False, where="response"))
    if "max_output_tokens" in response:  # the one name both shapes' response objects share
        converted["max_output_tokens"] = response["max_output_tokens"]
    if isinstance(converted.get("output"), list):
        converted["output"] = [item_to(i, target, strict=False) if isinstance(i, dict) else i
                               for i in converted["output"]]
    return converted


def item_to(item: JSONObject, target: RealtimeDialect, *, strict: bool, where: str = "item") -> JSONObject:
    """A conversation item with its content parts in `target`'s shape."""
    if strict and target is BETA and str(item.get("type", "")).startswith("mcp"):
        raise Untranslatable(f"{where}.type", BETA, f" = {item['type']!r}")
    content = item.get("content")
    if not isinstance(content, list):
        return item
    renames = _CONTENT_TO_GA if target is GA else _CONTENT_TO_BETA
    refused = "item_reference" if target is GA else "input_image"
    parts = []
    for n, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == refused and strict:
            raise Untranslatable(f"{where}.content[{n}].type", target, f" = {kind!r}")
        parts.append({**part, "type": renames[kind]} if isinstance(kind, str) and kind in renames else part)
    return {**item, "content": parts}
