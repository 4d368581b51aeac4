"""The benchmark's upstream: a minimal OpenAI-compatible server that returns a fixed completion.

Raw asyncio, keep-alive HTTP/1.1, no framework, so it costs as little CPU as possible and the
gateway in front of it is what gets measured. Binds 127.0.0.1 only.

Run: python -m bench.fixed_upstream --port 9100
"""

from __future__ import annotations

import argparse
import asyncio
import json

COMPLETION = json.dumps({
    "id": "chatcmpl-fixed",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "fixed",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the fixed upstream."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
}).encode()
MODELS = json.dumps({"object": "list", "data": [{"id": "fixed", "object": "model"}]}).encode()


def _response(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            writer.write(_response(MODELS if head.startswith(b"GET") else COMPLETION))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(_serve_connection, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
