"""Registered values (personal data, secrets) found in text in every form an app shows them.

A value is compared by its *skeleton*: its letters and digits only, lower-cased, accents
removed. Text is decoded first (HTML entities, ``%``-encoding, JSON ``\\u`` escapes,
``<br>`` and inline tags), then a match must start and end on word boundaries. So
``12 Mill Lane, Barchester`` is found as typed, as ``12 MILL LANE,\\nBARCHESTER`` (an app
re-wrapping a note), as ``12+Mill+Lane%2C+Barchester`` in a form post, as
``O&#x27;BRIEN`` for ``O'Brien``, and ``AB 12 34 56 C`` for ``AB123456C``; never inside a
longer word ("Ann" is not found in "Annual").

Lookup cost does not depend on how many values are registered: values are kept in a dict
by skeleton; at each word start whose first three skeleton characters begin some value,
only the skeleton spans up to the longest value's length are looked up.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate

MIN_SKELETON = 3
_RUN = re.compile(r"[^\W_]+")
_ENCODED = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    r"|(?:%[0-9A-Fa-f]{2})+"
    r"|(?:\\u[0-9a-fA-F]{4})+"
    r"|\\[nrtbf]"
    r"|</?(?:br|wbr|p|div|span|b|i|u|em|strong|small|font|li|pre|code|label)\b[^<>]{0,200}>",
    re.IGNORECASE,
)
_MARK = re.compile(r"[&%\\<]")  #: text without any of these has no escapes to look through


def has_escapes(text: str) -> bool:
    """Whether ``text`` holds ``&``, ``%``, ``\\`` or ``<`` (else there is nothing to decode)."""
    return _MARK.search(text) is not None


def _accentless_table() -> dict[int, str]:
    """Latin letters with accents -> the letter (one character each, so lengths keep)."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        base = unicodedata.normalize("NFD", chr(code))[0]
        if base != chr(code) and base.isalpha():
            table[code] = base
    return table


_ACCENTLESS = _accentless_table()


def fold(text: str) -> str:
    """Lower case without accents, the same length as ``text`` (position for position)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # rare characters whose lower case is longer
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return lowered.translate(_ACCENTLESS)


def skeleton(value: str) -> str:
    """The letters and digits of ``value``, folded: what matching compares."""
    if has_escapes(value):
        value = _View(value).decoded
    return "".join(_RUN.findall(fold(value)))


def _decode_one(raw: str) -> str:
    if raw[0] == "&":
        return html.unescape(raw).replace("\xa0", " ")
    if raw[0] == "%":
        try:
            return bytes.fromhex(raw.replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            return raw
    if raw[:2].lower() == "\\u":
        try:
            return str(json.loads(f'"{raw}"'))
        except ValueError:
            return raw
    return " "  # \n, \t ... and tags: a gap between words


class _View:
    """``text`` decoded, with a map from positions in the decoded text back to ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._view_starts: list[int] = []
        self._view_ends: list[int] = []
        self._orig_starts: list[int] = []
        self._orig_ends: list[int] = []
        if not has_escapes(text):
            self.decoded = text
            return
        parts: list[str] = []
        pos = 0
        length = 0
        for found in _ENCODED.finditer(text):
            plain = text[pos : found.start()]
            parts.append(plain)
            length += len(plain)
            decoded = _decode_one(found.group(0)) or " "
            self._view_starts.append(length)
            self._orig_starts.append(found.start())
            self._orig_ends.append(found.end())
            parts.append(decoded)
            length += len(decoded)
            self._view_ends.append(length)
            pos = found.end()
        parts.append(text[pos:])
        self.decoded = "".join(parts)

    def original(self, position: int) -> int:
        """Where ``position`` (a match's start or end in the decoded text) is in ``text``;
        a position inside a decoded escape widens to the whole escape."""
        index = bisect_right(self._view_starts, position) - 1
        if index < 0:
            return position
        start, end = self._view_starts[index], self._view_ends[index]
        if position == start:
            return self._orig_starts[index]
        if position < end:
            return self._orig_ends[index]
        return self._orig_ends[index] + (position - end)

    def original_start(self, position: int) -> int:
        index = bisect_right(self._view_starts, position) - 1
        if index >= 0 and position < self._view_ends[index]:
            return self._orig_starts[index]
        return self.original(position)


class LiteralIndex:
    """Registered values and their labels; :meth:`replace` swaps every match for its label."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}
        self._prefixes: set[str] = set()
        self._lengths: set[int] = set()
        self._longest = 0
        self._short: list[tuple[re.Pattern[str], str]] = []
        self._short_keys: set[str] = set()

    def __len__(self) -> int:
        return len(self._labels) + len(self._short)

    def __contains__(self, value: str) -> bool:
        return self.holds(value, skeleton(value))

    def holds(self, value: str, key: str) -> bool:
        """Whether ``value`` (whose :func:`skeleton` is ``key``) is registered."""
        if len(key) >= MIN_SKELETON:
            return key in self._labels
        return value.lower() in self._short_keys

    def add(self, value: str, label: str, *, key: str | None = None) -> None:
        """Register ``value``; a value already registered keeps its first label."""
        key = skeleton(value) if key is None else key
        if len(key) < MIN_SKELETON:  # mostly punctuation: compared as written, any case
            lowered = value.lower()
            if lowered not in self._short_keys:
                self._short_keys.add(lowered)
                self._short.append((re.compile(re.escape(value), re.IGNORECASE), label))
            return
        if key in self._labels:
            return
        self._labels[key] = label
        self._prefixes.add(key[:MIN_SKELETON])
        self._lengths.add(len(key))
        self._longest = max(self._longest, len(key))

    def replace(self, text: str) -> str:
        if not text or not len(self):
            return text
        if self._labels:
            text = self._replace_skeletons(text)
        for pattern, label in self._short:
            text = pattern.sub(label, text)
        return text

    def _replace_skeletons(self, text: str) -> str:
        view = _View(text) if has_escapes(text) else None
        folded = fold(text if view is None else view.decoded)
        if not self._may_hold(folded):
            return text
        view = view or _View(text)
        runs = [found.span() for found in _RUN.finditer(folded)]
        if not runs:
            return text
        skel = "".join(folded[a:b] for a, b in runs)
        ends = list(accumulate(b - a for a, b in runs))
        starts = [end - (b - a) for end, (a, b) in zip(ends, runs, strict=True)]
        found: list[tuple[int, int, str]] = []
        count = len(runs)
        index = 0
        while index < count:
            first = starts[index]
            if skel[first : first + MIN_SKELETON] not in self._prefixes:
                index += 1
                continue
            best: tuple[int, str] | None = None
            last = index
            while last < count:
                size = ends[last] - first
                if size > self._longest:
                    break
                if size in self._lengths:
                    label = self._labels.get(skel[first : ends[last]])
                    if label is not None:
                        best = (last, label)
                last += 1
            if best is None:
                index += 1
                continue
            found.append((runs[index][0], runs[best[0]][1], best[1]))
            index = best[0] + 1
        if not found:
            return text
        parts: list[str] = []
        pos = 0
        for start, end, label in found:
            begin = view.original_start(start)
            if begin < pos:
                continue
            parts += [text[pos:begin], label]
            pos = view.original(end)
        parts.append(text[pos:])
        return "".join(parts)

    def _may_hold(self, folded: str) -> bool:
        """Whether any word start of ``folded`` begins a registered value's skeleton (most
        texts have none: they need no spans, positions or view)."""
        prefixes = self._prefixes
        runs = _RUN.findall(folded)
        if len(runs) == 1:
            return runs[0][:MIN_SKELETON] in prefixes
        skel = "".join(runs)
        start = 0
        for run in runs:
            if skel[start : start + MIN_SKELETON] in prefixes:
                return True
            start += len(run)
        return False


def sub_decoded(
    pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str], text: str
) -> str:
    """``pattern.sub(repl, text)``, also finding matches written with HTML entities,
    ``%``-encoding or JSON escapes (each replaced whole, escapes included)."""
    if not has_escapes(text):
        return pattern.sub(repl, text)
    view = _View(text)
    parts: list[str] = []
    pos = 0
    for found in pattern.finditer(view.decoded):
        begin = view.original_start(found.start())
        if begin < pos:
            continue
        parts += [text[pos:begin], repl if isinstance(repl, str) else repl(found)]
        pos = view.original(found.end())
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)
