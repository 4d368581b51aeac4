"""`RedisCounters` over the RESP client, against a scripted Redis (no sockets): what one admission and
one usage batch write, how the admission script's reply reads, and what a Redis failure in the middle
of a request gets through `FailoverCounters`: the local verdict (fail open), health False once, and
Redis again after `retry_s`. (The script itself runs in a real Redis in
tests/integration/test_admission_redis.py.)"""

from __future__ import annotations

import pytest

from tests.support.scripted_redis import SILENT, Hangup, ScriptedRedis
from voxgate.core.clock import ManualClock
from voxgate.core.keys import BudgetPeriod
from voxgate.server.counters import (
    ADMIT_SCRIPT,
    BudgetCheck,
    FailoverCounters,
    RedisCounters,
    UsageUpdate,
    WindowTake,
)
from voxgate.server.resp import LuaScript, RedisAddress, RedisReplyError, RespClient, encode_command

DAY, MONTH = BudgetPeriod.DAY, BudgetPeriod.MONTH
TAKE = WindowTake("k", 1, 300, rpm=60, tpm=None)
BUDGETS = (BudgetCheck(DAY, 86_400.0, 2.0), BudgetCheck(MONTH, 0.0))
TAKEN = b"*6\r\n:0\r\n:0\r\n:4\r\n:1200\r\n$4\r\n1.25\r\n$-1\r\n"  # the 4th request; $1.25 today, none this month


def _counters(redis: ScriptedRedis) -> RedisCounters:
    return RedisCounters(RespClient(RedisAddress(), timeout_s=0.05, open_stream=redis.open), window_s=60.0)


async def test_an_admission_is_one_script_call_and_its_reply_reads_as_the_counts() -> None:
    redis = ScriptedRedis(TAKEN)
    admitted = await _counters(redis).admit(120.0, (TAKE,), (), "k", BUDGETS)
    assert admitted.taken
    assert admitted.windows == ((4, 1200),)
    assert admitted.spent_usd == {DAY: 1.25, MONTH: 0.0}
    assert redis.sent == [encode_command((
        "EVALSHA", LuaScript(ADMIT_SCRIPT).sha, 3, "voxgate:win:k:120", "voxgate:spend:k:day:86400",
        "voxgate:spend:k:month:0", 1, 0, 121, 1, 300, 60, -1, "2.0", ""))]


async def test_a_refusal_names_the_window_or_the_budget() -> None:
    redis = ScriptedRedis(b"*6\r\n:1\r\n:0\r\n:60\r\n:0\r\n$-1\r\n$-1\r\n",
                          b"*6\r\n:0\r\n:1\r\n:3\r\n:0\r\n$3\r\n2.5\r\n$3\r\n2.5\r\n")
    counters = _counters(redis)
    over = await counters.admit(120.0, (TAKE,), (), "k", BUDGETS)
    assert (over.over, over.broke, over.taken) == (0, None, False)
    broke = await counters.admit(120.0, (TAKE,), (), "k", BUDGETS)
    assert (broke.over, broke.broke, broke.spent_usd[DAY]) == (None, DAY, 2.5)


@pytest.mark.parametrize("reply", [b":1\r\n", b"*3\r\n:0\r\n:0\r\n:4\r\n",
                                   b"*6\r\n:0\r\n:0\r\n$2\r\nno\r\n:1\r\n$-1\r\n$-1\r\n"])
async def test_a_reply_that_is_not_the_scripts_shape_is_a_reply_error(reply: bytes) -> None:
    with pytest.raises(RedisReplyError):
        await _counters(ScriptedRedis(reply)).admit(120.0, (TAKE,), (), "k", BUDGETS)


async def test_a_usage_batch_is_one_pipeline() -> None:
    redis = ScriptedRedis(b":1\r\n:1\r\n$3\r\n0.5\r\n:1\r\n")
    await _counters(redis).add_usage([UsageUpdate("k", 120.0, -200, 0.5, {DAY: 86_400.0}),
                                      UsageUpdate("j", 120.0, 0, 0.0, {})])
    assert redis.sent == [b"".join(encode_command(c) for c in (
        ("HINCRBY", "voxgate:win:k:120", "tokens", -200), ("EXPIRE", "voxgate:win:k:120", 121),
        ("INCRBYFLOAT", "voxgate:spend:k:day:86400", "0.5"), ("EXPIRE", "voxgate:spend:k:day:86400", 259_200)))]
    await _counters(ScriptedRedis()).add_usage([UsageUpdate("j", 120.0, 0, 0.0, {})])  # nothing to write: no trip


@pytest.mark.parametrize("failure", [Hangup(b"*6\r\n:0\r\n"), SILENT, b"-WRONGTYPE Operation against a key\r\n",
                                     b"-ERR Error running script\r\n", b"<html>\r\n"])
async def test_a_redis_failure_mid_request_fails_open_then_redis_serves_again(failure: bytes | Hangup | None) -> None:
    redis, clock, health = ScriptedRedis(TAKEN, failure, TAKEN), ManualClock(), list[bool]()
    counters = FailoverCounters(_counters(redis), clock, health.append, retry_s=1.0,
                                errors=(RedisReplyError, OSError))
    assert (await counters.admit(120.0, (TAKE,), (), "k", BUDGETS)).windows == ((4, 1200),)
    local = await counters.admit(120.0, (TAKE,), (), "k", BUDGETS)
    assert local.taken
    assert local.windows == ((2, 600),), "this replica's own count: the request Redis took, and this one"
    assert health == [False]
    assert (await counters.admit(120.0, (TAKE,), (), "k", BUDGETS)).windows == ((3, 900),), "no retry before 1 s"
    clock.advance(1.0)
    assert (await counters.admit(120.0, (TAKE,), (), "k", BUDGETS)).windows == ((4, 1200),)
    assert health == [False, True]
