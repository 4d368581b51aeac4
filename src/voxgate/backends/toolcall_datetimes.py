"""Whether a date or a time of day a tool call gives is one the conversation says. Pure.

A date written in digits ("2023-04-03", "03/04/2023" read both ways) is said when its day and month are
("April 3rd", "the 3rd of April", "4/3"); the year is not needed, as a request often leaves it out. A
time of day ("23:00", "09:00:00") is said as "11PM", "11 p.m.", "11:00 pm", "5 in the afternoon",
"noon", or as the same digits. `toolcall_grounding` reads values through these.

    date_named(value, words, numbers, text)   a date in digits whose day and month the text names
    time_named(value, text)                   a time of day the text says
"""

from __future__ import annotations

import re

__all__ = ["date_named", "time_named"]

_ISO_DATE = re.compile(r"\d{4}-(?P<month>\d{2})-(?P<day>\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
_WRITTEN_DATE = re.compile(r"(?P<first>\d{1,2})[/.-](?P<second>\d{1,2})[/.-]\d{4}(?:[T ][\d:.]+)?$")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_TIME_VALUE = re.compile(r"(\d{1,2}):(\d{2})(?::00)?")
_TIME_AM_PM = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s?m\b")
_TIME_OF_DAY = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s+(?:o'?clock\s+)?in the (morning|afternoon|evening|night)")
_TIME_DIGITS = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?![\d])")
_NAMED_TIMES = {"noon": (12, 0), "midday": (12, 0), "midnight": (0, 0)}


def date_named(value: str, words: set[str], numbers: set[float], text: str) -> bool:
    """Whether `value` is a date in digits whose day and month `text` names (its `words` and `numbers`
    as `toolcall_grounding` reads them)."""
    return any(_day_named(month, day, words, numbers, text) for month, day in _date_readings(value))


def time_named(value: str, text: str) -> bool:
    """Whether `value`, a time of day ("23:00", "09:00:00"), is in `text`: as "11PM", "11 p.m.", "11:00 pm",
    "5 in the afternoon", "noon", or as the same digits ("23:00")."""
    time = _TIME_VALUE.fullmatch(value.strip())
    if time is None:
        return False
    wanted = (int(time.group(1)), int(time.group(2)))
    lowered = text.lower()
    said = {(int(h) % 12 + (12 if half == "p" else 0), int(m or 0)) for h, m, half in _TIME_AM_PM.findall(lowered)}
    for h, m, part in _TIME_OF_DAY.findall(lowered):
        said.add((int(h) % 12 + (0 if part == "morning" or (part == "night" and int(h) < 6) else 12), int(m or 0)))
    said.update((int(h), int(m)) for h, m in _TIME_DIGITS.findall(lowered))
    said.update(clock for word, clock in _NAMED_TIMES.items() if re.search(rf"\b{word}\b", lowered))
    return wanted in said


def _date_readings(value: str) -> list[tuple[int, int]]:
    """(month, day) for a date written in digits: ISO "2023-04-03" one way, "03/04/2023" both ways."""
    if (iso := _ISO_DATE.match(value)) is not None:
        return [(int(iso.group("month")), int(iso.group("day")))]
    if (written := _WRITTEN_DATE.match(value)) is not None:
        first, second = int(written.group("first")), int(written.group("second"))
        return [(second, first), (first, second)]
    return []


def _day_named(month: int, day: int, words: set[str], numbers: set[float], text: str) -> bool:
    """Whether the text names this day of this month: the day as a number ("3rd", "1") and the month
    by name ("April 3rd" for 2023-04-03), or both as digits ("4/3", "03.04"); the year is not needed
    (a request often leaves it out)."""
    if not 1 <= month <= 12 or float(day) not in numbers:
        return False
    name = _MONTHS[month - 1]
    if name in words or name[:3] in words or (name == "september" and "sept" in words):
        return True
    pair = rf"(?<!\d)0?{month}[/.-]0?{day}(?!\d)|(?<!\d)0?{day}[/.-]0?{month}(?!\d)"
    return re.search(pair, text) is not None
