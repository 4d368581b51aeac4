"""Sentence chunking for streaming speech: LLM text deltas in, complete sentences out. Pure.

    chunker = SentenceChunker()
    for delta in deltas:
        for sentence in chunker.push(delta):
            speak(sentence)
    for sentence in chunker.flush():      # end of the reply: whatever is left
        speak(sentence)

A sentence ends at `.`, `!`, `?` or `…` (closing quotes and brackets may follow) when whitespace
comes next, and at a line break. Because the character after the mark decides, "3." waits to
see whether "14" follows, so decimals, "e.g.x" and URLs never split. A period does not end a
sentence after a known abbreviation ("Dr.", "e.g.") or a single capital initial ("J. Smith"), and
a piece without a letter ("1." of a numbered list) joins the next one. A run of
`max_chars` with no end is cut after its last comma, semicolon or colon, or else its last space,
so speech never waits on an endless sentence.

`SpeechChunker` is what a voice reply uses: the same cuts, but the first piece is short (audio
starts after a few words instead of a sentence) and each later piece may be at most `growth`
times as long as everything handed out before it, up to a full sentence. Piper synthesises at
0.15-0.3 of real time here, so the next piece is ready before the audio queued ahead runs out.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "no", "fig", "approx",
        "e.g", "i.e", "cf", "al", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun",
        "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "a.m", "p.m",
    }
)  # fmt: skip
_CLOSERS = "\"')]*\u201d\u2019"  # quotes, brackets and markdown emphasis that may follow the final mark
_TERMINATOR = re.compile(rf"(?:[.!?…]+[{re.escape(_CLOSERS)}]*(?=\s)|\n+)")
_WORD_BEFORE = re.compile(r"([\w.]+)\.$")
_HAS_WORD = re.compile(r"\w")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_SOFT_BREAK = re.compile(r"[,;:](?=\s)")
_WORD_EDGE = re.compile(r"\b")
MIN_PIECE_CHARS = 10  # two or three words


class SentenceChunker:
    """Buffers text deltas and hands out complete sentences, stripped, in order."""

    def __init__(self, max_chars: int = 250) -> None:
        if max_chars < MIN_PIECE_CHARS:
            raise ValueError(f"max_chars must be at least {MIN_PIECE_CHARS}, got {max_chars}")
        self._max_chars = max_chars
        self._buffer = ""

    def push(self, delta: str) -> list[str]:
        """Add a text delta; return the sentences it completes."""
        self._buffer += delta
        sentences: list[str] = []
        search_from = 0
        while match := _TERMINATOR.search(self._buffer, search_from):
            end = match.end()
            sentence = self._buffer[:end].strip()
            line_break = match.group().startswith("\n")
            if _HAS_LETTER.search(sentence) and (line_break or _ends_sentence(sentence)):
                pieces, rest = _cut_overlong(sentence, self._max_chars)
                sentences += [*pieces, rest] if rest else pieces
                self._buffer = self._buffer[end:].lstrip()
                search_from = 0
            else:
                search_from = end
        complete, self._buffer = _cut_overlong(self._buffer, self._max_chars)
        return sentences + complete

    @property
    def pending(self) -> str:
        """Text pushed but not handed out yet, as received (hand it to another chunker to switch)."""
        return self._buffer

    def flush(self) -> list[str]:
        """End of stream: return what is left, if it holds any word."""
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if _HAS_WORD.search(rest) else []


def _cut_overlong(text: str, max_chars: int) -> tuple[list[str], str]:
    """Cut pieces of at most `max_chars` off the front of `text` while it is longer, each after the
    last comma, semicolon or colon of its window, or else its last space, or else its last word's
    edge (only a word longer than the window is cut inside, at `max_chars`); return them and the
    rest (at most `max_chars`, trailing whitespace kept: it may be a buffer still being written)."""
    pieces: list[str] = []
    while len(text) > max_chars:
        window = text[:max_chars]
        soft = [m.end() for m in _SOFT_BREAK.finditer(window)]
        cut = soft[-1] if soft else window.rfind(" ")
        if cut <= 0:
            edges = [m.start() for m in _WORD_EDGE.finditer(text, 1, max_chars + 1) if m.start() <= max_chars]
            cut = edges[-1] if edges else max_chars
        piece, text = text[:cut].strip(), text[cut:].lstrip()
        if piece:
            pieces.append(piece)
    return pieces, text


def _ends_sentence(sentence: str) -> bool:
    """False when the sentence's final period belongs to an abbreviation or an initial."""
    if not sentence.endswith("."):
        return True
    match = _WORD_BEFORE.search(sentence)
    if match is None:
        return True
    word = match.group(1).lower().rstrip(".")
    if word in _ABBREVIATIONS:
        return False
    return not (len(word) == 1 and word.isalpha() and match.group(1).isupper())


class SpeechChunker:
    """Pieces of a reply to synthesise: a short first one, then growing to whole sentences."""

    def __init__(self, first_chars: int = 24, max_chars: int = 250, growth: float = 3.0) -> None:
        if not MIN_PIECE_CHARS <= first_chars <= max_chars or growth < 1.0:
            raise ValueError(f"need {MIN_PIECE_CHARS} <= first_chars <= max_chars and growth >= 1")
        self._first_chars = first_chars
        self._max_chars = max_chars
        self._growth = growth
        self._chunker = SentenceChunker(first_chars)
        self._handed_out_chars = 0

    def push(self, delta: str) -> list[str]:
        """Add a text delta; return the pieces it completes.

        Fed one character at a time, so a long delta is cut exactly as the same text streamed."""
        pieces: list[str] = []
        for character in delta:
            if new := self._chunker.push(character):
                pieces += new
                self._handed_out_chars += sum(len(piece) for piece in new)
                limit = min(self._max_chars, max(self._first_chars, int(self._growth * self._handed_out_chars)))
                pending, self._chunker = self._chunker.pending, SentenceChunker(limit)
                pieces += self._chunker.push(pending)  # a larger limit completes nothing new
        return pieces

    @property
    def pending(self) -> str:
        return self._chunker.pending

    def flush(self) -> list[str]:
        return self._chunker.flush()
