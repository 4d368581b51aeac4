"""OpenTelemetry end to end: a real `voxgate serve` with `telemetry.otlp_endpoint` set exports its traces
over OTLP/HTTP (protobuf) to a receiver this test runs on loopback, which decodes each
`ExportTraceServiceRequest` with opentelemetry-proto. A chat request whose first model fails arrives as
one trace: the request span, the routing decision and both upstream attempts; nothing in it carries
the prompt, the answer or the key."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import openai
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tests.fake_upstream import DEFAULT_CONTENT, serve_in_thread
from tests.support.processes import RunningProcess, start_voxgate, stop_process

pytestmark = pytest.mark.integration
API_KEY = "sk-test-otel-KEYSECRET"
PROMPT = "Tell nobody PROMPT-PLUGH, just say hello."
WAIT_S = 30.0


@dataclass
class ReceivedSpan:
    name: str
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    kind: int
    attributes: dict[str, Any]
    service: str


@dataclass
class OtlpReceiver:
    """What arrived at POST /v1/traces, decoded; `raw` keeps every request body for the content check."""

    spans: list[ReceivedSpan] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            self.raw.append(body)
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(
                        ReceivedSpan(s.name, s.trace_id, s.span_id, s.parent_span_id, s.kind,
                                     {a.key: _value(a.value) for a in s.attributes}, str(resource.get("service.name")))
                        for s in scope_spans.spans)

    def wait_for(self, name: str, **attributes: Any) -> ReceivedSpan:
        deadline_s = time.monotonic() + WAIT_S
        while time.monotonic() < deadline_s:
            with self.lock:
                for span in self.spans:
                    if span.name == name and all(span.attributes.get(k) == v for k, v in attributes.items()):
                        return span
            time.sleep(0.1)
        raise AssertionError(f"no span {name} {attributes} arrived; got {[s.name for s in self.spans]}")


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind is not None else None


def _handler(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path != "/v1/traces" or self.headers.get("content-type") != "application/x-protobuf":
                self.send_error(404)
                return
            receiver.take(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[OtlpReceiver, int]]:
    received = OtlpReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(received))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, receiver: tuple[OtlpReceiver, int]) -> Iterator[RunningProcess]:
    _, port = receiver
    with serve_in_thread() as upstream:
        catalog = "\n".join([
            "models:",
            f"  - {{id: broken, base_url: '{upstream.url_for('fail-500')}', quality: 0.95}}",
            f"  - {{id: good, base_url: '{upstream.base_url}', quality: 0.6}}",
            "include_default_models: false",
            "voice: {enabled: false}",
            f"telemetry: {{otlp_endpoint: 'http://127.0.0.1:{port}', service_name: voxgate-otel-test}}",
        ]) + "\n"
        running = start_voxgate(tmp_path_factory.mktemp("otel"), catalog, args=["--log-format", "json"],
                                env={"VOXGATE_API_KEYS": API_KEY, "OTEL_BSP_SCHEDULE_DELAY": "200"})
        try:
            yield running
        finally:
            stop_process(running.process)


def test_a_chat_request_arrives_as_one_trace_of_decision_and_attempts(
    gateway: RunningProcess, receiver: tuple[OtlpReceiver, int]
) -> None:
    received, _ = receiver
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=API_KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": PROMPT}], extra_headers={"x-voxgate-mode": "quality"})
    completion = raw.parse()
    assert completion.model == "good"
    decision_id = raw.headers["x-voxgate-decision-id"]

    root = received.wait_for("POST /v1/chat/completions", **{"voxgate.decision_id": decision_id})
    assert root.parent_span_id == b""
    assert root.service == "voxgate-otel-test"
    assert root.attributes["http.response.status_code"] == 200
    assert root.attributes["voxgate.strategy"] == "predict"
    assert root.attributes["gen_ai.request.model"] == "auto"
    route = received.wait_for("voxgate.route", **{"voxgate.decision_id": decision_id})
    failed = received.wait_for("chat broken", **{"voxgate.decision_id": decision_id})
    answered = received.wait_for("chat good", **{"voxgate.decision_id": decision_id})
    for child in (route, failed, answered):
        assert child.trace_id == root.trace_id
        assert child.parent_span_id == root.span_id
    assert route.attributes["voxgate.chosen_model"] == "broken"
    assert route.attributes["voxgate.fallback_plan"] == ["good"]
    assert failed.attributes["error.type"] == "BackendStatusError"
    assert answered.attributes["gen_ai.operation.name"] == "chat"
    assert answered.attributes["gen_ai.system"] == "openai"
    assert answered.attributes["gen_ai.response.model"] == "good"
    assert answered.attributes["gen_ai.usage.input_tokens"] == 12
    assert answered.attributes["gen_ai.usage.output_tokens"] > 0
    assert answered.attributes["server.address"] == "127.0.0.1"


def test_a_streamed_request_s_attempt_carries_its_usage(
    gateway: RunningProcess, receiver: tuple[OtlpReceiver, int]
) -> None:
    received, _ = receiver
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=API_KEY, max_retries=0)
    with client.chat.completions.with_streaming_response.create(
        model="good", messages=[{"role": "user", "content": PROMPT}], stream=True,
    ) as response:
        decision_id = response.headers["x-voxgate-decision-id"]
        text = "".join(chunk.choices[0].delta.content or "" for chunk in response.parse() if chunk.choices)
    assert text == DEFAULT_CONTENT
    answered = received.wait_for("chat good", **{"voxgate.decision_id": decision_id})
    assert answered.attributes["voxgate.attempt.status"] == "ok"
    assert answered.attributes["gen_ai.usage.output_tokens"] > 0


def test_no_prompt_answer_or_key_is_exported(gateway: RunningProcess, receiver: tuple[OtlpReceiver, int]) -> None:
    received, _ = receiver
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=API_KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=[{"role": "user", "content": PROMPT}])
    received.wait_for("POST /v1/chat/completions", **{"voxgate.decision_id": raw.headers["x-voxgate-decision-id"]})
    with received.lock:
        bodies = list(received.raw)
    assert bodies
    for body in bodies:
        for secret in (b"PLUGH", DEFAULT_CONTENT.encode(), b"KEYSECRET"):
            assert secret not in body


def test_json_logs_carry_no_key_or_prompt(gateway: RunningProcess) -> None:
    """`--log-format json`: every line an object; a key sent in a query string is masked in the access log."""
    url = f"{gateway.base_url}/v1/models?api_key={API_KEY}"
    assert httpx.get(url, headers={"authorization": f"Bearer {API_KEY}"}).status_code == 200
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=API_KEY, max_retries=0)
    client.chat.completions.create(model="good", messages=[{"role": "user", "content": PROMPT}])
    deadline_s = time.monotonic() + WAIT_S
    while "api_key=" not in gateway.log_path.read_text() and time.monotonic() < deadline_s:
        time.sleep(0.1)
    lines = [json.loads(line) for line in gateway.log_path.read_text().splitlines() if line.strip()]
    access = [line for line in lines if "/v1/models?api_key=" in line["message"]]
    assert access, "the access log line did not arrive"
    assert all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
    text = gateway.log_path.read_text()
    assert "KEYSECRET" not in text
    assert "PLUGH" not in text
