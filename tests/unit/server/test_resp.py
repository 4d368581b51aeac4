"""The RESP client (server/resp) against a scripted Redis (tests/support/scripted_redis): what it
writes, what each kind of reply reads as, and what each failure gets: an error reply raises
RedisReplyError and keeps the connection; a connection closed mid-reply, no reply in time, bytes
that are no RESP and a cancelled call raise (OSErrors, or the cancellation) and drop it."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from tests.support.scripted_redis import SILENT, Hangup, ScriptedRedis
from voxgate.server.resp import (
    LuaScript,
    RedisAddress,
    RedisReplyError,
    Reply,
    RespClient,
    as_float,
    as_int,
    encode_command,
    read_reply,
)


def test_a_command_is_an_array_of_bulk_strings() -> None:
    assert encode_command(("SET", "k", 12, 0.1, b"\x00\r\n")) == (
        b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$3\r\n0.1\r\n$3\r\n\x00\r\n\r\n")


async def _read(data: bytes) -> Reply:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return await read_reply(reader)


@pytest.mark.parametrize(("data", "reply"), [
    (b"+OK\r\n", b"OK"),
    (b":-42\r\n", -42),
    (b"$5\r\nhe\r\nl\r\n", b"he\r\nl"),
    (b"$-1\r\n", None),
    (b"*-1\r\n", None),
    (b"*3\r\n:1\r\n*1\r\n$1\r\nx\r\n$-1\r\n", [1, [b"x"], None]),
])
async def test_each_kind_of_reply_reads_as_a_python_value(data: bytes, reply: Reply) -> None:
    assert await _read(data) == reply


async def test_an_error_reply_is_returned_not_raised() -> None:
    reply = await _read(b"-WRONGTYPE Operation against a key\r\n")
    assert isinstance(reply, RedisReplyError)
    assert str(reply) == "WRONGTYPE Operation against a key"


async def test_bytes_that_are_no_resp_are_a_connection_error() -> None:
    with pytest.raises(ConnectionError, match="not a RESP reply"):
        await _read(b"HTTP/1.1 400 Bad Request\r\n")


def test_numbers_read_from_replies_and_what_is_not_one() -> None:
    assert (as_int(7), as_int(b"-3"), as_float(b"1.25"), as_float(None), as_float(2)) == (7, -3, 1.25, 0.0, 2.0)
    not_numbers: list[Reply] = [b"1.5", None, [1]]
    for not_a_number in not_numbers:
        with pytest.raises(RedisReplyError):
            as_int(not_a_number)
    with pytest.raises(RedisReplyError):
        as_float(b"lots")


@pytest.mark.parametrize(("url", "address"), [
    ("redis://127.0.0.1:6380/2", RedisAddress("127.0.0.1", 6380, db=2)),
    ("redis://redis.internal", RedisAddress("redis.internal", 6379)),
    ("redis://:s%40cret@h:1/0", RedisAddress("h", 1, password="s@cret")),
    ("rediss://user:pw@h:6390", RedisAddress("h", 6390, username="user", password="pw", tls=True)),
    ("unix:///run/redis.sock?db=3", RedisAddress(socket_path="/run/redis.sock", db=3)),
])
def test_a_url_names_the_address_and_login(url: str, address: RedisAddress) -> None:
    assert RedisAddress.parse(url) == address


@pytest.mark.parametrize(("url", "says"), [("http://h:6379", "not a Redis URL"),
                                           ("redis://h:6379/first", "must be a number")])
def test_a_url_that_is_no_redis_address_is_refused(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        RedisAddress.parse(url)


async def test_commands_go_together_in_one_write_and_the_connection_is_kept() -> None:
    redis = ScriptedRedis(b":1\r\n+OK\r\n", b"$1\r\n1\r\n")
    client = RespClient(RedisAddress(), open_stream=redis.open)
    assert await client.execute(("INCR", "a"), ("EXPIRE", "a", 60)) == [1, b"OK"]
    assert await client.execute(("GET", "a")) == [b"1"]
    assert redis.sent == [encode_command(("INCR", "a")) + encode_command(("EXPIRE", "a", 60)),
                          encode_command(("GET", "a"))]
    assert (redis.opened, redis.closed) == (1, 0)
    await client.aclose()
    assert redis.closed == 1


async def test_an_error_reply_mid_pipeline_raises_after_every_reply_is_read() -> None:
    redis = ScriptedRedis(b":1\r\n-WRONGTYPE not a hash\r\n:3\r\n", b":4\r\n")
    client = RespClient(RedisAddress(), open_stream=redis.open)
    with pytest.raises(RedisReplyError, match="WRONGTYPE"):
        await client.execute(("INCR", "a"), ("HINCRBY", "a", "f", 1), ("INCR", "b"))
    assert await client.execute(("INCR", "b")) == [4], "the connection is still in step"
    assert (redis.opened, redis.closed) == (1, 0)


@pytest.mark.parametrize("answer", [Hangup(), Hangup(b"*6\r\n:0\r\n:0\r\n"), Hangup(b"$10\r\n12")])
async def test_a_connection_closed_mid_reply_is_a_connection_error_and_is_dropped(answer: Hangup) -> None:
    redis = ScriptedRedis(answer, b":1\r\n")
    client = RespClient(RedisAddress(), open_stream=redis.open)
    with pytest.raises(ConnectionError):
        await client.execute(("INCR", "a"))
    assert redis.closed == 1
    assert await client.execute(("INCR", "a")) == [1]
    assert redis.opened == 2, "a new connection for the next call"


async def test_no_reply_in_time_is_a_timeout_and_drops_the_connection() -> None:
    redis = ScriptedRedis(SILENT)
    client = RespClient(RedisAddress(), timeout_s=0.01, open_stream=redis.open)
    with pytest.raises(TimeoutError) as raised:
        await client.execute(("INCR", "a"))
    assert isinstance(raised.value, OSError), "the counters fail open on OSError"
    assert redis.closed == 1


async def test_a_call_cancelled_mid_exchange_drops_its_connection() -> None:
    redis = ScriptedRedis(SILENT, b":1\r\n")
    client = RespClient(RedisAddress(), open_stream=redis.open)
    call = asyncio.create_task(client.execute(("INCR", "a")))
    await asyncio.sleep(0)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert redis.closed == 1
    assert await client.execute(("INCR", "a")) == [1], "its late reply is never read as this one's"
    assert redis.opened == 2


async def test_a_kept_connection_redis_closed_meanwhile_is_not_reused() -> None:
    redis = ScriptedRedis(b":1\r\n", b":2\r\n")
    client = RespClient(RedisAddress(), open_stream=redis.open)
    await client.execute(("INCR", "a"))
    redis.readers[0].feed_eof()  # Redis restarted
    assert await client.execute(("INCR", "a")) == [2]
    assert (redis.opened, redis.closed) == (2, 1)


async def test_a_script_unknown_to_redis_is_sent_whole_once() -> None:
    script = LuaScript("return 1")
    assert script.sha == hashlib.sha1(b"return 1").hexdigest()
    redis = ScriptedRedis(b"-NOSCRIPT No matching script\r\n", b":1\r\n", b":1\r\n")
    client = RespClient(RedisAddress(), open_stream=redis.open)
    assert await client.evalsha(script, ["k"], [5]) == 1
    assert await client.evalsha(script, ["k"], [5]) == 1
    assert redis.sent == [encode_command(("EVALSHA", script.sha, 1, "k", 5)),
                          encode_command(("EVAL", "return 1", 1, "k", 5)),
                          encode_command(("EVALSHA", script.sha, 1, "k", 5))]


async def test_a_failing_script_raises_its_error() -> None:
    redis = ScriptedRedis(b"-ERR user_script:1: Script attempted to access nonexistent global variable\r\n")
    client = RespClient(RedisAddress(), open_stream=redis.open)
    with pytest.raises(RedisReplyError, match="user_script"):
        await client.evalsha(LuaScript("return x"), [], [])


async def test_a_new_connection_logs_in_and_selects_its_database_first() -> None:
    redis = ScriptedRedis(b"+OK\r\n+OK\r\n", b":1\r\n")
    client = RespClient(RedisAddress(username="u", password="pw", db=2), open_stream=redis.open)
    assert await client.execute(("INCR", "a")) == [1]
    assert redis.sent[0] == encode_command(("AUTH", "u", "pw")) + encode_command(("SELECT", 2))


async def test_a_refused_login_raises_and_closes_the_connection() -> None:
    redis = ScriptedRedis(b"-WRONGPASS invalid username-password pair\r\n")
    client = RespClient(RedisAddress(password="wrong"), open_stream=redis.open)
    with pytest.raises(RedisReplyError, match="WRONGPASS"):
        await client.execute(("INCR", "a"))
    assert redis.closed == 1
