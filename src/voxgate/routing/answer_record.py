"""What a decision keeps of its answers when the operator opts in (`record_answers: true`).

The learned answer checker (`voxgate train`) learns from answers users scored with
`POST /v1/decisions/{id}/feedback`; `voxgate outcomes` exports them. So, with content logging
on, the decision's `content` gains every answer the gateway got for it, in order:

    "answers": [{"model": "smollm2-135m", "text": "...", "token_logprobs": [-0.1, ...],
                 "margins": [2.3, ...]}, ...]       # one for predict, one per cascade stage
    "answer": "..."                                  # the text of the model that answered

`token_logprobs` and `margins` (each token's log-prob minus its best alternative's) are what
the checker's features read; they are present when the upstream returned log-probabilities (a
cascade asks for them; a predict call has them when the client asked). Answers are user
content: they live only in the decision row (pruned with it under `decision_retention_days`)
and never in log messages.
"""

from __future__ import annotations

from voxgate.core.types import JSONObject, first_choice
from voxgate.routing.cascade.confidence import token_logprobs_from
from voxgate.routing.cascade.learned_check import token_margins

DIGITS = 4


def answer_entry(model_id: str, response: JSONObject) -> JSONObject:
    """One model's completion as a recorded answer: its text and, when given, its token signals."""
    choice = first_choice(response)
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    entry: JSONObject = {"model": model_id, "text": content if isinstance(content, str) else ""}
    tokens = token_logprobs_from(choice)
    if tokens is not None:
        entry["token_logprobs"] = [round(t.logprob, DIGITS) for t in tokens]
        margins = token_margins(tokens)
        entry["margins"] = None if margins is None else [round(m, DIGITS) for m in margins]
    return entry


def keep_answer(content: JSONObject, entry: JSONObject) -> None:
    """Append `entry` to the decision content's `answers`."""
    answers = content.setdefault("answers", [])
    answers.append(entry)


def settle_answer(content: JSONObject, answered_by: str | None) -> None:
    """Set `answer` to the text of the last recorded answer by `answered_by` (when there is one)."""
    answers = content.get("answers") or []
    texts = [a["text"] for a in answers if a.get("model") == answered_by]
    if texts:
        content["answer"] = texts[-1]
