"""Redaction at the sink: UK personal identifiers, registered secrets and registered PII values.

Everything that leaves the process as text (audit free-text fields, run logs, console, error
reasons in the ledger) passes through :meth:`Redactor.redact` first.

Most of an audit record's text repeats from record to record (host, bot, action, outcome,
actor, step, target, categories), so :class:`Redactor` remembers short texts it has
redacted. A remembered result is used only while it is still right: a value registered since
(a person's name read from the next item) is looked for in the text's skeleton first, and
a new identifier format, pattern or tokenizer forgets everything.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from functools import partial

from borough.audit.literals import (
    MIN_SKELETON,
    LiteralIndex,
    has_escapes,
    skeleton,
    sub_decoded,
)

#: (label, pattern) in the order they are applied; bank details before phone numbers.
UK_PATTERNS: tuple[tuple[str, str], ...] = (
    ("EMAIL", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    (
        "NINO",
        r"(?i)\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
    ),
    # Digits glued to letters are hashes, ids and tokens ("99544665f8c7…"), not bank
    # details or phone numbers: the digit patterns need a non-word character on both sides.
    ("BANK", r"(?<![\w-])\d{2}[- ]\d{2}[- ]\d{2}(?:[ ,;/]*\d{8})?(?![\w-])"),
    ("BANK", r"(?<![\w-])\d{8}(?![\w-])"),
    ("PHONE", r"(?<![\w+])(?:\+44 ?\(?0?\)? ?|\(?0)\d{2,4}\)?[ -]?\d{3,4}[ -]?\d{3,4}(?!\w)"),
    (
        "POSTCODE",
        r"(?i)\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b",
    ),
)


def _inline(pattern: str) -> str:
    """``pattern`` as a group usable inside an alternation (a leading ``(?i)`` scoped)."""
    if pattern.startswith("(?i)"):
        return f"(?i:{pattern[4:]})"
    return f"(?:{pattern})"


#: Any UK pattern anywhere: text it does not match needs none of them (no pattern
#: matches, so none replaces anything that could make a later one match).
_ANY_UK = re.compile("|".join(_inline(pattern) for _, pattern in UK_PATTERNS))

_MIN_SECRET = 3
_MEMO_TEXT = 256  #: longer texts (error messages, page text) are redacted every time
_MEMO_SIZE = 4096  #: remembered texts (all forgotten at once when full)
_RECHECK = 64  #: a text remembered this many registrations ago is redacted again


class _Memo:
    """Short texts and their redaction, each with the registrations it has seen."""

    def __init__(self) -> None:
        self.generation = 0  #: registrations so far
        self._results: dict[str, tuple[int, str, str | None]] = {}
        self._added: list[str] = []  #: skeletons of the last registrations, oldest first
        self._base = 0  #: the generation before ``_added[0]``

    def known(self, text: str) -> str | None:
        """The result for ``text`` if it was computed or re-checked since the last
        registration (one dict lookup and one read of ``generation``, each atomic)."""
        found = self._results.get(text)
        if found is not None and found[0] == self.generation:
            return found[1]
        return None

    def get(self, text: str) -> str | None:
        found = self._results.get(text)
        if found is None:
            return None
        seen, result, key = found
        if seen == self.generation:
            return result
        if seen < self._base or self.generation - seen > _RECHECK:
            return None
        key = skeleton(text) if key is None else key
        if any(added in key for added in self._added[seen - self._base :]):
            return None  # a value registered since may be in it: redact it again
        self._results[text] = (self.generation, result, key)
        return result

    def put(self, text: str, result: str, seen: int) -> None:
        if len(self._results) >= _MEMO_SIZE:
            self._results.clear()
        self._results[text] = (seen, result, None)

    def registered(self, key: str) -> None:
        """A value with skeleton ``key`` was registered (one too short to look for: forget)."""
        self.generation += 1
        if len(key) < MIN_SKELETON:
            self.forget()
            return
        self._added.append(key)
        if len(self._added) > 2 * _RECHECK:
            del self._added[:_RECHECK]
            self._base += _RECHECK

    def forget(self) -> None:
        self.generation += 1  # a result computed before, put after, is never trusted
        self._results.clear()
        self._added.clear()
        self._base = self.generation


class Redactor:
    """Replaces identifiers with labels and registered values with a label or a token.

    Order matters and is fixed: registered values first (so a declared address is found
    whole before the postcode inside it becomes ``[POSTCODE]``), then the identifier
    formats apps declare (``identifiers:`` in apps.yaml, shown as tokens), then the UK
    patterns and the patterns of ``audit.redact_patterns``. Every step also looks through
    HTML entities, ``%``-encoding and JSON escapes (:mod:`borough.audit.literals`).
    """

    def __init__(
        self,
        extra_patterns: Iterable[str] = (),
        *,
        tokenize: Callable[[str], str] | None = None,
    ) -> None:
        self._uk = [(label, re.compile(p)) for label, p in UK_PATTERNS]
        self._extra = [("REDACTED", re.compile(p)) for p in extra_patterns]
        self._identifiers: list[tuple[str, re.Pattern[str]]] = []
        self._tokenize = tokenize
        self._literals = LiteralIndex()
        self._memo = _Memo()
        self._lock = threading.Lock()

    def set_tokenizer(self, tokenize: Callable[[str], str]) -> None:
        with self._lock:
            self._tokenize = tokenize
            self._memo.forget()

    def add_secret(self, value: str) -> None:
        """Never show ``value`` (nor any line of it) in clear again."""
        with self._lock:
            for part in {value.strip(), *(line.strip() for line in value.splitlines())}:
                if len(part) >= _MIN_SECRET:
                    key = skeleton(part)
                    self._literals.add(part, "[SECRET]", key=key)
                    self._memo.registered(key)

    def add_personal(self, value: str, category: str = "PII", *, token: str | None = None) -> None:
        """Show ``value`` as its token (``[name:p_...]``) wherever it appears (``token``:
        the value's token when the caller has it already, e.g. ingest)."""
        value = value.strip()
        if len(value) < _MIN_SECRET:
            return
        key = skeleton(value)
        with self._lock:
            if self._literals.holds(value, key):
                return
        if token is None:
            token = self._tokenize(value) if self._tokenize else ""
        label = f"[{category}:{token}]" if token else f"[{category}]"
        with self._lock:
            self._literals.add(value, label, key=key)
            self._memo.registered(key)

    def keep_out(self, value: str, *, secret: bool = False) -> None:
        """A value a connector typed into an app (or a session cookie): a secret, or
        personal data of unknown kind (shown as ``[personal:p_...]``). A value in one of
        the apps' identifier formats is left to that format, which names it better."""
        if secret:
            self.add_secret(value)
        elif not any(pattern.fullmatch(value.strip()) for _, pattern in self._identifiers):
            self.add_personal(value, "personal")

    def add_identifier(self, label: str, pattern: str | re.Pattern[str]) -> None:
        """Text matching ``pattern`` (an app's own identifier format, e.g. an account
        number) is shown as ``[label:p_...]``: the token of what matched."""
        compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
        with self._lock:
            self._identifiers.append((label, compiled))
            self._memo.forget()

    def redact(self, text: str) -> str:
        if not text:
            return text
        memo = self._memo
        found = memo.known(text)  # without the lock: a result of this generation is right
        if found is not None:
            return found
        remember = len(text) <= _MEMO_TEXT
        with self._lock:
            if remember:
                known = self._memo.get(text)
                if known is not None:
                    return known
            seen = self._memo.generation
            result = self._literals.replace(text)
            identifiers = list(self._identifiers)
        for label, pattern in identifiers:
            result = sub_decoded(pattern, partial(self._identifier_label, label), result)
        plain = not has_escapes(result)
        patterns = self._extra if plain and not _ANY_UK.search(result) else self._uk + self._extra
        for label, pattern in patterns:
            result = sub_decoded(pattern, f"[{label}]", result)
        if remember:
            with self._lock:
                if seen >= self._memo.generation - _RECHECK:
                    self._memo.put(text, result, seen)
        return result

    def _identifier_label(self, label: str, found: re.Match[str]) -> str:
        token = self._tokenize(found.group(0)) if self._tokenize else ""
        return f"[{label}:{token}]" if token else f"[{label}]"
