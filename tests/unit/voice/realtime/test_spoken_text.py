"""What of a reply is read aloud (`spoken_text`): marks, code and JSON are not; a call described in
words before it is made is not; everything else is, in order."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from tests.unit.voice.realtime.realtime_harness import running_session
from voxgate.voice.engines.testing import ToneTTS
from voxgate.voice.realtime.reply import ReplyEvent, ReplyFinished, ReplyRequest, ReplyRouted, ReplyText, ReplyToolCall
from voxgate.voice.realtime.sentences import SpeechChunker
from voxgate.voice.realtime.spoken_text import SpokenPieces, SpokenText, speakable

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(("text", "spoken"), [
    ("**Oslo** is sunny.", "Oslo is sunny."),
    ("# Weather", "Weather"),
    ("## Step 2: add it", "Step 2: add it"),
    ("- a bullet", "a bullet"),
    ("* another bullet", "another bullet"),
    ("> quoted", "quoted"),
    ("*italic*, _emphasis_ and ~~struck~~", "italic, emphasis and struck"),
    ("Use `get_weather` or __init__", "Use get_weather or init"),
    ("See [the docs](https://example.com/a).", "See the docs."),
    ("![a chart](chart.png) shows it", "a chart shows it"),
    ("17 * 23 = 391", "17 times 23 = 391"),
    ("2 ** 10 is 1024; x^2 grows.", "2 to the power of 10 is 1024; x to the power of 2 grows."),
    ("The answer is **391**, not **4** * 2.", "The answer is 391, not 4 times 2."),
    ("3\u00d74 is 12", "3 times 4 is 12"),
    ("Nice day 😀 ☀️", "Nice day"),
    ("| city | temp |", "city , temp"),
    ("|---|:---:|", ""),
    ("<tool_call>", ""),
    ("</tool_response> Done.", "Done."),
    ("-5 degrees, 21°C and get_weather_v2", "-5 degrees, 21°C and get_weather_v2"),
    ("It is 4 p.m. in Oslo, isn't it?", "It is 4 p.m. in Oslo, isn't it?"),
    ("***", ""),
    (r"\[ \text{F} = \left(\text{C} \times \frac{9}{5}\right) + 32 \]", "F = (C times 9 over 5) + 32"),
    (r"about \(20^\circ\) and \(\sqrt{16} \approx 4\)", "about 20 degrees and the square root of 16 approximately 4"),
    (r"saved in C:\Users\me", r"saved in C:\Users\me"),
])
def test_speakable_drops_the_marks_and_keeps_the_words(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


def _spoken(text: str, declared: frozenset[str] = frozenset(), *, called: bool = False,
            by_character: bool = True) -> list[str]:
    pieces = SpokenPieces(12, declared)
    out: list[str] = []
    for delta in (list(text) if by_character else [text]):
        out += pieces.push(delta)
    if called:
        pieces.tool_called()
    return out + pieces.flush()


def test_plain_prose_is_spoken_exactly_as_the_chunker_cuts_it() -> None:
    text = "Hello there. It is sunny in Oslo today, about 21 degrees. Enjoy it!"
    chunker = SpeechChunker(12)
    expected = [piece for character in text for piece in chunker.push(character)] + chunker.flush()
    assert _spoken(text) == expected
    assert _spoken(text, frozenset({"get_weather"}), called=True) == expected


def test_code_fences_and_json_are_not_read() -> None:
    text = ("Here is the code:\n```python\nprint('a. b')\nx = {1: 2}\n```\nIt prints a line.\n"
            '{"name": "get_weather",\n "arguments": {"city": "Paris", "note": "a } in a string"}}\n'
            "That was the call.")
    assert _spoken(text) == ["Here is the", "code:", "It prints a line.", "That was the call."]


def test_a_call_cut_short_as_json_silences_the_rest_of_the_reply() -> None:
    text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2,\n3, 4'
    assert _spoken(text) == []


def test_a_list_of_json_strings_is_code_but_a_markdown_link_is_not() -> None:
    spoken = SpokenText()
    assert spoken.piece('["a", "b"]') == ""
    assert spoken.piece("[Oslo](https://x.y) is cold.") == "Oslo is cold."


def test_words_describing_a_call_that_is_made_are_not_spoken() -> None:
    text = ("To answer this question, I would need to call the `get_weather` function with the "
            'parameters city="Oslo". Let me do that.')
    spoken = _spoken(text, frozenset({"get_weather"}), called=True)
    assert spoken == ["To answer", "this question,"]  # said before the function was named
    assert not any("get_weather" in piece or "Let me" in piece for piece in spoken)


def test_words_naming_a_function_without_a_call_are_spoken_at_the_end() -> None:
    text = "I can call get_weather for you. Which city?"
    assert _spoken(text, frozenset({"get_weather"})) == _spoken(text) == [
        "I can call", "get_weather for you.", "Which city?"]
    pieces = SpokenPieces(12, frozenset({"get_weather"}))
    assert [p for character in text for p in pieces.push(character)] == ["I can call"]  # the rest waits
    assert pieces.flush() == ["get_weather for you.", "Which city?"]


def test_words_speaking_of_a_function_before_a_call_are_not_spoken() -> None:
    text = "To convert 50 GBP to JPY, you can use the following function call:\n"
    assert _spoken(text, frozenset({"convert_currency"}), called=True) == ["To convert", "50 GBP to JPY,"]
    assert _spoken(text, frozenset({"convert_currency"})) == _spoken(text)  # no call: all of it, at the end


def test_a_plain_word_function_is_a_call_only_in_backticks_or_before_a_parenthesis() -> None:
    declared = frozenset({"search"})
    assert _spoken("I will search the web for it.", declared, called=True) == ["I will", "search the web", "for it."]
    assert _spoken("I will use search(query) now.", declared, called=True) == ["I will use"]


def test_the_function_names_a_reply_may_call() -> None:
    def request(tool_choice: object) -> ReplyRequest:
        return ReplyRequest(messages=[], tools=TOOLS, tool_choice=tool_choice, max_tokens=None,
                            temperature=None, session_id="s")

    assert request("auto").callable_names() == {"get_weather"}
    assert request(None).callable_names() == {"get_weather"}
    assert request("none").callable_names() == frozenset()
    malformed = ReplyRequest([], [{"type": "function"}, {"function": "junk"}], "auto", None, None, "s")
    assert malformed.callable_names() == frozenset()


class _WordsThenCall:
    """A reply source whose one reply is `text`, then (when `call`) a call to get_weather."""

    def __init__(self, text: str, *, call: bool) -> None:
        self._text, self._call = text, call

    async def stream_reply(self, request: ReplyRequest) -> AsyncGenerator[ReplyEvent, None]:
        yield ReplyRouted(decision_id="dec-1", model="scripted")
        for start in range(0, len(self._text), 5):
            yield ReplyText(self._text[start : start + 5])
        if self._call:
            yield ReplyToolCall(0, "call_1", "get_weather", '{"city": "Oslo"}')
        yield ReplyFinished("scripted", prompt_tokens=10, completion_tokens=20)


async def _voice_reply(text: str, *, call: bool) -> tuple[list[str], list[dict[str, object]]]:
    """What the voice said and the response's output items, for a text turn offered get_weather."""
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    async with running_session(_WordsThenCall(text, call=call)) as (session, transport):
        transport.push({"type": "session.update", "session": {"tools": tools, "tool_choice": "auto"}})
        transport.push({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Oslo?"}]}})
        transport.push({"type": "response.create"})
        done = await transport.wait_for("response.done")
        tts = session.engines.tts
        assert isinstance(tts, ToneTTS)
        return tts.spoken, done["response"]["output"]


async def test_a_voice_reply_does_not_read_a_described_call_or_markdown_aloud() -> None:
    text = "**Sure.** I would call the `get_weather` function with city set to Oslo."
    spoken, output = await _voice_reply(text, call=True)
    assert spoken == ["Sure.", "I would call the"]  # the pieces cut before the function was named
    assert output[0]["content"][0]["transcript"] == text  # type: ignore[index]  # the model's words
    assert (output[1]["type"], output[1]["name"]) == ("function_call", "get_weather")


async def test_a_voice_reply_naming_a_function_without_calling_it_is_read_whole() -> None:
    text = "**Sure.** I would call get_weather, but which city?"
    spoken, output = await _voice_reply(text, call=False)
    assert spoken == ["Sure.", "I would call get_weather,", "but which city?"]
    assert [item["type"] for item in output] == ["message"]
