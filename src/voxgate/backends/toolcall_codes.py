"""Codes a request names in words: "EUR" for "5000 Euros", "NVDA" for "Nvidia", "OR" for "Oregon". Pure.

Tool arguments often take a code where people say a name: a currency (ISO 4217), a US state, a
country, a stock ticker, a unit ("km" for "kilometers"). Grounding (`toolcall_grounding`) looks for a call's values in
the conversation, so without this a right call made of codes reads as invented and is refused
(offline, over BFCL's 3,152 reference calls, right calls refused 205 -> 179 with these tables, most
of the 26 currency conversions; `bench/tool_grounding_recall.py`).

    code_named(value, words, text)   `value` is a code one of whose names `words` (the text's lower-case
                                     words) hold whole; "USD" also for a "$" in `text`
    place_words(words)               the words a named US city also names: its state ("California",
                                     "CA" for "San Francisco"), and the city for a nickname ("LA", "SF")
    currency_code_of(value)          the ISO 4217 code a currency name stands for ("JPY" for "Japanese
                                     Yen", "USD" for "us_dollars"), or None

A name is a tuple of words that must all be there ("canadian", "dollar"); plurals are written out.
The tables are short and exact on purpose: a rule that reads a code as an abbreviation of a word
("NVDA" of "Nvidia") also read "COOL" in "Coulombs", "BER" in "Berkeley" and "CAD" in "Card" (measured
on BFCL's request texts against the codes of its reference calls), and a made-up value read as
named is an invented call let through.
"""

from __future__ import annotations

import re

__all__ = ["CITY_NICKNAMES", "CITY_STATES", "UNITS", "US_STATES", "code_named", "currency_code_of", "place_words"]

_Names = tuple[tuple[str, ...], ...]
_LETTERS = re.compile(r"[a-z]+")
_DOLLARS: _Names = (("dollar",), ("dollars",))
CURRENCIES: dict[str, _Names] = {
    "usd": (*_DOLLARS, ("buck",), ("bucks",)),
    "eur": (("euro",), ("euros",)),
    "gbp": (("pound",), ("pounds",), ("sterling",), ("quid",)),
    "jpy": (("yen",),),
    "cny": (("yuan",), ("renminbi",), ("rmb",)),
    "inr": (("rupee",), ("rupees",)),
    "cad": (("canadian", "dollar"), ("canadian", "dollars")),
    "aud": (("australian", "dollar"), ("australian", "dollars")),
    "nzd": (("zealand", "dollar"), ("zealand", "dollars")),
    "hkd": (("hong", "kong", "dollar"), ("hong", "kong", "dollars")),
    "sgd": (("singapore", "dollar"), ("singapore", "dollars")),
    "chf": (("franc",), ("francs",)),
    "mxn": (("peso",), ("pesos",)),
    "rub": (("ruble",), ("rubles",), ("rouble",), ("roubles",)),
    "brl": (("reais",), ("brazilian",)),
    "krw": (("korean", "won"),),
    "sek": (("swedish",), ("krona",), ("kronor",)),
    "nok": (("norwegian",),),
    "dkk": (("danish",),),
    "zar": (("rand",),),
    "try": (("lira",), ("turkish",)),
    "pln": (("zloty",),),
    "thb": (("baht",),),
}
CURRENCY_QUALIFIERS: dict[str, frozenset[str]] = {
    code: frozenset(words.split()) for code, words in {
        "usd": "us u s united states american", "eur": "european", "gbp": "british uk great britain",
        "jpy": "japanese", "cny": "chinese", "inr": "indian", "chf": "swiss", "mxn": "mexican", "rub": "russian",
        "brl": "brazilian real", "krw": "south", "sek": "swedish", "nok": "norwegian krone kroner",
        "dkk": "danish krone kroner", "zar": "south african", "try": "turkish", "pln": "polish", "thb": "thai",
    }.items()
}
"""The other words a currency's name may carry ("Japanese Yen", "US Dollars"): any other word ("Zimbabwe
dollar", "Canadian") makes the name not that currency's."""
COUNTRIES: dict[str, _Names] = {
    "us": (("united", "states"), ("usa",), ("america",)),
    "usa": (("united", "states"), ("america",)),
    "gb": (("uk",), ("united", "kingdom"), ("britain",), ("england",)),
    "uk": (("united", "kingdom"), ("britain",), ("england",)),
}
_STATE_NAMES = (
    "AL alabama|AK alaska|AZ arizona|AR arkansas|CA california|CO colorado|CT connecticut|DE delaware|"
    "FL florida|GA georgia|HI hawaii|ID idaho|IL illinois|IN indiana|IA iowa|KS kansas|KY kentucky|"
    "LA louisiana|ME maine|MD maryland|MA massachusetts|MI michigan|MN minnesota|MS mississippi|"
    "MO missouri|MT montana|NE nebraska|NV nevada|NH new hampshire|NJ new jersey|NM new mexico|"
    "NY new york|NC north carolina|ND north dakota|OH ohio|OK oklahoma|OR oregon|PA pennsylvania|"
    "RI rhode island|SC south carolina|SD south dakota|TN tennessee|TX texas|UT utah|VT vermont|"
    "VA virginia|WA washington|WV west virginia|WI wisconsin|WY wyoming|DC district columbia"
)
US_STATES: dict[str, _Names] = {
    entry[:2].lower(): (tuple(entry[3:].split()),) for entry in _STATE_NAMES.split("|")
}
TICKERS: dict[str, _Names] = {
    "aapl": (("apple",),), "msft": (("microsoft",),), "goog": (("google",), ("alphabet",)),
    "googl": (("google",), ("alphabet",)), "amzn": (("amazon",),), "meta": (("facebook",),),
    "tsla": (("tesla",),), "nvda": (("nvidia",),), "nflx": (("netflix",),), "intc": (("intel",),),
    "orcl": (("oracle",),), "csco": (("cisco",),), "adbe": (("adobe",),), "crm": (("salesforce",),),
    "pypl": (("paypal",),), "dis": (("disney",),), "ko": (("coca", "cola"), ("coke",)),
    "pep": (("pepsi",), ("pepsico",)), "wmt": (("walmart",),), "jpm": (("jpmorgan",), ("jp", "morgan")),
    "bac": (("bank", "america"),), "nke": (("nike",),), "sbux": (("starbucks",),), "ba": (("boeing",),),
    "gm": (("general", "motors"),), "xom": (("exxon",), ("exxonmobil",)), "cvx": (("chevron",),),
    "pfe": (("pfizer",),), "jnj": (("johnson",),), "mcd": (("mcdonald",), ("mcdonalds",)),
    "baba": (("alibaba",),), "tsm": (("tsmc",),), "tm": (("toyota",),), "uber": (("uber",),),
}  # fmt: skip
_UNIT_NAMES = (
    "km kilometer kilometre|m meter metre|cm centimeter centimetre|mm millimeter millimetre|mi mile|ft foot feet|"
    "in inch inches|yd yard|kg kilogram kilo|g gram|mg milligram|lb pound|lbs pound|oz ounce|l liter litre|"
    "ml milliliter millilitre|gal gallon|c celsius centigrade|f fahrenheit|k kelvin"
)
UNITS: dict[str, _Names] = {
    entry.split()[0]: tuple((name,) for word in entry.split()[1:] for name in (word, f"{word}s"))
    for entry in _UNIT_NAMES.split("|")
}
"""Units by their symbols ("cm" for "centimeters", "mi" for "miles"): BFCL parallel_multiple_92, 98."""
_TABLES = (CURRENCIES, COUNTRIES, US_STATES, TICKERS, UNITS)
_CITIES = (  # state: cities, "/" before a city's nicknames ("los angeles/la/lax": LA and LAX name it too)
    "CA san francisco/sf/frisco,los angeles/la/lax,san diego/sd,san jose,sacramento,oakland,berkeley,fresno,"
    "long beach,palo alto|NY new york/nyc/big apple,brooklyn,manhattan,buffalo|IL chicago/chi town|"
    "TX houston,dallas,austin,san antonio,el paso|FL miami,orlando,tampa,jacksonville|WA seattle|MA boston|"
    "PA philadelphia/philly,pittsburgh|GA atlanta|AZ phoenix,tucson|CO denver|NV las vegas/vegas,reno|"
    "OR portland|MI detroit|MN minneapolis|TN nashville,memphis|LA new orleans|MO st louis,kansas city|"
    "OH columbus,cleveland,cincinnati|NC charlotte,raleigh|UT salt lake city|MD baltimore|IN indianapolis|"
    "WI milwaukee|HI honolulu|AK anchorage|DC washington dc"
)


def _city_tables() -> tuple[dict[tuple[str, ...], str], dict[tuple[str, ...], tuple[str, ...]]]:
    """From `_CITIES`: each city's and nickname's words -> its state's code (lower case), and each
    nickname's words -> its city's words."""
    states: dict[tuple[str, ...], str] = {}
    nicknames: dict[tuple[str, ...], tuple[str, ...]] = {}
    for entry in _CITIES.split("|"):
        for city in entry[3:].split(","):
            names = [tuple(name.split()) for name in city.split("/")]
            states.update({name: entry[:2].lower() for name in names})
            nicknames.update({name: names[0] for name in names[1:]})
    return states, nicknames


CITY_STATES, CITY_NICKNAMES = _city_tables()


def place_words(words: set[str]) -> set[str]:
    """What naming a US city also names, for `words` (a text's lower-case words): the city's own words
    for a nickname ("sf": "san", "francisco"), and its state's code and name ("ca", "california")."""
    found: set[str] = set()
    for name, state in CITY_STATES.items():
        if all(word in words for word in name):
            found.update(CITY_NICKNAMES.get(name, ()))
            found.add(state)
            found.update(US_STATES[state][0])
    return found


def code_named(value: str, words: set[str], text: str) -> bool:
    """Whether the code `value` is named in `text` (module docstring); `words`: its lower-case words."""
    key = value.strip().lower()
    if key == "usd" and "$" in text:
        return True
    return any(all(word in words for word in name) for table in _TABLES for name in table.get(key, ()))


def currency_code_of(value: str) -> str | None:
    """The upper-case ISO 4217 code of the currency `value` names (`CURRENCIES`, with the words of
    `CURRENCY_QUALIFIERS`), the longest name winning ("Canadian Dollars": CAD, not USD); None for a
    value that is already a code, holds a digit ("100 euros" is more than a currency), or is no such name."""
    if value.strip().lower() in CURRENCIES or any(char.isdigit() for char in value):
        return None
    words = _LETTERS.findall(value.lower())
    best: tuple[int, str] | None = None
    for code, names in CURRENCIES.items():
        for name in names:
            if all(word in words for word in name) and set(words) - set(name) <= CURRENCY_QUALIFIERS.get(code, set()):
                best = max(best or (len(name), code), (len(name), code))
    return best[1].upper() if best is not None else None
