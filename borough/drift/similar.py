"""How alike two labels, ids or titles read, for ranking the candidates of a broken locator.

Letters alone mislead on short labels ("NI number" reads more like "Claim number" than like
"National Insurance number"), and words alone miss renamed ids ("txtForenames" and
"firstNames"). The score is the mean of both: the letters in order, and the words matched
one to one, where a word also matches a longer one it begins ("ref", "reference") or ends
("names", "forenames") and a short word matches the initials of several ("NI", "National
Insurance").
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.combining(c))


def normal(text: str) -> str:
    """Letters and digits only, case and accents folded: 'txtClaimRef' ~ 'Claim ref'."""
    return re.sub(r"[^0-9a-z]", "", _fold(text).casefold())


def words(text: str) -> list[str]:
    """'txtClaimRef' -> ['txt', 'claim', 'ref']; 'NI number (£)' -> ['ni', 'number']."""
    return [w.casefold() for w in _WORD.findall(_fold(text))]


def similarity(a: str, b: str) -> float:
    """0..1: 1 for the same letters and digits in the same order."""
    left, right = normal(a), normal(b)
    if not left or not right:
        return 0.0
    letters = SequenceMatcher(None, left, right).ratio()
    return (letters + word_match(words(a), words(b))) / 2


def word_match(ours: list[str], theirs: list[str]) -> float:
    """F1 of words matched one to one (prefixes and initials count, see the module)."""
    if not ours or not theirs:
        return 0.0
    used: set[int] = set()
    matched = 0.0
    for word in ours:
        best = 0.0
        where: tuple[int, ...] = ()
        for start in range(len(theirs)):
            for size in (1, 2, 3):
                span = tuple(range(start, min(start + size, len(theirs))))
                if len(span) < size or used.intersection(span):
                    continue
                value = _word_score(word, [theirs[i] for i in span])
                if value > best:
                    best, where = value, span
        if best:
            matched += best
            used.update(where)
    precision = matched / len(ours)
    recall = min(len(used), len(theirs)) / len(theirs) if matched else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _word_score(word: str, span: list[str]) -> float:
    if len(span) == 1:
        other = span[0]
        if word == other:
            return 1.0
        short, long = sorted((word, other), key=len)
        if len(short) >= 2 and long.startswith(short):
            return 0.8  # an abbreviation: ref, reference
        return 0.7 if len(short) >= 4 and long.endswith(short) else 0.0  # forenames, names
    initials = "".join(w[0] for w in span)
    return 0.9 if len(word) == len(span) and word == initials else 0.0
