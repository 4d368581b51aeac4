"""`--log-format json`: one JSON object per record, keys masked in messages and fields, content fields
replaced whole, exceptions as their type only."""

from __future__ import annotations

import json
import logging
import sys

from voxgate.server.json_logs import REDACTED, JsonLogFormatter, redact_text

VIRTUAL_KEY = "sk-vg-0123456789ab_" + "S" * 43


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "voxgate.test", "levelno": logging.INFO, "levelname": "INFO",
                                    "msg": message, "args": args})
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def test_a_record_is_one_json_object_with_keys_masked() -> None:
    line = JsonLogFormatter().format(_record('%s - "GET /v1/models?api_key=%s HTTP/1.1" 200', "127.0.0.1",
                                             "sk-live-ABCDEF123456"))
    parsed = json.loads(line)
    assert parsed["level"] == "INFO"
    assert parsed["logger"] == "voxgate.test"
    assert parsed["ts"].endswith("Z")
    assert "ABCDEF123456" not in line
    assert REDACTED in parsed["message"]
    assert parsed["message"].startswith('127.0.0.1 - "GET /v1/models?api_key=')


def test_a_virtual_key_keeps_its_public_id_and_loses_its_secret() -> None:
    assert redact_text(f"key {VIRTUAL_KEY} refused") == f"key sk-vg-0123456789ab_{REDACTED} refused"
    assert redact_text("authorization: Bearer abc.def-ghi") == f"authorization: {REDACTED}"
    assert redact_text("model smollm2-135m answered in 12 ms") == "model smollm2-135m answered in 12 ms"


def test_content_and_secret_fields_are_replaced_whole_and_others_kept() -> None:
    line = JsonLogFormatter().format(_record("turn done", prompt="what is PLUGH", transcript="PLUGH",
                                             api_key="whatever", latency_ms=12.5, model="a",
                                             note=f"with {VIRTUAL_KEY}"))
    parsed = json.loads(line)
    assert parsed["prompt"] == parsed["transcript"] == parsed["api_key"] == REDACTED
    assert parsed["latency_ms"] == 12.5
    assert parsed["model"] == "a"
    assert "S" * 43 not in line
    assert "PLUGH" not in line


def test_an_exception_is_logged_as_its_type_not_its_message() -> None:
    try:
        raise ValueError("upstream said: PLUGH is not allowed")
    except ValueError:
        record = _record("request failed")
        record.exc_info = sys.exc_info()
    parsed = json.loads(JsonLogFormatter().format(record))
    assert parsed["exception"] == "ValueError"
    assert "test_json_logs.py" in parsed["exception_at"]
    assert "PLUGH" not in json.dumps(parsed)
