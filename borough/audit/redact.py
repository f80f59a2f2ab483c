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
    ("BANK", r"(?<![\d-])\d{2}[- ]\d{2}[- ]\d{2}(?:[ ,;/]*\d{8})?(?![\d-])"),
    ("BANK", r"(?<![\d-])\d{8}(?![\d-])"),
    ("PHONE", r"(?<![\w+])(?:\+44 ?\(?0?\)? ?|\(?0)\d{2,4}\)?[ -]?\d{3,4}[ -]?\d{3,4}(?!\d)"),
    (
        "POSTCODE",
        r"(?i)\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b",
    ),
)

_MIN_SECRET = 3


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
        self._secrets: set[str] = set()
        self._personal: dict[str, str] = {}
        self._literal: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def set_tokenizer(self, tokenize: Callable[[str], str]) -> None:
        self._tokenize = tokenize

    def add_secret(self, value: str) -> None:
        """Never show ``value`` (nor any line of it) in clear again."""
        for part in {value, *value.splitlines()}:
            if len(part) >= _MIN_SECRET and part not in self._secrets:
                with self._lock:
                    self._secrets.add(part)
                    self._literal = None

    def add_personal(self, value: str, category: str = "PII") -> None:
        """Show ``value`` as its token (``[name:p_...]``) wherever it appears."""
        value = value.strip()
        if len(value) < _MIN_SECRET or value in self._personal:
            return
        token = self._tokenize(value) if self._tokenize else ""
        label = f"[{category}:{token}]" if token else f"[{category}]"
        with self._lock:
            self._personal[value] = label
            self._literal = None

    def redact(self, text: str) -> str:
        if not text:
            return text
        literal = self._literal_pattern()
        if literal is not None:
            text = literal.sub(self._literal_label, text)
        for label, pattern in self._patterns:
            text = pattern.sub(f"[{label}]", text)
        return text

    def _literal_pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._literal is None and (self._secrets or self._personal):
                values = sorted({*self._secrets, *self._personal}, key=len, reverse=True)
                self._literal = re.compile("|".join(re.escape(v) for v in values))
            return self._literal

    def _literal_label(self, match: re.Match[str]) -> str:
        value = match.group(0)
        if value in self._secrets:
            return "[SECRET]"
        return self._personal.get(value, "[PII]")
