"""Lone UTF-16 surrogates in parsed JSON are found, with where they are; valid text passes."""

from __future__ import annotations

import json

from voxgate.core.unicode_check import lone_surrogate_path


def test_valid_text_including_escaped_surrogate_pairs_passes() -> None:
    body = json.loads('{"messages": [{"content": "smile \\ud83d\\ude00 caf\\u00e9"}], "n": 1, "ok": null}')
    assert body["messages"][0]["content"] == "smile 😀 café"
    assert lone_surrogate_path(body) is None


def test_lone_halves_are_found_with_their_path() -> None:
    high = json.loads('{"messages": [{"role": "user", "content": "\\ud800 hi"}]}')
    assert lone_surrogate_path(high) == "messages[0].content"
    low = json.loads('{"input": [{"text": ["fine", "x\\udc00"]}]}')
    assert lone_surrogate_path(low) == "input[0].text[1]"
    key = json.loads('{"meta": {"\\udfff": 1}}')
    assert lone_surrogate_path(key) == "meta.<key>"
    assert lone_surrogate_path("\ud800") == "(the body)"
