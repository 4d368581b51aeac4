"""A shared speech engine seen through a per-session wrapper: `EngineView` passes the sample rate
and loading on to the engine it wraps, and closes nothing (the gateway owns the shared engine).
Subclasses add what they change: `metering.MeteredSTT` / `MeteredTTS` count the audio,
`realtime.prepared_reply`'s speech replays a prepared first clause."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar


class _Engine(Protocol):
    @property
    def sample_rate_hz(self) -> int: ...

    async def load(self) -> None: ...


EngineT = TypeVar("EngineT", bound=_Engine)


class EngineView(Generic[EngineT]):
    def __init__(self, inner: EngineT) -> None:
        self.inner = inner

    @property
    def sample_rate_hz(self) -> int:
        return self.inner.sample_rate_hz

    async def load(self) -> None:
        await self.inner.load()

    def close(self) -> None:
        """Nothing: the shared engine is closed by its owner (the gateway)."""
