"""`response.create`, parsed without a session, and what it asks of the reply source.

    {"type": "response.create", "response": {"instructions": "...", "output_modalities": ["text"],
     "conversation": "none", "metadata": {"topic": "summary"},
     "input": [{"type": "item_reference", "id": "item_12"},
               {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "..."}]}]}}

    request = parse_response_create(body, conversation, new_item_id)   # ResponseCreate, or InvalidRequestError
    config = request.applied_to(session_config)                        # the session config for this response
    reply = reply_request_for(config, history, default_max_tokens=300, session_id=...)

As at OpenAI: the per-response fields override the session's config for this response only;
`input` replaces the conversation as the response's context (raw items, and references to items
of the conversation copied when the request arrives); with `conversation: "none"` the response is
out of band: its output items stay out of the conversation (no `conversation.item.*` events,
`conversation_id` null), it takes no part in turn-taking and may run beside another response
(`metadata` tells them apart). It is routed like any other response and ends with the session at
the latest; `response.cancel` cancels the conversation's response.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject
from voxgate.voice.realtime.conversation import Conversation, validate_item
from voxgate.voice.realtime.reply import ReplyRequest
from voxgate.voice.realtime.session_config import SessionConfig, parse_max_tokens, parse_modalities, parse_tools


@dataclass(frozen=True)
class ResponseCreate:
    """One `response.create`: config overrides, metadata, its own input (None: the conversation), where it goes."""

    overrides: JSONObject = field(default_factory=dict)  # SessionConfig fields for this response only
    metadata: JSONObject = field(default_factory=dict)
    input_items: list[JSONObject] | None = None
    out_of_band: bool = False  # `conversation: "none"`

    def applied_to(self, config: SessionConfig) -> SessionConfig:
        return replace(config, **self.overrides)


def parse_response_create(body: JSONObject, conversation: Conversation,
                          new_item_id: Callable[[], str]) -> ResponseCreate:
    """The `response` object of `response.create`; item references are resolved (copied) now."""
    overrides = _overrides(body)
    input_items = _input_items(body["input"], conversation, new_item_id) if "input" in body else None
    metadata = body.get("metadata")
    return ResponseCreate(
        overrides=overrides,
        metadata={str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {},
        input_items=input_items,
        out_of_band=_conversation(body) == "none",
    )


def reply_request_for(config: SessionConfig, history: Conversation, *, default_max_tokens: int,
                      session_id: str) -> ReplyRequest:
    """What the reply source is asked: `history` as chat messages under `config`'s instructions and tools."""
    tools, tool_choice = _chat_tools(config)
    return ReplyRequest(
        messages=history.to_messages(config.instructions), tools=tools, tool_choice=tool_choice,
        max_tokens=config.max_output_tokens or default_max_tokens, temperature=config.temperature,
        session_id=session_id)


def _overrides(body: JSONObject) -> JSONObject:
    overrides: JSONObject = {}
    if isinstance(body.get("instructions"), str):
        overrides["instructions"] = body["instructions"]
    for key in ("output_modalities", "modalities"):
        if key in body:
            overrides["output_modalities"] = parse_modalities(body[key], f"response.{key}")
    if "tools" in body:
        overrides["tools"] = parse_tools(body["tools"], "response.tools")
    if "tool_choice" in body:
        overrides["tool_choice"] = body["tool_choice"]
    for key in ("max_output_tokens", "max_response_output_tokens"):
        if key in body:
            overrides["max_output_tokens"] = parse_max_tokens(body[key], f"response.{key}")
    if isinstance(body.get("voice"), str):
        overrides["voice"] = body["voice"]
    return overrides


def _conversation(body: JSONObject) -> str:
    """`response.conversation`: "auto" (the default) or "none"."""
    value = body.get("conversation", "auto")
    if value not in ("auto", "none"):
        raise InvalidRequestError("`response.conversation` must be auto or none.", param="response.conversation",
                                  code="invalid_value")
    return str(value)


def _input_items(value: Any, conversation: Conversation, new_item_id: Callable[[], str]) -> list[JSONObject]:
    """`response.input`: items and `item_reference`s to the conversation's items, as copies."""
    if not isinstance(value, list):
        raise InvalidRequestError("`response.input` must be a list of items or item references.",
                                  param="response.input", code="invalid_value")
    items: list[JSONObject] = []
    for entry in value:
        if isinstance(entry, dict) and entry.get("type") == "item_reference":
            try:
                items.append(copy.deepcopy(conversation.get(str(entry.get("id"))).item))
            except InvalidRequestError as exc:
                raise InvalidRequestError(str(exc), param="response.input", code="item_not_found") from None
        else:
            items.append({**validate_item(entry), "id": new_item_id()})
    return items


def _chat_tools(config: SessionConfig) -> tuple[list[JSONObject], Any]:
    tools = [{"type": "function", "function": {k: v for k, v in t.items() if k in ("name", "description",
                                                                                   "parameters")}}
             for t in config.tools]
    choice = config.tool_choice
    if isinstance(choice, dict) and choice.get("type") == "function" and "name" in choice:
        choice = {"type": "function", "function": {"name": choice["name"]}}
    return tools, choice if tools else None
