"""Reading bounded request bodies and writing server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
from starlette.requests import Request

from voxgate.core.errors import InvalidRequestError, PayloadTooLargeError
from voxgate.core.types import JSONObject
from voxgate.server.validation import parse_json_body


def _too_large(limit_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"The request body is larger than {limit_bytes} bytes. Send less (shorter history, smaller "
        "images) or raise max_body_bytes in the voxgate config.",
        code="request_too_large",
    )


async def read_json(request: Request, limit_bytes: int) -> JSONObject:
    """Read at most `limit_bytes` of body and parse it as a JSON object."""
    body = await read_body(request, limit_bytes)
    if not body:
        raise InvalidRequestError("The request body is empty; send a JSON object.", code="invalid_json")
    return parse_json_body(body)


async def read_body(request: Request, limit_bytes: int) -> bytes:
    """The whole body, refused with PayloadTooLargeError as soon as it passes `limit_bytes`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit_bytes:
        raise _too_large(limit_bytes)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit_bytes:
            raise _too_large(limit_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


async def encode_sse(chunks: AsyncIterator[JSONObject]) -> AsyncIterator[bytes]:
    """Server-sent events in OpenAI's framing, ending with `data: [DONE]` unless an error ended it."""
    failed = False
    try:
        async for chunk in chunks:
            failed = "error" in chunk
            yield b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
        if not failed:
            yield b"data: [DONE]\n\n"
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()
