"""Virtual keys as the server sees them: a short-lived cache over the key table.

`KeyDirectory.resolve` turns a presented `sk-vg-...` string into its stored key (active or
revoked) or None. Entries are re-read after `ttl_s`, so a key created, revoked or rotated by the
CLI on the same database takes effect within `ttl_s`; through `/v1/admin/keys` at once on the
replica that served the change. While the database cannot be read, keys read before keep
working; others get a 503 (`key_store_unavailable`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import HTTPConnection

from voxgate.core.clock import Clock
from voxgate.core.errors import DecisionLogUnavailableError
from voxgate.core.keys import VirtualKey, key_id_of, key_matches
from voxgate.store.keys import SQLiteKeyStore

KEY_CACHE_TTL_S = 2.0
STATE_KEY = "virtual_key"


class KeyDirectory:
    """Resolves presented key strings; the admin routes change keys through `store`."""

    def __init__(self, store: SQLiteKeyStore, clock: Clock, ttl_s: float = KEY_CACHE_TTL_S) -> None:
        self.store = store
        self._clock = clock
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, VirtualKey | None]] = {}

    async def resolve(self, presented: str) -> VirtualKey | None:
        """The stored key whose secret this is (check `active`), or None."""
        key_id = key_id_of(presented)
        if key_id is None:
            return None
        now_s = self._clock.monotonic_s()
        cached = self._cache.get(key_id)
        if cached is None or now_s - cached[0] >= self._ttl_s:
            try:
                key = await asyncio.to_thread(self.store.get, key_id)
            except Exception as exc:  # sqlite3.Error, psycopg.Error, OSError: the database is down
                if cached is None:
                    raise DecisionLogUnavailableError(
                        "the key database cannot be read; keys used recently keep working until it is back",
                        code="key_store_unavailable") from exc
                key = cached[1]  # serve on with what was last read
            self._cache[key_id] = cached = (now_s, key)
        key = cached[1]
        return key if key is not None and key_matches(presented, key) else None

    def forget(self, key_id: str) -> None:
        """Drop a cached key after an admin change, so the next request reads it again."""
        self._cache.pop(key_id, None)

    def close(self) -> None:
        self.store.close()


def connection_key(connection: HTTPConnection) -> VirtualKey | None:
    """The virtual key the auth middleware found on this request or WebSocket, if any."""
    key: VirtualKey | None = connection.scope.get("state", {}).get(STATE_KEY)
    return key


def with_key_routing(key: VirtualKey | None, routing: Any) -> Any:
    """The request's `routing` with the key's routing fields laid over it: a key's constraints
    (say `max_cost_usd`) bind every request made with it. A non-object is left for the parser to refuse."""
    if key is None or not key.policy.routing or not (routing is None or isinstance(routing, dict)):
        return routing
    return {**(routing or {}), **key.policy.routing}
