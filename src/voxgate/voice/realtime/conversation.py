"""The conversation a realtime session keeps: items in the realtime shape, and the chat messages
they become for the router.

    conversation.add(item)                       # user / assistant / system messages, function calls
    conversation.to_messages(instructions)       # OpenAI chat `messages` for the next reply
    conversation.truncate(item_id, audio_end_ms) # drop what the user never heard

An assistant item that was spoken remembers when each sentence started in its audio, so a
truncation keeps the sentences (and the share of the cut sentence's words) the user heard.
Items hold user content: nothing here logs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import JSONObject

_USER_PARTS = ("input_text", "input_audio", "text")
_ASSISTANT_PARTS = ("output_text", "output_audio", "text", "audio")


@dataclass
class SpokenSpan:
    """A sentence of an assistant reply and where it lies in the reply's audio."""

    text: str
    start_ms: float
    end_ms: float


@dataclass
class ConversationItem:
    item: JSONObject
    spans: list[SpokenSpan] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.item["id"])


def _text_of(content: Any) -> str:
    if not isinstance(content, list):
        return ""
    pieces = []
    for part in content:
        if isinstance(part, dict):
            value = part.get("text") or part.get("transcript") or ""
            pieces.append(value if isinstance(value, str) else "")
    return " ".join(p for p in pieces if p)


def validate_item(item: Any) -> JSONObject:
    """Check a client-sent item (`conversation.item.create`); raise InvalidRequestError if malformed."""
    if not isinstance(item, dict):
        raise InvalidRequestError("`item` must be an object.", param="item", code="invalid_value")
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        allowed = _ASSISTANT_PARTS if role == "assistant" else _USER_PARTS
        if role not in ("user", "assistant", "system"):
            raise InvalidRequestError("`item.role` must be user, assistant or system.", param="item.role",
                                      code="invalid_value")
        content = item.get("content")
        if not isinstance(content, list) or not all(
            isinstance(p, dict) and p.get("type") in allowed for p in content
        ):
            raise InvalidRequestError(f"`item.content` must be a list of parts of type {list(allowed)}.",
                                      param="item.content", code="invalid_value")
    elif kind == "function_call_output":
        if not isinstance(item.get("call_id"), str) or not isinstance(item.get("output"), str):
            raise InvalidRequestError("a function_call_output item needs string `call_id` and `output`.",
                                      param="item", code="invalid_value")
    elif kind == "function_call":
        if not isinstance(item.get("name"), str) or not isinstance(item.get("arguments", ""), str):
            raise InvalidRequestError("a function_call item needs `name` and string `arguments`.", param="item",
                                      code="invalid_value")
    else:
        raise InvalidRequestError("`item.type` must be message, function_call or function_call_output.",
                                  param="item.type", code="invalid_value")
    return {**item, "type": kind}


class Conversation:
    @classmethod
    def of(cls, items: list[JSONObject]) -> Conversation:
        """A separate conversation holding copies of `items` (an out-of-band response's context)."""
        conversation = cls()
        for item in items:
            conversation.add(copy.deepcopy(item))
        return conversation

    def __init__(self) -> None:
        self._items: list[ConversationItem] = []

    @property
    def items(self) -> list[ConversationItem]:
        return list(self._items)

    def add(self, item: JSONObject, previous_item_id: str | None = None) -> ConversationItem:
        entry = ConversationItem(item)
        if previous_item_id is None:
            self._items.append(entry)
            return entry
        index = self._index(previous_item_id)
        self._items.insert(index + 1, entry)
        return entry

    def get(self, item_id: str) -> ConversationItem:
        return self._items[self._index(item_id)]

    def last_id(self) -> str | None:
        return self._items[-1].id if self._items else None

    def delete(self, item_id: str) -> None:
        del self._items[self._index(item_id)]

    def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """Keep only the words of a spoken assistant item the user heard before `audio_end_ms`."""
        entry = self.get(item_id)
        if entry.item.get("role") != "assistant" or not entry.spans:
            raise InvalidRequestError("only a spoken assistant message can be truncated.", param="item_id",
                                      code="invalid_value")
        if audio_end_ms > entry.spans[-1].end_ms + 1:
            raise InvalidRequestError(
                f"audio_end_ms {audio_end_ms} is past the end of the item's audio "
                f"({entry.spans[-1].end_ms:.0f} ms).", param="audio_end_ms", code="invalid_value")
        heard: list[str] = []
        for span in entry.spans:
            if span.end_ms <= audio_end_ms:
                heard.append(span.text)
            elif span.start_ms < audio_end_ms:
                words = span.text.split()
                share = (audio_end_ms - span.start_ms) / max(1.0, span.end_ms - span.start_ms)
                heard.append(" ".join(words[: int(len(words) * share)]))
        text = " ".join(h for h in heard if h)
        for part in entry.item.get("content", []):
            if "transcript" in part:
                part["transcript"] = text
            if "text" in part:
                part["text"] = text
        entry.spans = [s for s in entry.spans if s.start_ms < audio_end_ms]

    def to_messages(self, instructions: str) -> list[JSONObject]:
        """The conversation as OpenAI chat messages (function calls grouped per assistant turn)."""
        messages: list[JSONObject] = [{"role": "system", "content": instructions}] if instructions else []
        for entry in self._items:
            item = entry.item
            kind = item.get("type")
            if kind == "function_call":
                call = {"id": item.get("call_id"), "type": "function",
                        "function": {"name": item.get("name"), "arguments": item.get("arguments") or "{}"}}
                if messages and messages[-1].get("tool_calls") is not None:
                    messages[-1]["tool_calls"].append(call)
                else:
                    messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            elif kind == "function_call_output":
                messages.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": item.get("output")})
            else:
                text = _text_of(item.get("content"))
                if text.strip():
                    messages.append({"role": item.get("role", "user"), "content": text})
        return messages

    def _index(self, item_id: str) -> int:
        for index, entry in enumerate(self._items):
            if entry.id == item_id:
                return index
        raise InvalidRequestError(f"no item with id {item_id!r} in the conversation.", param="item_id",
                                  code="item_not_found")
