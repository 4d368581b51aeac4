"""A hypothesis-driven fuzzer for the realtime WebSocket API, over real connections.

Each hypothesis example is one session: a random sequence of frames in the GA or the beta shape:
valid events, mutated valid events (a key dropped, a value or the type replaced by random JSON),
invalid base64, odd-length PCM16, appends over the session's size limit, binary frames, text
that is not JSON, and events out of order (the order is random). A reader drains every server
event while the frames go out. The session passes when:

- every server event is a JSON object with a `type`, and every `error` event has OpenAI's shape
  (`error.type`, `code`, `message`, `param`, `event_id`);
- the server does not close the connection (nothing the fuzzer sends is a reason to), or closes
  it with a documented code for a documented reason (1009 after a frame over the size limit);
- it does not hang: a final probe event gets its `error` answer (matched by `event_id`) in time.

Used by tests/integration/voice/test_fuzz_realtime.py (a bounded budget) and bench/fuzz_realtime.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

Frame = str | bytes
PROBE_TIMEOUT_S = 60.0
OVERSIZED_APPEND_BYTES = 96 * 1024  # over the fuzz catalog's voice.max_append_bytes (64 KiB)
MAX_FAILURES_KEPT = 20
ERROR_KEYS = {"type", "code", "message", "param", "event_id"}
EVENT_TYPES = (
    "session.update", "input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear",
    "conversation.item.create", "conversation.item.truncate", "conversation.item.delete",
    "conversation.item.retrieve", "response.create", "response.cancel", "output_audio_buffer.clear",
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def _pcm(samples: int, seed: int) -> bytes:
    """A quiet deterministic tone-ish PCM16 buffer (not speech: the VAD mostly stays quiet)."""
    return bytes((seed * 7 + i * 13) % 256 if i % 2 == 0 else 0 for i in range(samples * 2))


@st.composite
def audio_payload(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["pcm", "pcm", "odd", "bad_base64", "oversized", "empty"]))
    if kind == "pcm":
        return base64.b64encode(_pcm(draw(st.integers(1, 4800)), draw(st.integers(0, 255)))).decode()
    if kind == "odd":
        return base64.b64encode(_pcm(draw(st.integers(1, 400)), 1) + b"\x01").decode()
    if kind == "bad_base64":
        return draw(st.sampled_from(["@@@@", "abc", "a===", "not base64!", "\u00e9\u00e9\u00e9\u00e9"]))
    if kind == "oversized":
        return base64.b64encode(b"\x00" * OVERSIZED_APPEND_BYTES).decode()
    return ""


def _session_update(beta: bool, draw: st.DrawFn) -> dict[str, Any]:
    turn = draw(st.sampled_from([None, {"type": "server_vad"}, {"type": "semantic_vad", "eagerness": "high"},
                                 {"type": "server_vad", "silence_duration_ms": 200, "create_response": True}]))
    if beta:
        return {"input_audio_format": draw(st.sampled_from(["pcm16", "g711_ulaw", "g711_alaw", "opus"])),
                "turn_detection": turn, "modalities": draw(st.sampled_from([["text"], ["text", "audio"]])),
                "instructions": draw(st.text(max_size=30))}
    audio_format = draw(st.sampled_from([{"type": "audio/pcm", "rate": 24000}, {"type": "audio/pcmu"},
                                         {"type": "audio/pcma"}, {"type": "audio/pcm", "rate": 16000}]))
    return {"type": "realtime", "output_modalities": draw(st.sampled_from([["text"], ["audio"]])),
            "audio": {"input": {"format": audio_format, "turn_detection": turn}},
            "instructions": draw(st.text(max_size=30))}


@st.composite
def valid_event(draw: st.DrawFn, beta: bool) -> dict[str, Any]:
    kind = draw(st.sampled_from(EVENT_TYPES))
    event: dict[str, Any] = {"type": kind, "event_id": f"evt_{draw(st.integers(0, 10**6))}"}
    item_id = draw(st.sampled_from(["item_missing", "", "item_1"]))
    if kind == "session.update":
        event["session"] = _session_update(beta, draw)
    elif kind == "input_audio_buffer.append":
        event["audio"] = draw(audio_payload())
    elif kind == "conversation.item.create":
        text_part = "input_text"
        item = draw(st.sampled_from([
            {"type": "message", "role": "user", "content": [{"type": text_part, "text": "hi there"}]},
            {"type": "message", "role": "system", "content": [{"type": text_part, "text": "Be brief."}]},
            {"type": "function_call_output", "call_id": "call_1", "output": "{\"ok\": true}"},
            {"type": "function_call", "call_id": "call_2", "name": "f", "arguments": "{}"},
        ]))
        event["item"] = item
    elif kind == "conversation.item.truncate":
        event.update(item_id=item_id, content_index=draw(st.integers(-1, 2)), audio_end_ms=draw(st.integers(-5, 10**5)))
    elif kind in ("conversation.item.delete", "conversation.item.retrieve"):
        event["item_id"] = item_id
    elif kind == "response.create":
        event["response"] = draw(st.sampled_from([
            {}, {"instructions": "Say one word."}, {"max_output_tokens": 5}, {"conversation": "none", "input": []},
            {"output_modalities" if not beta else "modalities": ["text"]}, {"metadata": {"k": "v"}},
        ]))
    return event


@st.composite
def mutated_event(draw: st.DrawFn, beta: bool) -> dict[str, Any]:
    event = draw(valid_event(beta))
    keys = sorted(event)
    action = draw(st.sampled_from(["drop", "replace", "retype", "add"]))
    if action == "drop":
        event.pop(draw(st.sampled_from(keys)))
    elif action == "replace":
        event[draw(st.sampled_from(keys))] = draw(json_values)
    elif action == "retype":
        event["type"] = draw(st.sampled_from([*EVENT_TYPES, "response.done", "", "session.created"])
                             | st.text(max_size=12))
    else:
        event[draw(st.text(max_size=8))] = draw(json_values)
    return event


@st.composite
def frame(draw: st.DrawFn, beta: bool) -> Frame:
    kind = draw(st.sampled_from(["valid"] * 5 + ["mutated"] * 4 + ["binary", "not_json", "not_object"]))
    if kind == "valid":
        return json.dumps(draw(valid_event(beta)))
    if kind == "mutated":
        return json.dumps(draw(mutated_event(beta)))
    if kind == "binary":
        return draw(st.binary(max_size=64) | st.just(json.dumps({"type": "input_audio_buffer.clear"}).encode()))
    if kind == "not_json":
        return draw(st.sampled_from(["{", "", "nul", "{\"type\": }", "\x00\x01", "[" * 50000]))
    return json.dumps(draw(json_values.filter(lambda v: not isinstance(v, dict))))


@dataclass
class RealtimeFuzzReport:
    sessions: int = 0
    frames: int = 0
    frames_by_kind: Counter[str] = field(default_factory=Counter)
    server_events: Counter[str] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    closes: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    failure_count: int = 0
    elapsed_s: float = 0.0

    def fail(self, message: str) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_FAILURES_KEPT:
            self.failures.append(message[:1500])


def _frame_kind(sent: Frame) -> str:
    if isinstance(sent, bytes):
        return "binary"
    try:
        event = json.loads(sent)
    except (ValueError, RecursionError):
        return "not_json"
    if not isinstance(event, dict):
        return "not_object"
    kind = event.get("type")
    return kind if kind in EVENT_TYPES else "no type" if kind is None else "wrong type"


def _check_event(text: Any, report: RealtimeFuzzReport, probe_id: str) -> bool:
    """Record one server event; True when it is the probe's answer."""
    try:
        event = json.loads(text)
    except (TypeError, ValueError):
        report.fail(f"server sent a frame that is not JSON: {str(text)[:200]}")
        return False
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        report.fail(f"server event without a type: {str(event)[:200]}")
        return False
    report.server_events[event["type"]] += 1
    if event["type"] != "error":
        return False
    error = event.get("error")
    if not isinstance(error, dict) or not set(error) >= ERROR_KEYS or not isinstance(error.get("message"), str):
        report.fail(f"error event not in OpenAI's shape: {json.dumps(event)[:300]}")
        return False
    report.error_codes[str(error.get("code"))] += 1
    return error.get("event_id") == probe_id


async def run_session(url: str, frames: list[Frame], beta: bool, report: RealtimeFuzzReport) -> None:
    """Send `frames` on one connection while reading everything; then probe for a hang."""
    headers = {"OpenAI-Beta": "realtime=v1"} if beta else {}
    probe_id = f"probe_{report.sessions}"
    answered = asyncio.Event()
    report.sessions += 1
    async with connect(url, additional_headers=headers, max_size=None, open_timeout=30) as socket:

        async def read() -> None:
            async for message in socket:
                if _check_event(message, report, probe_id):
                    answered.set()

        reader = asyncio.create_task(read())
        try:
            for sent in frames:
                report.frames += 1
                report.frames_by_kind[_frame_kind(sent)] += 1
                await socket.send(sent)
            await socket.send(json.dumps({"type": "no.such.event", "event_id": probe_id}))
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await answered.wait()
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else 1006
            report.closes[code] += 1
            report.fail(f"server closed the session ({code} {exc.rcvd.reason if exc.rcvd else ''}) after "
                        f"{[_frame_kind(f) for f in frames]}")
        except TimeoutError:
            report.fail(f"no answer to the probe in {PROBE_TIMEOUT_S:.0f} s (a hang) after "
                        f"{[_frame_kind(f) for f in frames]}")
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


def _fuzz_round(url: str, sessions: int, seed: int, max_frames: int, report: RealtimeFuzzReport) -> None:
    @hypothesis.settings(max_examples=sessions, deadline=None, database=None, phases=[Phase.generate],
                         suppress_health_check=list(HealthCheck), print_blob=False)
    @hypothesis.seed(seed)
    @hypothesis.given(data=st.data())
    def one_session(data: st.DataObject) -> None:
        beta = data.draw(st.booleans())
        frames = data.draw(st.lists(frame(beta), min_size=1, max_size=max_frames))
        asyncio.run(run_session(url, frames, beta, report))

    one_session()


def fuzz_realtime(url: str, frames_wanted: int, seed: int = 0, max_frames: int = 40) -> RealtimeFuzzReport:
    """Run sessions (rounds of hypothesis examples, a new seed each) until `frames_wanted` frames were sent."""
    report = RealtimeFuzzReport()
    started_s = time.monotonic()
    while report.frames < frames_wanted:
        remaining = frames_wanted - report.frames
        _fuzz_round(url, max(1, remaining // (max_frames // 2)), seed, max_frames, report)
        seed += 1
    report.elapsed_s = time.monotonic() - started_s
    return report


def server_log_problems(log_text: str) -> list[str]:
    """Lines of a voxgate log that show a crash: tracebacks, failed sessions, internal errors."""
    markers = ("Traceback", "realtime session failed", "Exception in ASGI", "ERROR")
    return [line for line in log_text.splitlines() if any(marker in line for marker in markers)][:20]
