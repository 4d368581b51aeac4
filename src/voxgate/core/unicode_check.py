"""Finding text that is not valid Unicode inside parsed JSON.

JSON lets a string carry a lone UTF-16 surrogate escape such as "\\ud800"; Python's json module
turns it into a str that cannot be encoded as UTF-8, so hashing, tokenising or forwarding it
later fails deep inside the server. Request parsers call `lone_surrogate_path` once, right after
`json.loads`, and answer the client with an error that names where the bad text is.
"""

from __future__ import annotations

from typing import Any


def _is_valid_text(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def lone_surrogate_path(value: Any) -> str | None:
    """The path (like `messages[0].content`) of the first string or key holding a lone surrogate."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not _is_valid_text(item):
                return path or "(the body)"
        elif isinstance(item, dict):
            for key, child in item.items():
                key_text = str(key)
                if not _is_valid_text(key_text):
                    return f"{path}.<key>" if path else "<key>"
                stack.append((f"{path}.{key_text}" if path else key_text, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
    return None
