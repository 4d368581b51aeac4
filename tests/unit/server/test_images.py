"""Image parts: which a chat request may carry, and the schema that says so."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxgate.core.errors import InvalidRequestError
from voxgate.core.types import Capability
from voxgate.server.images import IMAGE_URL_PATTERN, MAX_IMAGE_BYTES, check_image_part
from voxgate.server.validation import parse_chat_request

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
IMAGES = {
    "png": PNG, "jpeg": b"\xff\xd8\xff\xe0" + b"\0" * 16, "gif": b"GIF89a" + b"\0" * 8,
    "webp": b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 8,
}


def _data_url(kind: str, data: bytes) -> str:
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


def _chat(*parts: Any) -> dict[str, Any]:
    return {"model": "auto", "messages": [{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                                                        *parts]}]}


@pytest.mark.parametrize("kind", sorted(IMAGES))
def test_each_inline_format_passes_and_needs_vision(kind: str) -> None:
    part = {"type": "image_url", "image_url": {"url": _data_url(kind, IMAGES[kind]), "detail": "high"}}
    request = parse_chat_request(_chat(part))
    assert request.needs == frozenset({Capability.VISION})
    assert request.body["messages"][0]["content"][1] == part  # passed on unchanged


def test_images_count_toward_the_prompt_estimate() -> None:
    url_part = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    one = parse_chat_request(_chat(url_part)).prompt_tokens_estimate
    two = parse_chat_request(_chat(url_part, url_part)).prompt_tokens_estimate
    assert two - one >= 500


@pytest.mark.parametrize(
    ("image", "param"),
    [
        ({"url": "ftp://example.com/cat.png"}, "messages[0].content[1].image_url.url"),
        ({"url": "data:image/tiff;base64,AAAA"}, "messages[0].content[1].image_url.url"),
        ({"url": "data:image/png;base64,not base64!"}, "messages[0].content[1].image_url.url"),
        ({"url": _data_url("png", IMAGES["jpeg"])}, "messages[0].content[1].image_url.url"),
        ({"url": _data_url("webp", b"RIFF\0\0\0\0WAVEfmt ")}, "messages[0].content[1].image_url.url"),
        ({"url": "https://example.com/" + "a" * 9000}, "messages[0].content[1].image_url.url"),
        ({"url": "https://example.com/cat.png", "detail": "ultra"}, "messages[0].content[1].image_url.detail"),
    ],
)
def test_bad_images_are_refused_naming_the_field(image: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_chat_request(_chat({"type": "image_url", "image_url": image}))
    assert caught.value.param == param


def test_an_image_over_the_size_limit_is_refused_before_decoding() -> None:
    huge = "data:image/png;base64," + "A" * ((MAX_IMAGE_BYTES // 3 + 2) * 4)
    with pytest.raises(InvalidRequestError, match="larger than 20 MiB") as caught:
        check_image_part({"url": huge}, "image")
    assert caught.value.code == "invalid_image"


@settings(max_examples=200, deadline=None)
@given(url=st.from_regex(IMAGE_URL_PATTERN, fullmatch=True).filter(lambda u: "\n" not in u))
def test_urls_the_schema_allows_are_served_or_refused_only_as_invalid_images(url: str) -> None:
    """The schema cannot check base64 or file signatures; everything else it allows is accepted."""
    code = None
    try:
        check_image_part({"url": url}, "image")
    except InvalidRequestError as exc:
        code = exc.code
    assert code in (None, "invalid_image")


@settings(max_examples=200, deadline=None)
@given(url=st.text(max_size=40))
def test_urls_the_schema_forbids_are_refused(url: str) -> None:
    if re.fullmatch(IMAGE_URL_PATTERN, url):
        return
    with pytest.raises(InvalidRequestError):
        check_image_part({"url": url}, "image")
