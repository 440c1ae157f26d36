"""Spoken amounts: figures in digits, words or both, with their value, kind and what they price.

In: an utterance text, typed or as speech recognition writes it. Out: `Amount`s with the
character offsets of the words in the original text (evidence spans point at what was said),
a value, a kind and a target.

Kinds: `currency` (money: "$899", "nine grand", "eighteen five"), `per_period` (money or a
figure per period or unit: "twelve fifty a month", "$30 per seat"), `percentage` ("fifteen
percent"), `duration` ("eighteen months"), `year` ("nineteen ninety", "2019") and `count`
(any other figure: "two hundred seats", "four bedrooms").

Target, for the classifier: `offer` when the words around the figure price the thing being
sold ("it's", "all in", "installed", "per month", "off", "budget"), `other` when they tie it
to something else (a bill, rent, what was spent on repairs, a percentage of improvement,
time or effort), `unclear` otherwise. It is a cue, not a verdict: the classifier weighs it
with everything else.

Why not a library: measured on ASR-style forms (docs/behaviour-model.md), `text2num`'s
alpha2digit parses standard cardinals right ("forty two hundred" -> 4200) but leaves the
compressed price forms as two numbers ("eighteen five" -> "18 5", "two ninety-nine" ->
"2 99"), gives no offsets and fails on "a hundred and twelve thousand"; `numerizer` adds the
compressed parts up ("eighteen five" -> 23, "two ninety nine" -> 300). Neither knows kinds.
Compressed forms read as people say prices: "A B" with B two-digit is A hundred B ("eight
ninety-nine" = 899, "twelve fifty" = 1,250; the dollars-and-cents reading is `alternative`),
"A B" with A 10-99 and B one digit is A thousand B hundred ("eighteen five" = 18,500), and
"nineteen/twenty B" with no money word around is a year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CURRENCY, PER_PERIOD, PERCENTAGE, DURATION, YEAR, COUNT = (
    "currency",
    "per_period",
    "percentage",
    "duration",
    "year",
    "count",
)
KINDS = (CURRENCY, PER_PERIOD, PERCENTAGE, DURATION, YEAR, COUNT)
MONEY_KINDS = (CURRENCY, PER_PERIOD, PERCENTAGE)
OFFER, OTHER, UNCLEAR = "offer", "other", "unclear"
TARGETS = (OFFER, OTHER, UNCLEAR)


@dataclass(frozen=True, slots=True)
class Amount:
    """One figure: `text[start:end]` are its words (units such as "a month" included)."""

    start: int
    end: int
    value: float
    kind: str
    target: str
    unit: str | None = None
    alternative: float | None = None  # the other reading of a compressed form (12.50)


_UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "eightteen": 18,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "fourty": 40, "ninty": 90, "nintey": 90, "fitty": 50,
    "thirthy": 30,
}  # fmt: skip
# Homophones ASR writes for a digit, accepted only right after a tens word ("twenty fore").
_HOMOPHONES = {"fore": 4, "too": 2, "won": 1, "ate": 8}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_SUFFIX = {"k": 1_000, "m": 1_000_000}

_CURRENCY_WORDS = frozenset(
    [
        "dollar",
        "dollars",
        "buck",
        "bucks",
        "cent",
        "cents",
        "grand",
        "quid",
        "euro",
        "euros",
        "pound",
        "pounds",
        "usd",
    ]
)
_PERCENT_WORDS = frozenset(["percent", "%", "pct"])
_PERIODS = frozenset(
    [
        "second",
        "seconds",
        "minute",
        "minutes",
        "min",
        "mins",
        "hour",
        "hours",
        "hr",
        "hrs",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "mo",
        "year",
        "years",
        "yr",
        "yrs",
        "quarter",
        "quarters",
        "night",
        "nights",
    ]
)
_RATE_UNITS = _PERIODS | frozenset(
    [
        "seat",
        "user",
        "users",
        "head",
        "license",
        "licence",
        "mailbox",
        "device",
        "endpoint",
        "employee",
        "page",
        "copy",
        "mile",
        "load",
        "pallet",
        "visit",
        "location",
        "site",
        "foot",
        "ft",
        "unit",
        "person",
        "shift",
        "lead",
        "line",
        "truck",
        "room",
        "clean",
        "service",
        "session",
        "hire",
        "box",
        "case",
        "gallon",
        "ton",
        "lb",
        "piece",
        "square",
        "door",
        "window",
        "job",
        "kit",
        "server",
        "workstation",
        "laptop",
        "computer",
        "phone",
        "camera",
        "ticket",
        "panel",
        "student",
        "lesson",
        "class",
    ]
)
_RATE_WORDS = frozenset(["a", "an", "per", "each", "every", "/"])
_PERIODIC = frozenset(["monthly", "annually", "yearly", "weekly", "hourly", "nightly", "quarterly"])
# Words before a bare figure that make it money ("paid forty two hundred", "budget of 5,000").
_MONEY_BEFORE = frozenset(
    [
        "pay",
        "paying",
        "paid",
        "pays",
        "cost",
        "costs",
        "costing",
        "charge",
        "charged",
        "charges",
        "spend",
        "spent",
        "spending",
        "price",
        "priced",
        "quote",
        "quoted",
        "budget",
        "owe",
        "owed",
        "save",
        "saving",
        "savings",
        "invest",
        "investment",
        "runs",
        "run",
        "afford",
        "deposit",
        "fee",
        "fees",
        "total",
    ]
)
_PRICE_LEAD = frozenset(
    [
        "comes",
        "come",
        "it's",
        "its",
        "that's",
        "is",
        "just",
        "only",
        "about",
        "around",
        "under",
        "for",
        "at",
        "total",
    ]
)
_MONEY_AFTER = frozenset(["installed", "total", "upfront", "down", "flat", "even"])
_MONEY_AFTER_PAIRS = frozenset(
    [("all", "in"), ("out", "the"), ("plus", "tax"), ("before", "tax"), ("after", "tax")]
)
# Around a money figure: cues that it prices the offer, or something else.
_OFFER_CUES = frozenset(
    [
        "it's",
        "its",
        "that's",
        "thats",
        "it'll",
        "it'd",
        "that'll",
        "that'd",
        "comes",
        "come",
        "total",
        "price",
        "pricing",
        "quote",
        "quoted",
        "plan",
        "package",
        "install",
        "installed",
        "installation",
        "off",
        "discount",
        "down",
        "deposit",
        "fee",
        "fees",
        "financing",
        "finance",
        "apr",
        "payment",
        "payments",
        "budget",
        "charge",
        "charges",
        "we'll",
        "we'd",
        "you'd",
        "beat",
        "lower",
        "better",
        "knock",
        "waive",
        "waived",
        "credit",
        "premium",
        "deductible",
        "upfront",
        "monthly",
        "tier",
        "seat",
        "subscription",
        "contract",
        "invoice",
        "rate",
        "rates",
        "offer",
        "special",
        "deal",
        "drops",
        "drop",
        "only",
        "just",
        "under",
        "flat",
        "cheaper",
        "expensive",
        "afford",
        "for",
    ]
)
_OTHER_CUES = frozenset(
    [
        "bill",
        "bills",
        "electric",
        "electricity",
        "utility",
        "utilities",
        "rent",
        "gas",
        "fuel",
        "gallon",
        "stock",
        "stocks",
        "salary",
        "salaries",
        "wage",
        "wages",
        "payroll",
        "news",
        "inflation",
        "damage",
        "damages",
        "stole",
        "stolen",
        "lost",
        "losing",
        "loss",
        "losses",
        "repair",
        "repairs",
        "paid",
        "spent",
        "spend",
        "spending",
        "wasted",
        "wasting",
        "waste",
        "faster",
        "slower",
        "fewer",
        "more",
        "less",
        "reduce",
        "reduced",
        "reduction",
        "cut",
        "churn",
        "growth",
        "grew",
        "revenue",
        "sales",
        "conversion",
        "productivity",
        "improvement",
        "improved",
        "increase",
        "increased",
        "decrease",
        "decreased",
        "hours",
        "time",
        "effort",
        "employees",
        "staff",
        "people",
        "miles",
        "feet",
        "square",
        "acres",
        "tax",
        "taxes",
        "insurance",
        "loan",
        "loans",
        "car",
        "tuition",
        "neighbor",
        "neighbour",
        "neighbors",
        "neighbours",
    ]
)
_HOW_MUCH_OTHER = frozenset(
    [
        "time",
        "longer",
        "work",
        "effort",
        "space",
        "room",
        "storage",
        "data",
        "traffic",
        "power",
        "energy",
        "electricity",
        "notice",
        "training",
        "experience",
        "weight",
        "help",
        "damage",
        "of",
    ]
)

_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?(?:[km](?![a-z]))?|[$€£%/]|[a-z]+(?:'[a-z]+)?")
_DIGITS = re.compile(r"^(\d[\d,]*(?:\.\d+)?)([km]?)$")


@dataclass(slots=True)
class _Tok:
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    return [_Tok(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text.lower())]


def _word_value(word: str) -> tuple[str, int] | None:
    """(class, value) of a number word: unit, teen, tens or scale."""
    if word in _UNITS:
        return "unit", _UNITS[word]
    if word in _TEENS:
        return "teen", _TEENS[word]
    if word in _TENS:
        return "tens", _TENS[word]
    if word in _SCALES:
        return "scale", _SCALES[word]
    return None


@dataclass(slots=True)
class _Chunk:
    """A cardinal read from consecutive tokens [first, last]."""

    first: int
    last: int
    value: float
    scaled: bool  # used hundred/thousand/... or digits with a suffix
    digits: bool
    below_hundred: bool  # a word number under 100 with no scale: a part of a compressed form


def _read_chunks(toks: list[_Tok]) -> list[list[_Chunk]]:
    """Runs of adjacent number chunks (each run is a list of chunks, in order)."""
    runs: list[list[_Chunk]] = []
    run: list[_Chunk] = []
    i, n = 0, len(toks)
    while i < n:
        chunk = _read_chunk(toks, i)
        if chunk is None:
            if run:
                runs.append(run)
                run = []
            i += 1
            continue
        nxt = toks[chunk.last + 1].text if chunk.last + 1 < n else ""
        if not chunk.digits and nxt == "point" and chunk.last + 2 < n:
            decimals = ""
            k = chunk.last + 2
            while k < n and toks[k].text in _UNITS:
                decimals += str(_UNITS[toks[k].text])
                k += 1
            if decimals:  # "two point five" -> 2.5; the figure stands alone
                chunk.value += float("0." + decimals)
                chunk.last, chunk.scaled, chunk.below_hundred = k - 1, True, False
        run.append(chunk)
        i = chunk.last + 1
        if chunk.digits:  # digits never combine with the next number ("$200 2 times")
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    return runs


def _read_chunk(toks: list[_Tok], i: int) -> _Chunk | None:
    word = toks[i].text
    m = _DIGITS.match(word)
    if m:
        value = float(m.group(1).replace(",", ""))
        scaled = bool(m.group(2))
        value *= _SUFFIX.get(m.group(2), 1)
        last = i
        if i + 1 < len(toks) and toks[i + 1].text in _SCALES:  # "1.5 million", "40 thousand"
            value *= _SCALES[toks[i + 1].text]
            scaled, last = True, i + 1
        elif i + 1 < len(toks) and toks[i + 1].text in _SUFFIX:  # "9 k"
            value *= _SUFFIX[toks[i + 1].text]
            scaled, last = True, i + 1
        return _Chunk(i, last, value, scaled, True, False)
    # "a hundred", "a thousand": the article is the number one.
    start = i
    if word in ("a", "an") and i + 1 < len(toks) and toks[i + 1].text in _SCALES:
        i += 1
        word = toks[i].text
    if _word_value(word) is None or (word in _SCALES and start == i):
        return None
    if word == "oh":  # only inside a year ("nineteen oh five"), handled by the caller's run
        return None
    total, current, last_cls = 0, 0, "start"
    top_scale = 10**12
    scaled = False
    j = i
    last = i - 1
    while j < len(toks):
        w = toks[j].text
        if w == "and" and last_cls == "scale" and j + 1 < len(toks):
            nxt = _word_value(toks[j + 1].text)
            if nxt and nxt[0] in ("unit", "teen", "tens"):
                j += 1
                continue
            break
        if w in _HOMOPHONES and last_cls == "tens":
            current += _HOMOPHONES[w]
            last_cls, last = "unit", j
            j += 1
            continue
        got = _word_value(w)
        if got is None:
            break
        cls, v = got
        if cls == "unit":
            if last_cls not in ("start", "tens", "scale") or (
                last_cls == "scale" and current % 100
            ):
                break
            if w == "oh" and last_cls == "start":
                break
            current += v
        elif cls in ("teen", "tens"):
            if last_cls not in ("start", "scale") or current % 100:
                break
            current += v
        else:  # scale
            if v == 100:
                if not (0 < current < 100) and not (current == 0 and last_cls == "start"):
                    break
                current = max(current, 1) * 100
            else:
                if v >= top_scale or (total + current) == 0 and last_cls != "start":
                    break
                total += max(current, 1) * v
                current = 0
                top_scale = v
            scaled = True
        last_cls, last = cls, j
        j += 1
    if last < i:
        return None
    value = total + current
    return _Chunk(start, last, float(value), scaled, False, not scaled and value < 100)


def _combine(
    run: list[_Chunk], toks: list[_Tok]
) -> list[tuple[int, int, float, float | None, str | None]]:
    """(first token, last token, value, alternative, forced kind) per figure in a run."""
    out: list[tuple[int, int, float, float | None, str | None]] = []
    k = 0
    while k < len(run):
        a = run[k]
        b = run[k + 1] if k + 1 < len(run) else None
        if b is not None and a.below_hundred and b.below_hundred and a.value >= 1:
            av, bv = int(a.value), int(b.value)
            b_words = b.last - b.first + 1
            if 1 <= bv <= 9 and b_words == 1 and 10 <= av <= 99:  # "eighteen five"
                out.append((a.first, b.last, av * 1000 + bv * 100, None, CURRENCY))
                k += 2
                continue
            if bv >= 10:  # "two ninety nine", "twelve fifty", "nineteen ninety"
                forced = YEAR if av in (19, 20) else CURRENCY
                out.append((a.first, b.last, av * 100 + bv, av + bv / 100, forced))
                k += 2
                continue
        if (
            b is None
            and a.below_hundred
            and a.value in (19, 20)
            and a.last + 2 < len(toks)
            and toks[a.last + 1].text == "oh"
            and toks[a.last + 2].text in _UNITS
        ):  # "nineteen oh five"
            year = int(a.value) * 100 + _UNITS[toks[a.last + 2].text]
            out.append((a.first, a.last + 2, year, None, YEAR))
            k += 1
            continue
        out.append((a.first, a.last, a.value, None, None))
        k += 1
    return out


def _word(toks: list[_Tok], i: int) -> str:
    return toks[i].text if 0 <= i < len(toks) else ""


def find_amounts(text: str) -> list[Amount]:
    """Every figure in `text`, in order, with offsets into `text` itself."""
    toks = _tokens(text)
    if not toks:
        return []
    found: list[Amount] = []
    done = -1  # last token already part of a figure ("nineteen oh five" reads past its run)
    for run in _read_chunks(toks):
        for first, last, value, alternative, forced in _combine(run, toks):
            if first <= done:
                continue
            amount = _classify(toks, first, last, value, alternative, forced)
            done = last
            if amount.kind == COUNT and amount.end - amount.start == 3 and value == 1:
                continue  # "one" alone is a pronoun far more often than a figure
            found.append(amount)
    return found


def _classify(
    toks: list[_Tok],
    first: int,
    last: int,
    value: float,
    alternative: float | None,
    forced: str | None,
) -> Amount:
    kind: str | None = None
    unit: str | None = None
    end = last
    before = _word(toks, first - 1)
    if before in ("$", "€", "£"):
        kind, first = CURRENCY, first - 1
    nxt = _word(toks, end + 1)
    if nxt in _PERCENT_WORDS or (nxt == "per" and _word(toks, end + 2) == "cent"):
        kind, unit = PERCENTAGE, "percent"
        end += 2 if nxt == "per" else 1
    elif nxt in _CURRENCY_WORDS:
        kind, unit = CURRENCY, nxt
        if nxt == "grand" and value < 1000:
            value *= 1000
        end += 1
    elif nxt in _SUFFIX and value < 1000:  # "nine k"
        kind, value, end = CURRENCY, value * _SUFFIX[nxt], end + 1
    # A rate after the figure (or after its currency word): "a month", "per seat", "monthly".
    r1, r2 = _word(toks, end + 1), _word(toks, end + 2)
    if r1 in _RATE_WORDS and r2 in _RATE_UNITS:
        kind, unit, end = (PER_PERIOD, r2, end + 2) if kind != PERCENTAGE else (kind, unit, end)
    elif r1 in _PERIODIC and kind != PERCENTAGE:
        kind, unit, end = PER_PERIOD, r1, end + 1
    if kind is None and r1 in _PERIODS:
        kind, unit, end = DURATION, r1, end + 1
    if kind is None and forced == YEAR:
        # "nineteen ninety nine" is a year after "in", "since"; a price after "comes to", "for".
        pre = {_word(toks, first - k) for k in (1, 2, 3)}
        kind = CURRENCY if pre & (_MONEY_BEFORE | _PRICE_LEAD) else YEAR
    if kind is None and forced == CURRENCY:
        kind = CURRENCY
    four_digits = toks[first].text.isdigit() and len(toks[first].text) == 4
    if kind is None and alternative is None and four_digits and 1900 <= value <= 2099:
        kind = YEAR
    if kind is None:
        pre = {_word(toks, first - k) for k in (1, 2, 3)}
        post = (_word(toks, end + 1), _word(toks, end + 2))
        if pre & _MONEY_BEFORE or post[0] in _MONEY_AFTER or post in _MONEY_AFTER_PAIRS:
            kind = CURRENCY
        else:
            kind = COUNT
            if post[0] and post[0].isalpha():
                unit = post[0]
    if kind == YEAR:
        alternative = None
    target = _target(toks, first, end, kind)
    return Amount(toks[first].start, toks[end].end, value, kind, target, unit, alternative)


def _target(toks: list[_Tok], first: int, end: int, kind: str) -> str:
    if kind in (DURATION, YEAR, COUNT):
        return OTHER
    window = [_word(toks, k) for k in range(max(0, first - 6), first)]
    after = [_word(toks, k) for k in range(end + 1, min(len(toks), end + 5))]
    words = set(window) | set(after)
    offer = len(words & _OFFER_CUES) + (tuple(after[:2]) in _MONEY_AFTER_PAIRS)
    other = len(words & _OTHER_CUES)
    if kind == PER_PERIOD:
        offer += 1  # rates are what offers are priced in
    if kind == PERCENTAGE:
        near = set(after[:2])
        if near & {"off", "down", "discount", "apr", "interest", "financing", "rebate"}:
            offer += 2
        if near & {"faster", "more", "less", "fewer", "of", "increase", "better", "lower"}:
            other += 2
    if offer > other:
        return OFFER
    if other > offer:
        return OTHER
    return UNCLEAR


def how_much_questions(text: str) -> list[tuple[str, int, int]]:
    """("offer" | "other", start, end) for each "how much": about the price, or about time,
    effort, space... ("how much time does onboarding take")."""
    toks = _tokens(text)
    out: list[tuple[str, int, int]] = []
    for k in range(len(toks) - 1):
        if toks[k].text == "how" and toks[k + 1].text == "much":
            nxt = _word(toks, k + 2)
            kind = OTHER if nxt in _HOW_MUCH_OTHER else OFFER
            out.append((kind, toks[k].start, toks[k + 1].end))
    return out


_MAYBE_NUMBER = re.compile(
    r"\d|[$€£%]|\b(?:how much|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|eightteen|twenty|"
    r"thirty|thirthy|forty|fourty|fifty|fitty|sixty|seventy|eighty|ninety|ninty|nintey|"
    r"hundred|thousand|million|billion)\b",
    re.IGNORECASE,
)


def may_hold_amount(text: str) -> bool:
    """A cheap test that skips the parse for the many utterances with no figure at all."""
    return _MAYBE_NUMBER.search(text) is not None
