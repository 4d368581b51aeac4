"""How many prompt tokens a request's tools add: the declarations and the calls already made. Pure.

OpenAI counts tool declarations in `prompt_tokens`, and a local model prefills them like any text:
a request whose messages fit a model's context can still overflow it with its `tools` (BFCL's
live_multiple items declare up to 37 functions, 9,000 prompt tokens). Counted here so routing rules
such a model out with its own reason (`routing.eligibility`) and prices the tokens, instead of the
upstream answering 400 after the choice.

    tokens = tool_tokens_estimate(body, shortlist=5)

The declarations are counted as the bundled models' adapter shows them (`toolcall_shortlist` at the
gateway's `tools.shortlist`: the most relevant `k` when more are declared), one JSON line each as
`tool_prompt.tool_signature_lines` writes them; `tool_choice` "none" shows none. The calls in earlier
assistant messages (`tool_calls`: name and arguments) are counted too; their results are `tool`
messages, counted with the messages. The predictor's features do not read this count (a tool list is
not a harder prompt).
"""

from __future__ import annotations

import json

from voxgate.backends.tool_prompt import tool_signature_lines
from voxgate.backends.toolcall_shortlist import shortlist_tools
from voxgate.core.types import JSONObject
from voxgate.routing.features import estimate_tokens

__all__ = ["tool_tokens_estimate"]


def tool_tokens_estimate(body: JSONObject, shortlist: int) -> int:
    """Tokens the (validated) body's tool declarations, cut to `shortlist`, and earlier calls add."""
    declared = body.get("tools")
    shown = shortlist_tools(body, shortlist).tools if isinstance(declared, list) and declared else []
    if body.get("tool_choice") == "none":
        shown = []
    text = tool_signature_lines(shown)
    calls = [call for message in body.get("messages") or () if isinstance(message, dict)
             for call in message.get("tool_calls") or () if isinstance(call, dict)]
    text += "\n".join(json.dumps(call.get("function"), ensure_ascii=False) for call in calls)
    return estimate_tokens(text) if text else 0
