"""Redaction at the sink: UK personal identifiers, registered secrets and registered PII values.

Everything that leaves the process as text (audit free-text fields, run logs, console, error
reasons in the ledger) passes through :meth:`Redactor.redact` first.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable

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

_MIN_SECRET = 3


_WORD = re.compile(r"\w+")


class _LiteralIndex:
    """Finds registered values in text in time independent of how many are registered.

    Values are indexed by their first word (lower-cased); a message is scanned word by word
    and only values starting with that word are compared. Matching ignores case and does
    not cut words in half ("Ann" does not match inside "Annual").
    """

    def __init__(self) -> None:
        self._by_word: dict[str, list[tuple[int, str, str]]] = {}
        self._wordless: list[tuple[str, str]] = []
        self._labels: dict[str, str] = {}

    def __contains__(self, value: str) -> bool:
        return value.lower() in self._labels

    def add(self, value: str, label: str) -> None:
        key = value.lower()
        if key in self._labels:
            return
        self._labels[key] = label
        first = _WORD.search(key)
        if first is None:
            self._wordless.append((key, label))
            return
        bucket = self._by_word.setdefault(first.group(0), [])
        bucket.append((first.start(), key, label))
        bucket.sort(key=lambda entry: len(entry[1]), reverse=True)

    def replace(self, text: str) -> str:
        if not self._labels:
            return text
        lower = text.lower()
        if len(lower) != len(text):  # rare Unicode case changes: compare unlowered
            lower = text
        parts: list[str] = []
        pos = 0
        for word in _WORD.finditer(lower):
            if word.start() < pos:
                continue
            for offset, value, label in self._by_word.get(word.group(0), ()):
                begin = word.start() - offset
                end = begin + len(value)
                if begin < pos or lower[begin:end] != value:
                    continue
                if value[-1:].isalnum() and lower[end : end + 1].isalnum():
                    continue
                parts += [text[pos:begin], label]
                pos = end
                break
        parts.append(text[pos:])
        result = "".join(parts)
        for value, label in self._wordless:
            result = re.sub(re.escape(value), label, result, flags=re.IGNORECASE)
        return result


class Redactor:
    """Replaces identifiers with labels and registered values with a label or a token."""

    def __init__(
        self,
        extra_patterns: Iterable[str] = (),
        *,
        tokenize: Callable[[str], str] | None = None,
    ) -> None:
        self._patterns = [(label, re.compile(p)) for label, p in UK_PATTERNS]
        self._patterns += [("REDACTED", re.compile(p)) for p in extra_patterns]
        self._tokenize = tokenize
        self._literals = _LiteralIndex()
        self._lock = threading.Lock()

    def set_tokenizer(self, tokenize: Callable[[str], str]) -> None:
        self._tokenize = tokenize

    def add_secret(self, value: str) -> None:
        """Never show ``value`` (nor any line of it) in clear again."""
        with self._lock:
            for part in {value.strip(), *(line.strip() for line in value.splitlines())}:
                if len(part) >= _MIN_SECRET:
                    self._literals.add(part, "[SECRET]")

    def add_personal(self, value: str, category: str = "PII") -> None:
        """Show ``value`` as its token (``[name:p_...]``) wherever it appears."""
        value = value.strip()
        if len(value) < _MIN_SECRET or value in self._literals:
            return
        token = self._tokenize(value) if self._tokenize else ""
        with self._lock:
            self._literals.add(value, f"[{category}:{token}]" if token else f"[{category}]")

    def redact(self, text: str) -> str:
        if not text:
            return text
        with self._lock:
            text = self._literals.replace(text)
        for label, pattern in self._patterns:
            text = pattern.sub(f"[{label}]", text)
        return text
