"""JSON log lines (`voxgate serve --log-format json`), one object per record, keys and content redacted.

    {"ts": "2026-12-02T14:00:00.123Z", "level": "INFO", "logger": "voxgate.gateway", "message": "...", ...}

voxgate's own messages never hold prompts, answers, transcripts or keys (the house rule); this
formatter is the second wall for what other libraries log: anything shaped like an API key
(`sk-...`, voxgate's `sk-vg-<id>_<secret>` keeps its public id) or a bearer token is masked in the
message and in every extra field, and extra fields named for content (`prompt`, `messages`,
`content`, `transcript`, ...) or for secrets (`api_key`, `authorization`, ...) are replaced whole.
An exception is logged as its type and place, not its message (an upstream error can quote input).
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

REDACTED = "[redacted]"
CONTENT_FIELDS = frozenset({"prompt", "prompts", "messages", "content", "transcript", "text", "answer", "input",
                            "instructions"})
SECRET_FIELDS = frozenset({"api_key", "key", "authorization", "password", "secret", "token", "admin_key"})
_SECRETS = re.compile(r"\bsk-vg-([0-9a-f]{12})_[A-Za-z0-9_-]+|\bsk-[A-Za-z0-9_-]{6,}|Bearer\s+[A-Za-z0-9._~+/=-]+")
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}


def redact_text(text: str) -> str:
    """`text` with API keys and bearer tokens masked (a virtual key keeps its public id)."""
    return _SECRETS.sub(lambda m: f"sk-vg-{m.group(1)}_{REDACTED}" if m.group(1) else REDACTED, text)


def _redact_field(name: str, value: Any) -> Any:
    if name.lower() in CONTENT_FIELDS or name.lower() in SECRET_FIELDS:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact_text(repr(value))


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, Any] = {
            "ts": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                line[name] = _redact_field(name, value)
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
            tb = record.exc_info[2]
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                line["exception_at"] = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        return json.dumps(line, ensure_ascii=False, default=str)
