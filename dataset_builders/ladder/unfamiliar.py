"""Checkable questions of kinds the bundled ladder's outcome set does not have.

They measure what the shipped predictor does on prompts unlike its training data: whether
`voxgate serve`'s fallback to the heuristic (for prompts under the predictor's similarity floor)
routes them better than the learned predictor would. Every row is TEST: nothing is trained on
them. The kinds: reversing a word, counting its letters, opposites, irregular plurals, mixing
colours, animal legs, words in French and Spanish, the value of a Python expression and the
next number of a sequence; each phrased in its own way, unlike the shipped questions'
"Answer with only the number." (`bench/ladder_fallback.py` reads the outcomes.)

    python -m dataset_builders.ladder.outcomes --question-set unfamiliar --out bench/data/ladder_unfamiliar.csv
"""

from __future__ import annotations

from collections.abc import Iterator

from dataset_builders.ladder.questions import Question

ONE_WORD = " Reply with just that one word."
JUST_NUMBER = " Reply with just the number."

REVERSE = ("garden", "pencil", "rocket", "window", "silver", "basket", "flower", "candle", "mirror", "orange")
LETTER_COUNT = ("butterfly", "elephant", "tree", "computer", "sky", "umbrella", "moon", "chocolate", "zebra", "island")
OPPOSITES = {
    "ancient": "modern|new|young", "hot": "cold", "empty": "full", "heavy": "light", "early": "late",
    "narrow": "wide|broad", "quiet": "loud|noisy", "rough": "smooth", "asleep": "awake", "cheap": "expensive|dear",
}  # fmt: skip
PLURALS = {
    "mouse": "mice", "child": "children", "tooth": "teeth", "foot": "feet", "goose": "geese",
    "woman": "women", "person": "people|persons", "cactus": "cacti|cactuses", "ox": "oxen",
    "fungus": "fungi|funguses",
}  # fmt: skip
COLOUR_MIXES = (("blue", "yellow", "green"), ("red", "yellow", "orange"), ("red", "blue", "purple|violet"),
                ("red", "white", "pink"), ("black", "white", "grey|gray"))  # fmt: skip
ANIMAL_LEGS = (("a spider", 8), ("an ant", 6), ("a horse", 4), ("a duck", 2), ("a crab", 10), ("a beetle", 6),
               ("a kangaroo", 2), ("a cat", 4))  # fmt: skip
TRANSLATIONS = (("French", "cat", "chat"), ("French", "dog", "chien"), ("French", "water", "eau"),
                ("French", "bread", "pain"), ("French", "house", "maison"), ("Spanish", "cat", "gato"),
                ("Spanish", "dog", "perro"), ("Spanish", "water", "agua"), ("Spanish", "book", "libro"),
                ("Spanish", "red", "rojo"))  # fmt: skip
PYTHON_VALUES = (("len('banana')", 6), ("7 // 2", 3), ("2 ** 5", 32), ("17 % 5", 2), ("max(4, 9, 2)", 9),
                 ("sum(range(5))", 10), ("int('42') + 1", 43), ("len('hello world')", 11), ("abs(-8)", 8),
                 ("round(2.7)", 3))  # fmt: skip
SEQUENCES = (((2, 4, 8, 16), 32), ((1, 4, 9, 16), 25), ((5, 10, 15, 20), 25), ((1, 1, 2, 3, 5, 8), 13),
             ((3, 7, 11, 15), 19), ((100, 90, 80), 70), ((1, 3, 6, 10), 15), ((2, 3, 5, 7, 11), 13))  # fmt: skip


def _words(qid: str, category: str, prompt: str, answers: str) -> Question:
    return Question(qid, category, prompt, "words", tuple(answers.split("|")), 16)


def _number(qid: str, category: str, prompt: str, answer: int) -> Question:
    return Question(qid, category, prompt, "number", (str(answer),), 24)


def _word_questions() -> Iterator[Question]:
    for word in REVERSE:
        yield _words(f"u-reverse-{word}", "u-reverse",
                     f"Spell the word '{word}' backwards.{ONE_WORD}", word[::-1])  # fmt: skip
    for word in LETTER_COUNT:
        yield _number(f"u-letters-{word}", "u-letters",
                      f"How many letters does the word '{word}' have?{JUST_NUMBER}", len(word))  # fmt: skip
    for word, answers in OPPOSITES.items():
        yield _words(f"u-opposite-{word}", "u-opposite", f"Give the opposite of the adjective '{word}'.{ONE_WORD}",
                     answers)  # fmt: skip
    for word, answers in PLURALS.items():
        yield _words(f"u-plural-{word}", "u-plural", f"What is the plural of the noun '{word}'?{ONE_WORD}", answers)
    for language, word, answer in TRANSLATIONS:
        yield _words(f"u-translate-{language}-{word}", "u-translate",
                     f"Translate the English word '{word}' into {language}.{ONE_WORD}", answer)  # fmt: skip


def unfamiliar_questions() -> list[Question]:
    """The fixed set: 81 questions in 9 kinds (no randomness)."""
    questions = list(_word_questions())
    for first, second, answers in COLOUR_MIXES:
        questions.append(_words(f"u-colour-{first}-{second}", "u-colour",
                                f"Mixing {first} paint with {second} paint gives which colour?{ONE_WORD}",
                                answers))  # fmt: skip
    for animal, legs in ANIMAL_LEGS:
        questions.append(_number(f"u-legs-{animal.split()[-1]}", "u-legs",
                                 f"How many legs does {animal} have?{JUST_NUMBER}", legs))  # fmt: skip
    for expression, value in PYTHON_VALUES:
        questions.append(_number(f"u-python-{len(questions):02d}", "u-python",
                                 f"In Python 3, what does the expression {expression} evaluate to?{JUST_NUMBER}",
                                 value))  # fmt: skip
    for terms, following in SEQUENCES:
        shown = ", ".join(str(t) for t in terms)
        questions.append(_number(f"u-sequence-{len(questions):02d}", "u-sequence",
                                 f"Which number comes next in the sequence {shown}, ...?{JUST_NUMBER}",
                                 following))  # fmt: skip
    return questions
