"""What of a reply is read aloud: its words, without what a screen would render or a program read.

    spoken = SpokenPieces(first_piece_chars=12, declared={"get_weather"})
    for delta in deltas:
        speak_each(spoken.push(delta))   # pieces to synthesise, as `SpeechChunker` cuts them
    spoken.tool_called()                 # the reply made a call
    speak_each(spoken.flush())           # the rest; words deferred as a described call are dropped if one was made

Small models write markdown and code even when spoken to, and the voice reads every mark: Piper
(espeak-ng) says "**Oslo**" as "asterisk asterisk Oslo asterisk asterisk", "# Weather" as "hash
weather", an emoji by its name and a call written as JSON as "name: get weather, arguments: city:
Paris". `speakable` drops those marks, as LiveKit Agents' `filter_markdown`/`filter_emoji` TTS
transforms and Pipecat's `MarkdownTextFilter` do: emphasis, headings, bullets, quotes, backticks and
tags go; a link keeps its text; `17 * 23` reads "17 times 23", `2 ** 10` "2 to the power of 10";
LaTeX math is read as words (`\\frac{9}{5}` "9 over 5"). Code fences and JSON are not read at all.
The transcript keeps the model's text; only the audio is filtered.

A reply offered tools may also describe a call in words before making it ("To answer this, I would
call the `get_weather` function with city='Oslo'."; the adapter then makes it:
`backends.toolcalls`). From the piece that names a declared function as code
(`toolcall_parser.described_functions`), or speaks of a "function" ("you can use the following
function call:"), on, pieces wait for the reply's end: when the reply made a call they are never
spoken, else they are. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from voxgate.backends.toolcall_parser import described_functions
from voxgate.voice.realtime.sentences import SpeechChunker

__all__ = ["SpokenPieces", "SpokenText", "speakable"]

_FENCE = "```"
_TAG = re.compile(r"</?[A-Za-z_][\w-]*>")
_LINE_MARK = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_IMAGE_OR_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*\)")
_DOUBLE_MARKS = re.compile(r"\*\*|__|~~")
_POWER = re.compile(r"(?<=\d)\s*\*\*\s*(?=\d)|(?<=\w)\s*\^\s*(?=\d)")  # not "is **391**": bold
_TIMES = re.compile(r"(?<=\d)\s*[*\u00d7]\s*(?=\d)")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])")
_UNDERSCORE_EMPHASIS = re.compile(r"(?<!\w)_(?=\S)|(?<=\S)_(?!\w)")
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200D\u20E3]")
_SPACES = re.compile(r"\s+")
_HAS_WORD = re.compile(r"\w")
_JSON_OPENING = re.compile(r'^\s*(?:\{|\[\s*[{"\[])')
_FUNCTION_TALK = re.compile(r"\bfunctions?\b", re.IGNORECASE)  # "you can use the following function call:"
_LATEX_WORDS = {"times": " times ", "cdot": " times ", "div": " divided by ", "pm": " plus or minus ",
                "approx": " approximately ", "neq": " is not ", "leq": " at most ", "le": " at most ",
                "geq": " at least ", "ge": " at least ", "circ": " degrees", "left": "", "right": "",
                "quad": " ", "%": "%", ",": " ", ";": " ", "[": " ", "]": " ", "(": " ", ")": " "}
_LATEX_MATH = re.compile(
    r"\\[\[\]()]|\$\$|\\(?:[dt]?frac|text|mathrm|times|cdot|div|sqrt|left|right|approx|circ)(?![A-Za-z])")
_LATEX_DEGREES = re.compile(r"\^\s*\{?\\circ\}?")
_LATEX_TEXT = re.compile(r"\\(?:text|mathrm|textbf|mathbf|operatorname)\{([^{}]*)\}")
_LATEX_FRACTION = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_LATEX_ROOT = re.compile(r"\\sqrt\{([^{}]*)\}")
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+|[%,;\[\]()])")


def speakable(text: str) -> str:
    """One line's words as they should be read: markdown marks, tags, backticks and emoji removed,
    link text kept, `*` between numbers read as "times", `**` or `^` before one as "to the power of";
    "" when no word is left."""
    if _TABLE_RULE.match(text):
        return ""
    if _LATEX_MATH.search(text):
        text = _read_latex(text)
    text = _TAG.sub(" ", text)
    text = _LINE_MARK.sub("", text)
    text = _IMAGE_OR_LINK.sub(r"\1", text)
    text = _DOUBLE_MARKS.sub("", _POWER.sub(" to the power of ", text))
    text = _TIMES.sub(" times ", text)
    text = _EMPHASIS.sub("", text)
    text = _UNDERSCORE_EMPHASIS.sub("", text)
    text = _EMOJI.sub("", text).replace("`", "")
    if "|" in text:  # a table's row
        text = text.replace("|", ", ").strip(" ,")
    text = _SPACES.sub(" ", text).strip()
    return text if _HAS_WORD.search(text) else ""


def _read_latex(text: str) -> str:
    """LaTeX math as words: `\\frac{9}{5}` "9 over 5", `\\times` "times", `\\text{Celsius}` "Celsius";
    `\\[ \\]` and braces go."""
    text = _LATEX_TEXT.sub(r"\1", _LATEX_DEGREES.sub(" degrees", text))
    for _ in range(4):  # nested fractions and roots, innermost first
        text = _LATEX_ROOT.sub(r"the square root of \1", _LATEX_FRACTION.sub(r"\1 over \2", text))
    text = _LATEX_COMMAND.sub(lambda m: _LATEX_WORDS.get(m.group(1), m.group(1)), text)
    return text.replace("$$", " ").replace("{", "").replace("}", "").replace("^", " to the power of ")


class SpokenText:
    """Pieces of one reply (as `SpeechChunker` cuts them: a line never spans two) -> what to say now.

    Code is not read: from a fence to the fence that closes it, and from a piece that opens as JSON
    (`{`, `[{`, `["`) until its brackets close. With `declared` function names, from the piece that
    names one as code or speaks of a function on, pieces are deferred to `end`."""

    def __init__(self, declared: Collection[str] = ()) -> None:
        self._declared = declared
        self._in_fence = False
        self._json_depth = 0
        self._deferred: list[str] | None = None

    def piece(self, text: str) -> str:
        """What to say of this piece now ("" for nothing)."""
        spoken = speakable(self._outside_code(text))
        if not spoken:
            return ""
        if self._deferred is None and self._declared and (
                _FUNCTION_TALK.search(text) or described_functions(text, self._declared)):
            self._deferred = []
        if self._deferred is not None:
            self._deferred.append(spoken)
            return ""
        return spoken

    def end(self, called: bool) -> list[str]:
        """The deferred pieces to say at the reply's end: none when it made a call."""
        deferred, self._deferred = self._deferred or [], None
        return [] if called else deferred

    def _outside_code(self, text: str) -> str:
        """The part of `text` that is not code, given what earlier pieces opened."""
        kept: list[str] = []
        while text:
            if self._in_fence:
                closing = text.find(_FENCE)
                if closing < 0:
                    return " ".join(kept)
                self._in_fence, text = False, text[closing + len(_FENCE):]
                continue
            if self._json_depth > 0 or _JSON_OPENING.match(_TAG.sub("", text)):
                self._json_depth = max(0, self._json_depth + _bracket_balance(text))
                return " ".join(kept)
            opening = text.find(_FENCE)
            if opening < 0:
                kept.append(text)
                break
            kept.append(text[:opening])
            self._in_fence, text = True, text[opening + len(_FENCE):]
        return " ".join(kept)


def _bracket_balance(text: str) -> int:
    """Opened minus closed brackets outside JSON strings."""
    balance, in_string, escaped = 0, False, False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
            continue
        if character == '"':
            in_string = True
        elif character in "{[":
            balance += 1
        elif character in "}]":
            balance -= 1
    return balance


class SpokenPieces:
    """`SpeechChunker` then `SpokenText`: text deltas in, pieces to synthesise out."""

    def __init__(self, first_piece_chars: int, declared: Collection[str] = ()) -> None:
        self._chunker = SpeechChunker(first_piece_chars)
        self._spoken = SpokenText(declared)
        self._called = False

    def push(self, delta: str) -> list[str]:
        return [spoken for piece in self._chunker.push(delta) if (spoken := self._spoken.piece(piece))]

    def tool_called(self) -> None:
        self._called = True

    def flush(self) -> list[str]:
        pieces = [spoken for piece in self._chunker.flush() if (spoken := self._spoken.piece(piece))]
        return pieces + self._spoken.end(self._called)
