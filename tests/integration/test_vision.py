"""Vision end to end: image parts route only to a vision model, which receives them unchanged.

The vision model is the scripted upstream (`python -m tests.fake_upstream`, a real process on a
loopback port) at its `/echo-images/v1` path: it answers with the sha256 of each image part it
received, so the test compares what left the client with what reached the model, streamed and
not. A cheaper text-only model sits beside it in the catalog. The official `openai` SDK is the client.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.fake_upstream import image_digests
from tests.support.processes import RunningProcess, free_port, start_ready, start_voxgate, stop_process

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
IMAGE_PARTS: list[Any] = [
    {"type": "image_url", "image_url": {"url": "https://example.com/photos/cat.jpg?size=large&v=2", "detail": "low"}},
    {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}},
]
MESSAGES: list[Any] = [{"role": "user", "content": [{"type": "text", "text": "What is in these pictures?"},
                                                    *IMAGE_PARTS]}]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    port = free_port()
    workdir: Path = tmp_path_factory.mktemp("vision-upstream")
    running = start_ready([sys.executable, "-m", "tests.fake_upstream", "--port", str(port)], "/health", port,
                          workdir / "upstream.log")
    try:
        yield running
    finally:
        stop_process(running.process)


@pytest.fixture(scope="module")
def gateway(upstream: RunningProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    catalog = (
        "models:\n"
        f"  - id: eyes\n    base_url: {upstream.base_url}/echo-images/v1\n    capabilities: [vision]\n"
        "    context_window: 100000\n    price: {input_per_mtok: 5, output_per_mtok: 15}\n"
        f"  - id: text-only\n    base_url: {upstream.base_url}/v1\n"
        "    context_window: 100000\n    price: {input_per_mtok: 0.1, output_per_mtok: 0.2}\n"
        "include_default_models: false\nvoice: {enabled: false}\n"
    )
    running = start_voxgate(tmp_path_factory.mktemp("vision"), catalog)
    try:
        yield running
    finally:
        stop_process(running.process)


@pytest.fixture
def client(gateway: RunningProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="unused", max_retries=0)


def test_images_reach_the_vision_model_unchanged(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=MESSAGES)
    assert raw.headers["x-voxgate-model"] == "eyes"
    completion = raw.parse()
    assert completion.model == "eyes"
    assert json.loads(completion.choices[0].message.content or "") == image_digests(MESSAGES)


def test_images_reach_the_vision_model_unchanged_when_streamed(client: openai.OpenAI) -> None:
    with client.chat.completions.with_streaming_response.create(model="auto", messages=MESSAGES,
                                                                stream=True) as response:
        assert response.headers["x-voxgate-model"] == "eyes"
        text = "".join(chunk.choices[0].delta.content or "" for chunk in response.parse() if chunk.choices)
    assert json.loads(text) == image_digests(MESSAGES)


def test_text_goes_to_the_cheaper_text_model(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "hello"}], extra_body={"routing": {"mode": "cost"}})
    assert raw.headers["x-voxgate-model"] == "text-only"


def test_without_a_vision_model_the_error_names_the_missing_capability(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="auto", messages=MESSAGES, extra_body={"routing": {"exclude": ["eyes"]}})
    error: Any = caught.value.body
    assert error["code"] == "no_eligible_model"
    assert error["rejections"]["text-only"] == "lacks required capability: vision"
    with pytest.raises(openai.BadRequestError) as direct:
        client.chat.completions.create(model="text-only", messages=MESSAGES)
    assert "vision" in str(direct.value.body)


@pytest.mark.parametrize(
    "url",
    ["data:image/tiff;base64,SUkqAA==", "data:image/png;base64,/9j/4AAQSkZJRg==", "file:///etc/passwd",
     "data:image/png;base64,%%%"],
)
def test_bad_images_are_refused_in_openais_shape(client: openai.OpenAI, url: str) -> None:
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": "look"},
                                                  {"type": "image_url", "image_url": {"url": url}}]}]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="auto", messages=messages)
    error: Any = caught.value.body
    assert error["param"] == "messages[0].content[1].image_url.url"
    assert error["type"] == "invalid_request_error"


def test_voxgate_route_says_the_request_needs_vision(gateway: RunningProcess, tmp_path: Path) -> None:
    image = tmp_path / "pixel.png"
    image.write_bytes(PNG)
    result = subprocess.run(
        [sys.executable, "-m", "voxgate.cli", "route", "What is this?", "--image", str(image),
         "--url", gateway.base_url], capture_output=True, text=True, timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
    )
    assert result.returncode == 0, result.stderr
    assert "needs vision" in result.stdout
    assert "chosen eyes" in result.stdout
    assert "lacks required capability: vision" in result.stdout
