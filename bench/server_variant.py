"""One server of a side-by-side bench run: a label and the environment variables it starts with.

    Variant.parse("off:VOXGATE_TOOLS_CONTINUE_CALLS=0")   # label "off", env {...}; an empty label is "default"
    Variant.parse("big@qwen2.5-coder-1.5b:")              # label "big"; its clients ask for that model

Used by `bench.voice_latency --variant` and `bench.bfcl_ab --arm`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """A label, the environment variables its server gets, and the `model` its clients ask for
    (`label[@model]:NAME=VALUE,NAME=VALUE`; without `@model`, "auto")."""

    label: str
    env: dict[str, str]
    model: str = "auto"

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, _, assignments = text.partition(":")
        label, _, model = name.partition("@")
        env = dict(pair.split("=", 1) for pair in assignments.split(",") if pair)
        return cls(label or "default", env, model or "auto")
