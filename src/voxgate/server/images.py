"""Image content parts: what a chat request may carry to a vision model, checked before routing.

    {"type": "image_url", "image_url": {"url": "https://...", "detail": "low"}}
    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0..."}}

A URL image is passed on as sent (the model server fetches it); an inline image must be base64 of
one of `IMAGE_MEDIA_TYPES`, whose first bytes match the type it claims, at most `MAX_IMAGE_BYTES`
once decoded (OpenAI's per-image limit; the whole body is bounded by `max_body_bytes` first).
Parts are never rewritten: a request that passes reaches the chosen model byte for byte. The
tables here are also what `server/api_schema` publishes for `image_url` parts.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from voxgate.core.errors import InvalidRequestError

IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
IMAGE_DETAILS = ("auto", "low", "high")
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_URL_CHARS = 8192
IMAGE_TOKENS_ESTIMATE = 765  # a 1024 x 1024 image at high detail, OpenAI's tile arithmetic
_MEDIA_ALTERNATION = "|".join(re.escape(kind.removeprefix("image/")) for kind in IMAGE_MEDIA_TYPES)
IMAGE_URL_PATTERN = rf"^(https?://[^ ]+|data:image/({_MEDIA_ALTERNATION});base64,.*)$"
_DATA_URL = re.compile(rf"data:image/(?P<kind>{_MEDIA_ALTERNATION});base64,(?P<data>.*)", re.DOTALL)
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),
}


def _invalid(where: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(f"{where}: {message}", param=where, code="invalid_image")


def check_image_part(image: dict[str, Any], where: str) -> None:
    """Raise InvalidRequestError (code `invalid_image`) unless `image` is a URL or inline image we pass on."""
    url: str = image["url"]
    detail = image.get("detail")
    if detail is not None and detail not in IMAGE_DETAILS:
        raise InvalidRequestError(f"{where}.detail must be one of {', '.join(IMAGE_DETAILS)}.",
                                  param=f"{where}.detail")
    if not re.fullmatch(IMAGE_URL_PATTERN, url, flags=re.DOTALL):
        raise InvalidRequestError(
            f"{where}.url must be an http(s) URL or a data URL of base64 "
            f"{', '.join(IMAGE_MEDIA_TYPES)} (data:image/png;base64,...).", param=f"{where}.url")
    if url.startswith("http"):
        if len(url) > MAX_IMAGE_URL_CHARS:
            raise _invalid(f"{where}.url", f"an image URL is limited to {MAX_IMAGE_URL_CHARS} characters")
        return
    match = _DATA_URL.fullmatch(url)
    assert match is not None  # the pattern above admits only these data URLs
    if len(match["data"]) > (MAX_IMAGE_BYTES + 2) // 3 * 4:
        raise _invalid(f"{where}.url", f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    try:
        data = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid(f"{where}.url", "the data URL is not valid base64") from exc
    if not data.startswith(_SIGNATURES[match["kind"]]) or (match["kind"] == "webp" and data[8:12] != b"WEBP"):
        raise _invalid(f"{where}.url", f"the data is not an image/{match['kind']} file")
