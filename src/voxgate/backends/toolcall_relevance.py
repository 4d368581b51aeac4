"""Whether a declared function is about what the user asks: shared topic words. Pure.

Small models asked with tools call a function where none fits, and fill it from the request
(BFCL's irrelevance items: `get_stock_data(company: "Lakers")` for a basketball score), which the
grounding check (`toolcall_grounding`) cannot catch, as the values do come from the request. What
those calls lack is any word in common between the request and the function's own text. Measured
offline on BFCL's items other than the 98 of `bench/results/bfcl_ab.md` (parameters included):
the function the answer must call shares no topic word with the request in 4 of 381 simple, 2 of
181 multiple, 1 of 181 parallel and 2 of 459 parallel_multiple calls, while on 124 of 223
irrelevance items no declared function shares one.

    request_text(messages)          what the user said: the user messages' text
    last_user_text(messages)        the last user message's text (None if there is none or it is blank)
    topic_words(text)               lower-case word stems, stop words and words under 3 letters left out
    function_words(function)        its name (snake_case, camelCase, dots split), description, and its
                                    parameters' names, descriptions and enum values, as topic words
    shares_topic(function, words)   some topic word of the function is among `words`
    named_by_request(names, words)  the one function every topic word of whose name (two at least) the
                                    request has
    names_new_task(name, made, words)  a word of function `name` that no name of `made` has (generic
                                    verbs like "search" or "fetch" aside) is among `words`
    asks_several_things(text)       the request joins a second request on ("Also, ...", "... and how
                                    much ...?") or asks two questions

A stem is the word less one common English ending (-ing, -ies, -es, -ed, -s, -ly), cut to 6
letters ("temperatures" and "temperature" meet as "temper"). A request written in a script with
no Latin letters has no topic words; `shares_topic` is then true (the check does not apply).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

from voxgate.core.types import JSONObject

from .tool_prompt import content_text

__all__ = [
    "asks_several_things", "function_words", "last_user_text", "named_by_request", "names_new_task", "request_text",
    "shares_topic", "topic_words",
]

STEM_CHARS = 6
MIN_WORD_CHARS = 3
_LATIN_WORD = re.compile(r"[a-z]+")
_CAMEL = re.compile(r"([a-z])([A-Z])")
_ENDINGS = ("ing", "ies", "es", "ed", "s", "ly")
_STOP_WORDS = frozenset((
    "the", "and", "for", "are", "with", "from", "that", "what", "which", "who", "whom", "how", "when", "where",
    "does", "can", "could", "would", "should", "will", "you", "your", "our", "please", "find", "get", "give",
    "tell", "calculate", "compute", "show", "list", "about", "into", "than", "then", "there", "their", "them",
    "they", "was", "were", "has", "have", "had", "any", "all", "some", "per", "using", "use", "based", "given",
    "also", "not", "yes", "out", "this", "its", "want", "need", "like", "know", "let", "make", "just", "more",
    "most", "much", "many", "such", "been", "being", "other", "each", "very"
))  # fmt: skip


def request_text(messages: object) -> str:
    """The text of every user message, joined (what the functions are matched against)."""
    parts = []
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, dict) and message.get("role") == "user":
            parts.append(content_text(message.get("content")))
    return "\n".join(parts)


def last_user_text(messages: object) -> str | None:
    """The text of the last user message, as the model is shown it (`content_text`); None if empty."""
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content")).strip() or None
    return None


def topic_words(text: str) -> frozenset[str]:
    """`text`'s topic words: Latin-letter words of 3 letters or more, not stop words, stemmed."""
    split = _CAMEL.sub(r"\1 \2", text).lower()
    return frozenset(_stem(word) for word in _LATIN_WORD.findall(split)
                     if len(word) >= MIN_WORD_CHARS and word not in _STOP_WORDS)


def function_words(function: JSONObject) -> frozenset[str]:
    """The topic words of a function's name, description and parameters (names, descriptions, enums)."""
    name = function.get("name")
    description = function.get("description")
    texts = [name.replace("_", " ").replace(".", " ") if isinstance(name, str) else "",
             description if isinstance(description, str) else "", *_schema_texts(function.get("parameters"))]
    return topic_words(" ".join(texts))


def names_new_task(name: str, made_names: Collection[str], request_words: frozenset[str]) -> bool:
    """Whether function `name` names a task of the request's that the functions `made_names` do not: a
    topic word of its name (dots and underscores split, a generic verb such as "search", "fetch" or
    "check" left out) that none of theirs has is among `request_words` ("distance" for
    `kinematics_distance_traveled` beside `kinematics_final_velocity`, asked for "the total distance
    covered")."""
    made_words = frozenset().union(*(_name_words(made) for made in made_names))
    return bool((_name_words(name) - made_words) & request_words)


def named_by_request(names: Collection[str], request_words: frozenset[str]) -> str | None:
    """The one declared function (of `names`) that the request names by every topic word of its name,
    two at least, generic verbs and nouns ("search", "info") left out: `musical_scale` for "What is the
    musical scale associated with C sharp major?", `poker_probability_full_house` for "... a full house
    in poker?"; None where no function or several are so named. On BFCL, 62 of 200 multiple requests
    and 3 of 240 irrelevance ones name one so (`bench/results/bfcl_ab.md`)."""
    named = [name for name in names if len(words := _name_words(name)) >= _NAMING_WORDS and words <= request_words]
    return named[0] if len(named) == 1 else None


def asks_several_things(text: str) -> bool:
    """Whether `text` joins a second request on ("Also, compute the distance", "additionally", "as
    well as", "secondly", "and how much water ...") or asks two questions. Measured on BFCL: 160 of
    the 191 parallel_multiple requests whose answer calls two functions or more say so, 6 of the 200
    multiple ones (one call each); "then" and "next" are left out ("and then accelerates", "next week")."""
    return _SEVERAL_THINGS.search(text) is not None or text.count("?") >= 2


def _name_words(name: str) -> frozenset[str]:
    return topic_words(name) - _GENERIC_NAME_WORDS  # topic_words splits on "_", "." and "-" already


def shares_topic(function: JSONObject, request_words: frozenset[str]) -> bool:
    """Whether `function` has a topic word among `request_words` (true when the request has none)."""
    return not request_words or bool(function_words(function) & request_words)


def _schema_texts(node: object) -> Iterator[str]:
    """Parameter names (underscores as spaces), descriptions and enum values of a JSON schema, nested."""
    if isinstance(node, list):
        for item in node:
            yield from _schema_texts(item)
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            for name, schema in value.items():
                yield str(name).replace("_", " ")
                yield from _schema_texts(schema)
        elif key == "description" and isinstance(value, str):
            yield value
        elif key == "enum" and isinstance(value, list):
            yield from (str(choice) for choice in value)
        elif isinstance(value, dict | list):
            yield from _schema_texts(value)


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if len(word) > len(ending) + 2 and word.endswith(ending):
            return word[: -len(ending)][:STEM_CHARS]
    return word[:STEM_CHARS]


_SEVERAL_THINGS = re.compile(
    r"\b(?:also|additionally|as well(?: as)?|secondly|second|furthermore|moreover|besides|lastly|finally|after that"
    r"|and (?:what|how|get|find|calculate))\b", re.IGNORECASE)
_NAMING_WORDS = 2
_GENERIC_NAME_WORDS = topic_words(
    "search fetch retrieve check query lookup info information data details detail estimate analyze analysis "
    "create generate calc calculator convert conversion compute solve record records")
"""Words of function names that name no task by themselves: the verbs and nouns every kind of function uses
("solve": `solve_quadratic_equation` is named by "the root of quadratic equation with coefficients 2, 3 and
-4", BFCL multiple_28, answered with the formula in words)."""
