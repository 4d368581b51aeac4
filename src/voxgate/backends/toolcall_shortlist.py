"""A long tool list cut to the functions most relevant to the user's latest request. Pure.

Every declared tool is written into the prompt of every tool request (`tool_prompt`), and on the
bundled CPU models each one is prefilled before the first word: BFCL's live_multiple items carry
up to 37 tools and 9,000 prompt tokens (143 s per answer on two cores). What LangChain and
LlamaIndex call tool retrieval: the functions are ranked by relevance to the user's latest
message, and only the `k` best are shown to the model, where more than `k` are declared.

Ranking: BM25 over each function's topic words (`toolcall_relevance.function_words`: name split
on `_`, `.` and camelCase, description, parameter names and descriptions, enum values; stop words
left out, light stemming), with the words of its name counted again (`NAME_WEIGHT`), against the
topic words of the last user message. The words' rarity is taken over the request's own tool list.

Never a blind guess: functions that score the same are kept or dropped together, so
- a request with no topic word that any function shares (best score 0; a request written in a
  script with no Latin letters has no topic words at all) keeps every function;
- so does one that fewer than `k` functions meet (the `k`-th scores 0: the right function may be
  one asked for in other words, "Will it rain?" for `get_weather`: on 9 of BFCL's 177 even-indexed
  live_multiple items with 5 tools or more, the right function scores 0);
- functions tied with the `k`-th are kept too (more than `k`; every function: nothing dropped).
Always kept, beyond the `k`: the function `tool_choice` names, and each function already called
earlier in the conversation (assistant `tool_calls`). `tool_choice` "none" shows no tools anyway.

Families, for the steps a request does not name: an agent's request often needs a function that
shares no word with it, a step of the same API taken first ("cd" before reading a file, a login
before posting, a quote before an order): over BFCL's multi_turn_base turns, ranked on the latest
message alone, k = 5 dropped a function the turn's ground truth calls in 102 of 371 turns (the
even-indexed entries). Functions documented together open their descriptions with the same
sentence, then go on each its own way ("This tool belongs to the X API, which ... Tool description:
..."): such functions form a family (`tool_families`), and the families of the `FAMILY_TOP`
best-ranked functions (ties with the last included) are kept whole. On the same turns that leaves
7 of 371 lost, at 21.0 of 27.6 tools shown instead of 8.9; no family exists in BFCL's single-turn
tool lists, which it leaves as they were.
Ranking on earlier user messages too (at a lower weight) was measured and lost more turns: an
agent's turns change topic, and the old words push out the new request's functions.

Kept functions stay in the caller's order. k = 5 (the default of `tools.shortlist`) was chosen on
BFCL's even-indexed live_multiple, live_parallel_multiple and multiple items: the smallest that
dropped no right function; `FAMILY_TOP` = 2 on the even-indexed multi_turn_base entries
(`bench/tool_shortlist.py`, `bench/tool_shortlist_turns.py`; `bench/results/tool_shortlist.md`).

    rank_scores(query, functions)        each function's score against the request's text
    tool_families(functions)             each function's family (its description's shared opening), or None
    shortlist_tools(body, k)             the Shortlist for a request: tools kept, how many dropped, why
    shortlisted_body(body, k)            the body with `tools` cut to the shortlist, and the Shortlist
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from voxgate.core.types import JSONObject

from .toolcall_relevance import function_words, last_user_text, topic_words

__all__ = [
    "REASON_CUT",
    "REASON_FAMILY",
    "REASON_FEW_MEET",
    "REASON_NO_SIGNAL",
    "REASON_TIE",
    "Shortlist",
    "rank_scores",
    "shortlist_tools",
    "shortlisted_body",
    "tool_families",
]

NAME_WEIGHT = 2
"""A word of the function's name counts this many times (the name is the best summary of what it does)."""
FAMILY_TOP = 2
"""The families of this many best-ranked functions (and of those tied with the last) are kept whole."""
FAMILY_LEAD_MIN_CHARS = 20
"""A family's shared opening sentence is at least this long (shorter ones say too little to group by)."""
BM25_K1 = 1.2
BM25_B = 0.75
REASON_CUT = "kept the functions most relevant to the latest request"
REASON_NO_SIGNAL = "kept every function: no word of the request meets any function"
REASON_FEW_MEET = "kept every function: fewer than the shortlist's size meet the request"
REASON_TIE = "kept every function: every one ties with the last kept"
REASON_FAMILY = "kept every function: all belong to the families of the most relevant ones"
_LEAD_SENTENCE = re.compile(rf"\s*(.{{{FAMILY_LEAD_MIN_CHARS},}}?[.!?])\s+\S", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Shortlist:
    """The tools to show the model (in the caller's order), how many were dropped, and why (a REASON_
    constant; None where the list was not long enough to cut)."""

    tools: list[JSONObject]
    dropped: int = 0
    reason: str | None = None


def rank_scores(query: str, functions: Sequence[JSONObject]) -> list[float]:
    """BM25 score of each function (its words, its name's counted `NAME_WEIGHT` times) for `query`'s
    topic words; the words' rarity is counted over `functions`."""
    query_words = topic_words(query)
    documents = [_document(function) for function in functions]
    if not documents or not query_words:
        return [0.0] * len(documents)
    average_length = sum(sum(document.values()) for document in documents) / len(documents) or 1.0
    holding = Counter(word for document in documents for word in document)
    scores = []
    for document in documents:
        length_norm = 1 - BM25_B + BM25_B * sum(document.values()) / average_length
        score = 0.0
        for word in sorted(query_words & document.keys()):  # one summing order: ties stay exact
            rarity = math.log(1 + (len(documents) - holding[word] + 0.5) / (holding[word] + 0.5))
            count = document[word]
            score += rarity * count * (BM25_K1 + 1) / (count + BM25_K1 * length_norm)
        scores.append(score)
    return scores


def shortlist_tools(body: JSONObject, k: int, *, family_top: int = FAMILY_TOP) -> Shortlist:
    """The request's `tools`, cut to the `k` most relevant to its latest user message where it
    declares more than `k` functions (`k` 0: never), plus the ones always kept and the families of
    the `family_top` best (0: no family kept; module docstring)."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return Shortlist([])
    choice = body.get("tool_choice", "auto")
    if k <= 0 or len(tools) <= k or choice == "none":
        return Shortlist(list(tools))
    functions = [_function(tool) for tool in tools]
    scores = rank_scores(last_user_text(body.get("messages")) or "", functions)
    ranked = sorted(scores, reverse=True)
    if ranked[0] <= 0:
        return Shortlist(list(tools), reason=REASON_NO_SIGNAL)
    if ranked[k - 1] <= 0:
        return Shortlist(list(tools), reason=REASON_FEW_MEET)
    keep = _always_kept(body)
    best = [score >= ranked[k - 1] or function.get("name") in keep
            for score, function in zip(scores, functions, strict=True)]
    families = tool_families(functions)
    kept_families = _best_families(families, scores, ranked[min(family_top, k) - 1]) if family_top > 0 else set()
    kept = [tool for tool, is_best, family in zip(tools, best, families, strict=True)
            if is_best or family in kept_families]
    if len(kept) < len(tools):
        return Shortlist(kept, len(tools) - len(kept), REASON_CUT)
    return Shortlist(kept, 0, REASON_TIE if all(best) else REASON_FAMILY)


def tool_families(functions: Sequence[JSONObject]) -> list[str | None]:
    """Each function's family: the opening sentence of its description (`FAMILY_LEAD_MIN_CHARS` or
    longer, more text after it), where another function's description opens with the same one; else
    None. A description that is one sentence opens no family: the same whole description on several
    functions (a placeholder) says nothing of belonging together."""
    leads = [_lead_sentence(function.get("description")) for function in functions]
    counts = Counter(lead for lead in leads if lead is not None)
    return [lead if lead is not None and counts[lead] > 1 else None for lead in leads]


def shortlisted_body(body: JSONObject, k: int) -> tuple[JSONObject, Shortlist]:
    """`body` with `tools` cut to its shortlist (the same body where nothing is dropped)."""
    shortlist = shortlist_tools(body, k)
    if not shortlist.dropped:
        return body, shortlist
    return {**body, "tools": shortlist.tools}, shortlist


def _function(tool: object) -> JSONObject:
    function = tool.get("function") if isinstance(tool, dict) else None
    return function if isinstance(function, dict) else {}


def _document(function: JSONObject) -> Counter[str]:
    """A function's topic words, those of its name counted `NAME_WEIGHT` times."""
    document = Counter(function_words(function))
    name = function.get("name")
    if isinstance(name, str):
        for word in topic_words(name.replace("_", " ").replace(".", " ")):
            document[word] += NAME_WEIGHT - 1
    return document


def _lead_sentence(description: object) -> str | None:
    match = _LEAD_SENTENCE.match(description) if isinstance(description, str) else None
    return match.group(1) if match else None


def _best_families(families: Sequence[str | None], scores: Sequence[float], threshold: float) -> set[str]:
    """The families of the functions scoring `threshold` or more (`threshold` above 0)."""
    return {family for family, score in zip(families, scores, strict=True)
            if family is not None and score >= threshold}


def _always_kept(body: JSONObject) -> set[str]:
    """The function `tool_choice` names and every function called earlier in the conversation."""
    names: set[str] = set()
    choice = body.get("tool_choice")
    function = choice.get("function") if isinstance(choice, dict) else None
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        names.add(function["name"])
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        for call in (message.get("tool_calls") or ()) if isinstance(message, dict) else ():
            called = call.get("function") if isinstance(call, dict) else None
            if isinstance(called, dict) and isinstance(called.get("name"), str):
                names.add(called["name"])
    return names
