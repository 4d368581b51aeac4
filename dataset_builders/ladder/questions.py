"""Generated questions with known answers for the bundled-ladder outcome set.

Every question is a `Question`: a stable `id`, a `category` (e.g. `arith-3`, `fact-capital`),
the exact user message sent to the models (`prompt`, which asks for a short answer) and how to
grade the reply (`grader` names a function in `grading`, `expected` its answer key).

`generated_questions(seed)` makes arithmetic at five levels (one-digit addition up to
multi-step word problems) and fact questions from the small tables below (capitals, chemical
symbols, planets, unit conversions, weekday and month arithmetic). Same seed, same questions.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

NUMBER_SUFFIX = " Answer with only the number."
EXTRA_LEVELS = (1, 2, 3)  # the levels where the three bundled models answer differently
NAME_SUFFIX = " Answer with only the name."


@dataclass(frozen=True)
class Question:
    """One checkable question; `expected` is the grader's answer key (a number or accepted words)."""

    id: str
    category: str
    prompt: str
    grader: str  # "number" | "words" | "humaneval" | "regex"
    expected: tuple[str, ...]
    max_tokens: int = 32


CAPITALS = {
    "France": "Paris", "Germany": "Berlin", "Italy": "Rome", "Spain": "Madrid", "Portugal": "Lisbon",
    "Japan": "Tokyo", "China": "Beijing", "India": "New Delhi", "Russia": "Moscow", "Canada": "Ottawa",
    "Australia": "Canberra", "Brazil": "Brasilia", "Argentina": "Buenos Aires", "Egypt": "Cairo",
    "Kenya": "Nairobi", "Norway": "Oslo", "Sweden": "Stockholm", "Finland": "Helsinki", "Poland": "Warsaw",
    "Greece": "Athens", "Turkey": "Ankara", "Mexico": "Mexico City", "Peru": "Lima", "Chile": "Santiago",
    "Ireland": "Dublin", "Austria": "Vienna", "Hungary": "Budapest", "Thailand": "Bangkok",
    "Vietnam": "Hanoi", "South Korea": "Seoul", "Indonesia": "Jakarta", "Nigeria": "Abuja",
    "Morocco": "Rabat", "Switzerland": "Bern", "Netherlands": "Amsterdam", "Belgium": "Brussels",
    "Denmark": "Copenhagen", "Czech Republic": "Prague", "Colombia": "Bogota", "New Zealand": "Wellington",
    "Pakistan": "Islamabad", "Iran": "Tehran", "Cuba": "Havana", "Ukraine": "Kyiv|Kiev", "Romania": "Bucharest",
}  # fmt: skip
ELEMENTS = {
    "hydrogen": "H", "helium": "He", "carbon": "C", "nitrogen": "N", "oxygen": "O", "sodium": "Na",
    "magnesium": "Mg", "aluminium|aluminum": "Al", "silicon": "Si", "phosphorus": "P", "sulfur|sulphur": "S",
    "chlorine": "Cl", "potassium": "K", "calcium": "Ca", "iron": "Fe", "copper": "Cu", "zinc": "Zn",
    "silver": "Ag", "gold": "Au", "tin": "Sn", "lead": "Pb", "mercury": "Hg", "neon": "Ne",
    "argon": "Ar", "uranium": "U", "nickel": "Ni", "iodine": "I", "fluorine": "F", "lithium": "Li",
    "tungsten": "W", "platinum": "Pt", "cobalt": "Co",
}  # fmt: skip
PLANETS = ("Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune")
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
# (from unit, to unit, factor): 1 from-unit = factor to-units
CONVERSIONS = (
    ("kilometres", "metres", 1000), ("metres", "centimetres", 100), ("hours", "minutes", 60),
    ("minutes", "seconds", 60), ("days", "hours", 24), ("weeks", "days", 7), ("feet", "inches", 12),
    ("yards", "feet", 3), ("kilograms", "grams", 1000), ("litres", "millilitres", 1000),
    ("dozens", "items", 12), ("years", "months", 12),
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")  # fmt: skip
MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _number(qid: str, category: str, text: str, answer: int, max_tokens: int = 24) -> Question:
    return Question(qid, category, text + NUMBER_SUFFIX, "number", (str(answer),), max_tokens)


def _words(qid: str, category: str, text: str, answers: str) -> Question:
    """`answers`: accepted answers separated by `|` (e.g. "Kyiv|Kiev")."""
    return Question(qid, category, text, "words", tuple(answers.split("|")), 16)


def arithmetic_level(level: int, index: int, rng: random.Random) -> Question:
    """One arithmetic question at `level` 1 (one-digit sums) .. 4 (mixed operations)."""
    qid, category = f"arith{level}-{index:03d}", f"arith-{level}"
    if level == 1:
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        return _number(qid, category, f"What is {a} + {b}?", a + b)
    if level == 2:
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        if rng.random() < 0.5:
            return _number(qid, category, f"What is {a} + {b}?", a + b)
        a, b = max(a, b), min(a, b)
        return _number(qid, category, f"What is {a} - {b}?", a - b)
    if level == 3:
        a, b = rng.randint(12, 99), rng.randint(3, 19)
        if rng.random() < 0.5:
            return _number(qid, category, f"What is {a} * {b}?", a * b)
        return _number(qid, category, f"What is {a * b} divided by {b}?", a)
    a, b, c, d = rng.randint(11, 49), rng.randint(11, 49), rng.randint(3, 12), rng.randint(2, 99)
    if rng.random() < 0.5:
        return _number(qid, category, f"What is ({a} + {b}) * {c} - {d}?", (a + b) * c - d)
    return _number(qid, category, f"What is {a} * {c} + {b} * {d}?", a * c + b * d)


_WordProblem = Callable[[random.Random], tuple[str, int]]


def _shop(rng: random.Random) -> tuple[str, int]:
    n, price, paid = rng.randint(3, 9), rng.randint(2, 9), 100
    return (f"Sam buys {n} notebooks at {price} dollars each and pays with a {paid} dollar bill. "
            "How many dollars of change does he get?", paid - n * price)  # fmt: skip


def _train(rng: random.Random) -> tuple[str, int]:
    speed, hours, extra = rng.randint(40, 90), rng.randint(2, 5), rng.randint(10, 60)
    return (f"A train travels at {speed} km per hour for {hours} hours, then {extra} km more. "
            "How many km does it travel in total?", speed * hours + extra)  # fmt: skip


def _boxes(rng: random.Random) -> tuple[str, int]:
    boxes, per_box, eaten = rng.randint(3, 8), rng.randint(6, 12), rng.randint(2, 9)
    return (f"There are {boxes} boxes with {per_box} apples in each. {eaten} apples are eaten. "
            "How many apples are left?", boxes * per_box - eaten)  # fmt: skip


def _savings(rng: random.Random) -> tuple[str, int]:
    start, weekly, weeks, spent = rng.randint(10, 50), rng.randint(5, 15), rng.randint(3, 8), rng.randint(5, 20)
    return (f"Mia has {start} dollars. She saves {weekly} dollars every week for {weeks} weeks, then spends "
            f"{spent} dollars. How many dollars does she have now?", start + weekly * weeks - spent)  # fmt: skip


def _ages(rng: random.Random) -> tuple[str, int]:
    age, gap, years = rng.randint(5, 15), rng.randint(20, 35), rng.randint(3, 12)
    return (f"Tom is {age} years old and his mother is {gap} years older. "
            f"How old will his mother be in {years} years?", age + gap + years)  # fmt: skip


WORD_PROBLEMS: tuple[_WordProblem, ...] = (_shop, _train, _boxes, _savings, _ages)


def word_problem(index: int, rng: random.Random) -> Question:
    """A multi-step word problem (arithmetic level 5)."""
    text, answer = WORD_PROBLEMS[index % len(WORD_PROBLEMS)](rng)
    return _number(f"arith5-{index:03d}", "arith-5", text, answer, max_tokens=48)


def fact_questions(rng: random.Random) -> Iterator[Question]:
    """Capitals, chemical symbols, planets, unit conversions, weekday and month arithmetic."""
    for country, capital in CAPITALS.items():
        text = f"What is the capital of {country}?{NAME_SUFFIX}"
        yield _words(f"capital-{country.replace(' ', '_')}", "fact-capital", text, capital)
    for names, symbol in ELEMENTS.items():
        element = names.split("|")[0]
        if rng.random() < 0.5:
            text = f"What is the chemical symbol of {element}? Answer with only the symbol."
            yield Question(f"symbol-{element}", "fact-element", text, "symbol", (symbol,), 8)
        else:
            yield _words(f"element-{symbol}", "fact-element",
                         f"Which chemical element has the symbol {symbol}?{NAME_SUFFIX}", names)  # fmt: skip
    for position, planet in enumerate(PLANETS):
        yield _words(f"planet-{position}", "fact-planet",
                     f"Which planet is the {ORDINALS[position]} from the Sun?{NAME_SUFFIX}", planet)  # fmt: skip
    yield from _conversion_questions(rng)
    yield from _calendar_questions(rng)


def _conversion_questions(rng: random.Random) -> Iterator[Question]:
    for source, target, factor in CONVERSIONS:
        amount = rng.randint(2, 15)
        yield _number(f"convert-{source}-{target}", "fact-units",
                      f"How many {target} are in {amount} {source}?", amount * factor)  # fmt: skip


def _calendar_questions(rng: random.Random) -> Iterator[Question]:
    for index in range(12):
        start, shift = rng.randrange(7), rng.randint(2, 20)
        yield _words(f"weekday-{index:02d}", "fact-calendar",
                     f"What day of the week is it {shift} days after a {WEEKDAYS[start]}? Answer with only the day.",
                     WEEKDAYS[(start + shift) % 7])  # fmt: skip
    for index in range(12):
        start, shift = rng.randrange(12), rng.randint(2, 11)
        yield _words(f"month-{index:02d}", "fact-calendar",
                     f"Which month comes {shift} months after {MONTHS[start]}? Answer with only the month.",
                     MONTHS[(start + shift) % 12])  # fmt: skip
    for month, days in zip(MONTHS, MONTH_DAYS, strict=True):
        yield _number(f"monthdays-{month}", "fact-calendar", f"How many days are in {month} in a non-leap year?", days)


def _distinct(make: Callable[[int], Question], count: int, attempts: int = 20) -> list[Question]:
    """`count` questions from `make(index)` with distinct prompts (fewer if the space is too small)."""
    questions: list[Question] = []
    seen: set[str] = set()
    for _ in range(count * attempts):
        if len(questions) == count:
            break
        question = make(len(questions))
        if question.prompt not in seen:
            seen.add(question.prompt)
            questions.append(question)
    return questions


def extra_arithmetic(per_level: int, seed: int = 0) -> list[Question]:
    """`per_level` more questions at each of `EXTRA_LEVELS` (ids `arith{level}b-NNN`), each level
    from a random stream of its own, so adding them changes no earlier question (nor its cached
    replies). A prompt that an earlier question already asks is dropped by `generated_questions`."""
    questions: list[Question] = []
    for level in EXTRA_LEVELS:
        rng = random.Random(f"{seed}:extra:{level}")

        def make(index: int, level: int = level, rng: random.Random = rng) -> Question:
            question = arithmetic_level(level, index, rng)
            return dataclasses.replace(question, id=f"arith{level}b-{index:03d}")

        questions += _distinct(make, per_level)
    return questions


def generated_questions(per_level: int, seed: int = 0, extra_per_level: int = 0) -> list[Question]:
    """`per_level` distinct arithmetic questions at each of five levels, then every fact question,
    then `extra_per_level` more at the levels where the bundled models differ."""
    rng = random.Random(seed)
    questions: list[Question] = []
    for level in range(1, 5):
        questions += _distinct(partial(arithmetic_level, level, rng=rng), per_level)
    questions += _distinct(partial(word_problem, rng=rng), per_level)
    questions += list(fact_questions(rng))
    questions += extra_arithmetic(extra_per_level, seed)
    first_by_prompt = {q.prompt: q for q in reversed(questions)}
    return [q for q in questions if first_by_prompt[q.prompt] is q]
