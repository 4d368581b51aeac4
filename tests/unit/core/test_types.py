"""Value types: the usage a completion reports."""

from __future__ import annotations

from voxgate.core.types import Usage


def test_usage_is_read_from_a_completion_or_a_chunk() -> None:
    usage = Usage.from_payload({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}})
    assert usage == Usage(prompt_tokens=3, completion_tokens=4)
    assert usage is not None
    prompt, completion = usage
    assert (prompt, completion) == (3, 4)


def test_missing_usage_is_none_and_missing_counts_are_zero() -> None:
    assert Usage.from_payload({"choices": [{"delta": {"content": "hi"}}]}) is None
    assert Usage.from_payload({"usage": None}) is None
    assert Usage.from_payload({"usage": {"completion_tokens": 2, "prompt_tokens": None}}) == Usage(0, 2)
