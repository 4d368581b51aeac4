"""What a virtual key may be created with: one check (`parse_key_spec`) for the API and the CLI."""

from __future__ import annotations

from typing import Any

import pytest

from voxgate.core.errors import InvalidRequestError
from voxgate.core.keys import BudgetPeriod
from voxgate.server.admin import parse_key_spec

MODELS = ("small", "large")


def test_a_full_spec_becomes_a_policy() -> None:
    name, policy = parse_key_spec({"name": "team-a", "budget_usd": {"day": 20, "month": 300.5}, "rpm": 60,
                                   "tpm": 100000.0, "max_voice_sessions": 0, "models": ["small", "small"],
                                   "profiles": ["auto:cost"], "routing": {"max_cost_usd": 0.01}}, MODELS)
    assert name == "team-a"
    assert policy.budget_usd == {BudgetPeriod.DAY: 20.0, BudgetPeriod.MONTH: 300.5}
    assert (policy.rpm, policy.tpm, policy.max_voice_sessions) == (60, 100000, 0)
    assert policy.models == ("small",)
    assert policy.profiles == ("auto:cost",)
    assert policy.routing == {"max_cost_usd": 0.01}
    assert parse_key_spec({"name": "b"}, MODELS)[1].rpm is None


@pytest.mark.parametrize(("spec", "param"), [
    ({}, "name"), ({"name": ""}, "name"), ({"name": "-x"}, "name"), ({"name": "a" * 65}, "name"),
    ({"name": "a", "rpm": 0}, "rpm"), ({"name": "a", "rpm": True}, "rpm"), ({"name": "a", "tpm": 1.5}, "tpm"),
    ({"name": "a", "budget_usd": 20}, "budget_usd"), ({"name": "a", "budget_usd": {"week": 1}}, "budget_usd"),
    ({"name": "a", "budget_usd": {"day": 0}}, "budget_usd"), ({"name": "a", "models": ["huge"]}, "models"),
    ({"name": "a", "models": []}, "models"), ({"name": "a", "profiles": ["auto:cheap"]}, "profiles"),
    ({"name": "a", "routing": {"max_cost_usd": -1}}, "routing.max_cost_usd"),
    ({"name": "a", "routing": {"nope": 1}}, "routing"), ({"name": "a", "key": "sk-x"}, "key"),
])
def test_bad_specs_are_refused_naming_the_field(spec: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        parse_key_spec(spec, MODELS)
    assert refused.value.param == param
