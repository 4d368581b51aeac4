"""The SSE decoder: events out of bytes, however the bytes are chunked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from voxgate.backends.sse import ServerSentEvent, SSEDecoder


def decode(*parts: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [event for part in parts for event in decoder.feed(part)]
    return events + decoder.flush()


def data(payload: bytes) -> ServerSentEvent:
    return ServerSentEvent(b"data", payload)


def test_one_event_per_blank_line() -> None:
    assert decode(b'data: {"a":1}\n\ndata: {"b":2}\n\n') == [data(b'{"a":1}'), data(b'{"b":2}')]


def test_data_without_space_and_with_two_spaces() -> None:
    assert decode(b"data:x\n\ndata:  y\n\n") == [data(b"x"), data(b" y")]


def test_multi_line_event_joins_lines_with_lf() -> None:
    assert decode(b"data: {\ndata: \"a\": 1}\n\n") == [data(b'{\n"a": 1}')]


def test_comments_keep_alives_and_other_fields_are_dropped() -> None:
    stream = b": keep-alive\n\nevent: message\nid: 7\nretry: 10\ndata: x\n\n:\n\n"
    assert decode(stream) == [data(b"x")]


def test_crlf_and_lone_cr_line_ends() -> None:
    assert decode(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n") == [data(b"a"), data(b"b"), data(b"c")]


def test_crlf_split_across_reads() -> None:
    assert decode(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n") == [data(b"a"), data(b"b")]


def test_event_without_final_blank_line_is_flushed_at_end() -> None:
    assert decode(b"data: [DONE]") == [data(b"[DONE]")]
    assert decode(b"data: [DONE]\r") == [data(b"[DONE]")]


def test_llama_cpp_error_field_is_reported() -> None:
    assert decode(b'error: {"code":500}\n\n') == [ServerSentEvent(b"error", b'{"code":500}')]


def test_nothing_pending_flushes_nothing() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n\n") == [data(b"x")]
    assert decoder.flush() == []


payloads = st.lists(st.binary(max_size=30).filter(lambda b: b"\n" not in b and b"\r" not in b), max_size=6)


@given(payloads=payloads, line_end=st.sampled_from([b"\n", b"\r\n", b"\r"]), cuts=st.lists(st.integers(0, 400)))
def test_any_chunking_gives_the_same_events(payloads: list[bytes], line_end: bytes, cuts: list[int]) -> None:
    stream = b"".join(b"data: " + payload + line_end + line_end for payload in payloads)
    points = sorted({min(cut, len(stream)) for cut in cuts})
    parts = [stream[start:end] for start, end in zip([0, *points], [*points, len(stream)], strict=True)]
    assert decode(*parts) == [data(payload) for payload in payloads]


@given(st.lists(st.binary(max_size=50), max_size=8))
def test_never_raises_on_arbitrary_bytes(parts: list[bytes]) -> None:
    decode(*parts)
