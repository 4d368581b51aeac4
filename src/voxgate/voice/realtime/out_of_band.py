"""Out-of-band responses: `response.create` with `conversation: "none"` and/or an `input` list.

    {"type": "response.create", "response": {"conversation": "none", "metadata": {"topic": "summary"},
     "input": [{"type": "item_reference", "id": "item_12"},
               {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "..."}]}]}}

As at OpenAI: `input` replaces the conversation as the response's context (raw items and
references to items of the conversation, copied when the request arrives); with `conversation:
"none"` the response's output items are not added to the conversation (no `conversation.item.*`
events, `conversation_id` null), it does not take part in turn-taking, and it may run while
another response is active (`metadata` tells them apart). It is routed like any other response
and ends with the session at the latest; `response.cancel` cancels the conversation's response.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject
from voxgate.voice.realtime.conversation import Conversation, validate_item
from voxgate.voice.realtime.response import TurnTimes

if TYPE_CHECKING:
    from voxgate.voice.realtime.session import RealtimeSession


def response_conversation(body: JSONObject) -> str:
    """`response.conversation`: "auto" (the default) or "none"."""
    value = body.get("conversation", "auto")
    if value not in ("auto", "none"):
        raise InvalidRequestError("`response.conversation` must be auto or none.", param="response.conversation",
                                  code="invalid_value")
    return str(value)


def response_input(session: RealtimeSession, value: Any) -> list[JSONObject]:
    """`response.input`: items and `item_reference`s to the conversation's items, as copies."""
    if not isinstance(value, list):
        raise InvalidRequestError("`response.input` must be a list of items or item references.",
                                  param="response.input", code="invalid_value")
    items: list[JSONObject] = []
    for entry in value:
        if isinstance(entry, dict) and entry.get("type") == "item_reference":
            try:
                items.append(copy.deepcopy(session.conversation.get(str(entry.get("id"))).item))
            except InvalidRequestError as exc:
                raise InvalidRequestError(str(exc), param="response.input", code="item_not_found") from None
        else:
            items.append({**validate_item(entry), "id": session.ids.new("item")})
    return items


def start_out_of_band(session: RealtimeSession, overrides: JSONObject) -> None:
    """Run a response outside the conversation and its turn-taking, in the session's task group."""
    items = overrides["input"] if "input" in overrides else [entry.item for entry in session.conversation.items]
    history = Conversation.of(items)  # its own items land here too, never in the session's conversation
    times = TurnTimes(response_started_s=session.clock.monotonic_s())
    session.spawn(session.new_runner(overrides, history, history, times, on_first_audio=lambda: None).run())
