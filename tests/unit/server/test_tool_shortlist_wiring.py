"""`tools.shortlist` reaches the bundled models' tool path: with a long tool list, the upstream
server is sent only the shortlisted signatures (`backends/toolcall_shortlist`); with 0, every one."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from voxgate.config import Settings, ToolSettings, VoiceSettings
from voxgate.core.types import JSONObject, ModelCard, ToolCallStyle
from voxgate.server.gateway import Gateway

NAMES = ("get_weather", "book_flight", "send_email", "play_song", "set_alarm", "get_stock_price", "weather_forecast")
DESCRIPTIONS = ("Current weather for a city.", "Book a flight to a city.", "Send an email.", "Play a song.",
                "Set an alarm.", "Price of a share.", "Weather forecast for the next days in a city.")


def request() -> JSONObject:
    tools = [{"type": "function", "function": {"name": name, "description": description,
                                               "parameters": {"type": "object", "properties": {}}}}
             for name, description in zip(NAMES, DESCRIPTIONS, strict=True)]
    text = "Book a flight and email me the weather forecast"
    return {"model": "fenced", "messages": [{"role": "user", "content": text}], "tools": tools}


@pytest.mark.parametrize(("shortlist", "shown"),
                         [(3, ["book_flight", "send_email", "weather_forecast"]), (0, list(NAMES))])
async def test_the_upstream_sees_only_the_shortlisted_signatures(
    tmp_path: Path, shortlist: int, shown: list[str]
) -> None:
    sent: list[JSONObject] = []

    def upstream(http_request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(http_request.content))
        answer = {"role": "assistant", "content": '<tool_call>\n{"name": "book_flight", "arguments": {}}\n</tool_call>'}
        return httpx.Response(200, json={"id": "x", "object": "chat.completion", "created": 0, "model": "fenced",
                                         "choices": [{"index": 0, "message": answer, "finish_reason": "stop"}]})

    settings = Settings(database_path=tmp_path / "voxgate.db", voice=VoiceSettings(enabled=False),
                        tools=ToolSettings(shortlist=shortlist, continue_calls=False))
    async with Gateway(settings).run() as gateway:
        await gateway._http.aclose()  # the gateway closes the fake upstream's client in its place
        gateway._http = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
        card = ModelCard("fenced", base_url="https://upstream.test/v1", tool_call_style=ToolCallStyle.FENCED_JSON)
        answer = await gateway._backend_for(card).complete(request())
    system = sent[0]["messages"][0]["content"]
    assert "tools" not in sent[0]
    assert [json.loads(line)["function"]["name"] for line in system.split("\n") if line.startswith('{"type"')] == shown
    assert answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "book_flight"
