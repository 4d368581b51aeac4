"""A scripted Gemini Live server on loopback, built from the Live API's documented message shapes.

    with serve_scripted_gemini_live(api_key="k") as live:
        live.url_for("speak")      # ws://127.0.0.1:PORT/speak/ws/...BidiGenerateContent
        live.setups                # every `setup` received
        live.audio_16k             # the PCM16 each session's realtimeInput carried (mimeType checked)
        live.keys_seen             # the `key` query parameter of every handshake

Each session answers `setup` with `setupComplete` (a wrong key: close 1007 with Google's reason).
A user turn ends on `activityEnd`, `audioStreamEnd`, `clientContent.turnComplete`, or (unless
setup disabled automatic activity detection) loud audio (peak > 1000) followed by 300 ms of quiet.
The reply: an `inputTranscription`, then `modelTurn` audio (PCM16 24 kHz, a 440 Hz tone, 100 ms
chunks) beside `outputTranscription` pieces, then `usageMetadata` with `turnComplete`. Server
messages go as binary frames, as Google's do.

    path      behaviour
    speak     the reply above (REPLY_CHUNKS chunks, sent at once)
    tool      first a `toolCall` to the first declared function; after its `toolResponse`, a
              reply whose transcription quotes the response's `output`
    long      a slow reply (a chunk every 50 ms, LONG_CHUNKS chunks); loud audio during it sends
              `interrupted` (barge-in) and ends the turn
    goaway    `goAway {timeLeft}` before the reply of the first turn
    refuse    closes with 1007 "API key not valid..." on `setup`, whatever the key
    close     on the first turn: one audio chunk, then close 1011 (mid-turn)
    garbage   on the first turn: a text frame that is not JSON

It runs in its own thread and event loop, so the test's loop owns none of its tasks.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import ServerConnection

from tests.support.loopback_websockets import serve_in_thread

LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
INPUT_MIME = "audio/pcm;rate=16000"
REPLY_TEXT = ["Hello ", "from Gemini."]
REPLY_CHUNKS = 5
LONG_CHUNKS = 200
LOUD_PEAK = 1_000
QUIET_BYTES = 2 * 16_000 * 300 // 1000
USAGE = {"promptTokenCount": 12, "responseTokenCount": 7, "totalTokenCount": 19}
BAD_KEY_REASON = "API key not valid. Please pass a valid API key."


@dataclass
class ScriptedGeminiLive:
    api_key: str
    port: int = 0
    keys_seen: list[str | None] = field(default_factory=list)
    setups: list[dict[str, Any]] = field(default_factory=list)
    tool_responses: list[dict[str, Any]] = field(default_factory=list)
    audio_16k: list[bytearray] = field(default_factory=list)
    bad_mime_types: list[str] = field(default_factory=list)

    def url_for(self, behaviour: str) -> str:
        return f"ws://127.0.0.1:{self.port}/{behaviour}{LIVE_PATH}"


def tone(duration_ms: int, rate_hz: int = 24_000, frequency_hz: float = 440.0) -> bytes:
    """A PCM16 sine at half scale."""
    t = np.arange(rate_hz * duration_ms // 1000) / rate_hz
    return (np.sin(2 * np.pi * frequency_hz * t) * 16_000).astype("<i2").tobytes()


def _frame(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


def _content(**fields: Any) -> bytes:
    return _frame({"serverContent": fields})


def _audio_chunk() -> bytes:
    data = base64.b64encode(tone(100)).decode()
    return _content(modelTurn={"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": data}}]})


class _Session:
    def __init__(self, state: ScriptedGeminiLive, connection: ServerConnection, behaviour: str) -> None:
        self.state = state
        self.connection = connection
        self.behaviour = behaviour
        self.audio = bytearray()
        self.automatic = True
        self.loud_seen = False
        self.quiet_bytes = 0
        self.turns = 0
        self.replying: asyncio.Task[None] | None = None
        self.tool_answer: asyncio.Future[dict[str, Any]] | None = None

    async def run(self, tasks: asyncio.TaskGroup) -> None:
        setup = json.loads(await self.connection.recv()).get("setup")
        query = parse_qs(urlsplit(self.connection.request.path if self.connection.request else "").query)
        if self.behaviour == "refuse" or query.get("key") != [self.state.api_key] or not isinstance(setup, dict):
            await self.connection.close(1007, BAD_KEY_REASON)
            return
        self.state.setups.append(setup)
        detection = (setup.get("realtimeInputConfig") or {}).get("automaticActivityDetection") or {}
        self.automatic = not detection.get("disabled", False)
        self.state.audio_16k.append(self.audio)
        await self.connection.send(_frame({"setupComplete": {}}))
        async for text in self.connection:
            message = json.loads(text)
            if self._turn_ended(message):
                self.turns += 1
                self.replying = tasks.create_task(self._reply(setup, self.replying))
        if self.replying is not None:
            self.replying.cancel()  # the client left: nothing more to say

    def _turn_ended(self, message: dict[str, Any]) -> bool:
        realtime = message.get("realtimeInput") or {}
        if "toolResponse" in message and self.tool_answer is not None:
            self.state.tool_responses.append(message["toolResponse"])
            self.tool_answer.set_result(message["toolResponse"])
        if (message.get("clientContent") or {}).get("turnComplete") or "activityEnd" in realtime \
                or realtime.get("audioStreamEnd"):
            return not self._replying()
        return "audio" in realtime and self._heard(realtime["audio"]) and self.automatic

    def _replying(self) -> bool:
        """A reply is being sent (one interrupted is finishing, not replying)."""
        return self.replying is not None and not self.replying.done() and not self.replying.cancelling()

    def _heard(self, blob: dict[str, Any]) -> bool:
        """Record the audio; True when loud audio was followed by enough quiet (a turn's end)."""
        if blob.get("mimeType") != INPUT_MIME:
            self.state.bad_mime_types.append(str(blob.get("mimeType")))
        pcm = base64.b64decode(blob.get("data", ""))
        self.audio += pcm
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        loud = samples.size > 0 and int(np.abs(samples.astype(np.int32)).max()) > LOUD_PEAK
        if loud and self._replying() and self.behaviour == "long" and self.replying is not None:
            self.replying.cancel()  # barge-in: the reply task sends `interrupted`
        if loud:
            self.loud_seen, self.quiet_bytes = True, 0
            return False
        self.quiet_bytes += len(pcm)
        if self.loud_seen and self.quiet_bytes >= QUIET_BYTES and not self._replying():
            self.loud_seen = False
            return True
        return False

    async def _reply(self, setup: dict[str, Any], previous: asyncio.Task[None] | None) -> None:
        if previous is not None:  # an interrupted reply says so before the next one starts
            await asyncio.wait({previous})
        send = self.connection.send
        if self.turns == 1 and self.behaviour in ("close", "garbage", "goaway"):
            if self.behaviour == "goaway":
                await send(_frame({"goAway": {"timeLeft": "5s"}}))
            elif self.behaviour == "close":
                await send(_audio_chunk())
                await self.connection.close(1011, "scripted failure")
                return
            else:
                await send("<html><body>502 Bad Gateway</body></html>")
                return
        await send(_content(inputTranscription={"text": f"heard {len(self.audio) // 32} ms"}))
        spoken = REPLY_TEXT
        if self.behaviour == "tool":
            spoken = [f"The answer is {await self._tool_round_trip(setup)}."]
        try:
            await self._speak(spoken, LONG_CHUNKS if self.behaviour == "long" and self.turns == 1 else REPLY_CHUNKS)
        except asyncio.CancelledError:
            await send(_content(interrupted=True))
            await send(_content(turnComplete=True))
            return
        await send(json.dumps({"usageMetadata": USAGE, "serverContent": {"turnComplete": True}}).encode())

    async def _speak(self, spoken: list[str], chunks: int) -> None:
        for n in range(chunks):
            await self.connection.send(_audio_chunk())
            if n < len(spoken):
                await self.connection.send(_content(outputTranscription={"text": spoken[n]}))
            if self.behaviour == "long":
                await asyncio.sleep(0.05)

    async def _tool_round_trip(self, setup: dict[str, Any]) -> Any:
        name = setup["tools"][0]["functionDeclarations"][0]["name"]
        self.tool_answer = asyncio.get_running_loop().create_future()
        await self.connection.send(_frame({"toolCall": {"functionCalls": [
            {"id": "fc_scripted_1", "name": name, "args": {"city": "Paris"}}]}}))
        answer = await self.tool_answer
        return answer["functionResponses"][0]["response"]["output"]


@contextlib.contextmanager
def serve_scripted_gemini_live(api_key: str) -> Iterator[ScriptedGeminiLive]:
    state = ScriptedGeminiLive(api_key)

    async def handle(connection: ServerConnection) -> None:
        target = urlsplit(connection.request.path if connection.request else "")
        keys = parse_qs(target.query).get("key")
        state.keys_seen.append(keys[0] if keys else None)
        with contextlib.suppress(Exception):
            async with asyncio.TaskGroup() as tasks:
                await _Session(state, connection, target.path.strip("/").split("/", 1)[0]).run(tasks)

    with serve_in_thread(handle, max_size=None) as port:
        state.port = port
        yield state
