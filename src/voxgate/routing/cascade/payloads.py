"""Completion payloads as a cascade handles them: log-probs asked for and stripped, and an accepted
completion replayed as stream chunks. Pure."""

from __future__ import annotations

from voxgate.core.types import JSONObject


def strip_logprobs(payload: JSONObject) -> None:
    """Drop `logprobs` from every choice of a completion or a chunk (the client did not ask)."""
    for choice in payload.get("choices") or []:
        if isinstance(choice, dict):
            choice.pop("logprobs", None)


def with_logprobs(body: JSONObject, top_logprobs: int) -> JSONObject:
    """A copy of `body` asking for token log-probs and at least `top_logprobs` alternatives (more if asked)."""
    asked = body.get("top_logprobs") if body.get("logprobs") else 0
    return {**body, "logprobs": True, "top_logprobs": max(int(asked or 0), top_logprobs)}


def completion_chunks(response: JSONObject, include_usage: bool, piece_chars: int = 24) -> list[JSONObject]:
    """An accepted completion as `chat.completion.chunk`s (role, content in pieces, tool calls, finish, usage)."""
    keys = ("id", "created", "model", "system_fingerprint")
    identity: JSONObject = {k: response.get(k) for k in keys if k in response}
    identity["object"] = "chat.completion.chunk"
    chunks: list[JSONObject] = []
    for index, choice in enumerate(response.get("choices") or []):
        message = choice.get("message") or {}
        content = message.get("content") or ""
        pieces = [content[i : i + piece_chars] for i in range(0, len(content), piece_chars)] or [""]
        for number, piece in enumerate(pieces):
            delta: JSONObject = {"content": piece}
            if number == 0:
                delta["role"] = "assistant"
            chunks.append({**identity, "choices": [{"index": index, "delta": delta, "finish_reason": None}]})
        calls = message.get("tool_calls")
        if isinstance(calls, list) and calls:
            deltas = [{**call, "index": i} for i, call in enumerate(calls)]
            chunks.append({**identity, "choices": [{"index": index, "delta": {"tool_calls": deltas},
                                                    "finish_reason": None}]})
        chunks.append({**identity, "choices": [{"index": index, "delta": {},
                                                "finish_reason": choice.get("finish_reason") or "stop"}]})
    if include_usage and isinstance(response.get("usage"), dict):
        chunks.append({**identity, "choices": [], "usage": response["usage"]})
    return chunks
