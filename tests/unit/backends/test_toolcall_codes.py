"""code_named: a code counts as named only by one of its names, every word of it, in the text."""

from __future__ import annotations

import re

import pytest

from voxgate.backends.toolcall_codes import CURRENCIES, US_STATES, code_named


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


@pytest.mark.parametrize(("code", "text"), [
    ("EUR", "5000 Euros"), ("eur", "one euro"), ("USD", "in US dollars"), ("USD", "costs $59.99"),
    ("GBP", "British pounds"), ("JPY", "Japanese yen"), ("CAD", "Canadian dollars"), ("NY", "in New York"),
    ("DC", "Washington, District of Columbia"), ("GB", "London, UK"), ("US", "the United States"),
    ("MSFT", "Microsoft and Google"), ("GOOGL", "Microsoft and Google"), ("KO", "Coca-Cola shares"),
    ("cm", "How tall is the vase in centimeters?"), ("km", "15 kilometers"), ("mi", "into miles"),
    ("lbs", "weighs 200 pounds"), ("C", "degrees Celsius"),
])  # fmt: skip
def test_a_code_is_named_by_any_of_its_names(code: str, text: str) -> None:
    assert code_named(code, _words(text), text)


@pytest.mark.parametrize(("code", "text"), [
    ("CAD", "50 dollars"),  # a dollar is not Canadian unless the text says so
    ("NY", "New Jersey"),  # "new" alone is not New York
    ("NVDA", "Nevada's weather"), ("COOL", "a charge of 2 Coulombs"), ("BER", "near Berkeley"),
    ("GB", "Great weather"), ("XYZ", "XYZ123"), ("", "anything"), ("EUR", "European history"),
    ("km", "15 miles"), ("cm", "in meters"),  # a unit is named by its own name, not another length's
])  # fmt: skip
def test_a_code_is_not_named_by_a_word_that_only_looks_like_it(code: str, text: str) -> None:
    assert not code_named(code, _words(text), text)


def test_every_state_has_one_name_and_every_currency_a_name_of_whole_words() -> None:
    assert len(US_STATES) == 51
    assert all(len(names) == 1 and names[0] for names in US_STATES.values())
    assert all(all(word == word.lower() and word.isalpha() for name in names for word in name)
               for names in CURRENCIES.values())
