"""One server of a side-by-side bench run: a label and the environment variables it starts with.

    Variant.parse("off:VOXGATE_TOOLS_CONTINUE_CALLS=0")   # label "off", env {...}; an empty label is "default"

Used by `bench.voice_latency --variant` and `bench.bfcl_ab --arm`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """A label and the environment variables its server gets (`label:NAME=VALUE,NAME=VALUE`)."""

    label: str
    env: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Variant:
        label, _, assignments = text.partition(":")
        env = dict(pair.split("=", 1) for pair in assignments.split(",") if pair)
        return cls(label or "default", env)
