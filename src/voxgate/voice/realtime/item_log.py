"""The conversation's items and every event that announces them: one owner for both.

    items = ItemLog(conversation, emit, names, ids)   # the session's log: announces its items
    items = ItemLog.private(conversation, emit, names, ids)  # an out-of-band response's: no conversation.item.*

    items.commit_user_audio(item_id, final=False)   # input_audio_buffer.committed + the item announced
    items.transcribed(item, text, duration_s)        # ...input_audio_transcription.completed (+ GA item done)
    items.add_output(item, response_id, index) / items.finish_output(item, response_id, index)
    items.create(event) / truncate(event) / delete(event) / retrieve(event)   # the client's conversation.item.*

"Add an item, announce it (`conversation.item.added`, beta `conversation.item.created`) and, in the
GA shape, say when it is done (`conversation.item.done`)" lives here once. A private log (an
out-of-band response's own copy of its context) keeps its items and announces none of them.
Items hold user content: nothing here logs.
"""

from __future__ import annotations

from collections.abc import Callable

from voxgate.core.types import JSONObject
from voxgate.voice.realtime.conversation import Conversation, ConversationItem, validate_item
from voxgate.voice.realtime.protocol import (
    ClientEvent,
    EventNames,
    IdFactory,
    require_int,
    require_object,
    require_string,
)

Emit = Callable[[JSONObject], None]


class ItemLog:
    def __init__(self, conversation: Conversation, emit: Emit, names: EventNames, ids: IdFactory, *,
                 in_conversation: bool = True) -> None:
        self.conversation = conversation
        self.in_conversation = in_conversation
        self._emit = emit
        self._names = names
        self._ids = ids

    @classmethod
    def private(cls, conversation: Conversation, emit: Emit, names: EventNames, ids: IdFactory) -> ItemLog:
        """A log outside the session's conversation (an out-of-band response): its items are never announced."""
        return cls(conversation, emit, names, ids, in_conversation=False)

    # --- items the session adds ----------------------------------------------------------------

    def new_item_id(self) -> str:
        return self._ids.new("item")

    def commit_user_audio(self, item_id: str, *, final: bool) -> JSONObject:
        """The input buffer became a user audio item; `final`: no transcript will follow (silence)."""
        item: JSONObject = {"id": item_id, "object": "realtime.item", "type": "message", "status": "completed",
                            "role": "user", "content": [{"type": "input_audio", "transcript": None}]}
        previous = self.conversation.last_id()
        self.conversation.add(item)
        self._emit({"type": "input_audio_buffer.committed", "previous_item_id": previous, "item_id": item_id})
        self._announce(item, previous)
        if final:
            self._done(item)
        return item

    def transcribed(self, item: JSONObject, text: str, duration_s: float) -> None:
        """A user audio item's transcript is in."""
        item["content"][0]["transcript"] = text
        self._emit({"type": "conversation.item.input_audio_transcription.completed", "item_id": item["id"],
                    "content_index": 0, "transcript": text,
                    "usage": {"type": "duration", "seconds": round(duration_s, 3)}})
        self._done(item)

    def transcription_failed(self, item: JSONObject, reason: str) -> None:
        """A user audio item could not be transcribed (`reason`: the error's type, never its content)."""
        self._emit({"type": "conversation.item.input_audio_transcription.failed", "item_id": item["id"],
                    "content_index": 0, "error": {"type": "server_error", "code": "transcription_failed",
                                                  "message": reason, "param": None}})

    def add_output(self, item: JSONObject, response_id: str, output_index: int) -> ConversationItem:
        """A response's new output item: `response.output_item.added`, then the conversation's announcement."""
        previous = self.conversation.last_id()
        entry = self.conversation.add(item)
        self._emit({"type": "response.output_item.added", "response_id": response_id, "output_index": output_index,
                    "item": item})
        self._announce(item, previous)
        return entry

    def finish_output(self, item: JSONObject, response_id: str, output_index: int) -> None:
        self._emit({"type": "response.output_item.done", "response_id": response_id, "output_index": output_index,
                    "item": item})
        self._done(item)

    # --- the client's conversation.item.* events -----------------------------------------------

    def create(self, event: ClientEvent) -> None:
        """`conversation.item.create`: a client item, after `previous_item_id` (or last; "root" means last)."""
        item = validate_item(require_object(event, "item"))
        item = {**item, "id": item.get("id") or self._ids.new("item"), "object": "realtime.item",
                "status": "completed"}
        previous = event.body.get("previous_item_id")
        previous = previous if isinstance(previous, str) and previous != "root" else None
        self.conversation.add(item, previous)
        self._announce(item, previous or None)
        self._done(item)

    def truncate(self, event: ClientEvent) -> None:
        """`conversation.item.truncate`: drop what the user never heard of a spoken assistant item."""
        item_id = require_string(event, "item_id")
        audio_end_ms = require_int(event, "audio_end_ms")
        content_index = event.body.get("content_index", 0)
        self.conversation.truncate(item_id, audio_end_ms)
        self._emit({"type": "conversation.item.truncated", "item_id": item_id, "content_index": content_index,
                    "audio_end_ms": audio_end_ms})

    def delete(self, event: ClientEvent) -> None:
        item_id = require_string(event, "item_id")
        self.conversation.delete(item_id)
        self._emit({"type": "conversation.item.deleted", "item_id": item_id})

    def retrieve(self, event: ClientEvent) -> None:
        entry = self.conversation.get(require_string(event, "item_id"))
        self._emit({"type": "conversation.item.retrieved", "item": entry.item})

    # --- questions the turn-taking asks ----------------------------------------------------------

    def ends_unheard(self) -> bool:
        """The conversation ends with a user audio item without a transcript (VAD fired on noise)."""
        items = self.conversation.items
        last = items[-1].item if items else {}
        content = last.get("content") or [{}]
        return last.get("role") == "user" and content[0].get("type") == "input_audio" and not content[0].get(
            "transcript")

    # --- the announcements, written once -----------------------------------------------------------

    def _announce(self, item: JSONObject, previous_item_id: str | None) -> None:
        if self.in_conversation:
            self._emit({"type": self._names.item_created, "previous_item_id": previous_item_id, "item": item})

    def _done(self, item: JSONObject) -> None:
        if self.in_conversation and not self._names.beta:
            self._emit({"type": "conversation.item.done", "item": item})
