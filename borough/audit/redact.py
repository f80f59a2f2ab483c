"""Redaction at the sink: UK personal identifiers, registered secrets and registered PII values.

Everything that leaves the process as text (audit free-text fields, run logs, console, error
reasons in the ledger) passes through :meth:`Redactor.redact` first.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from functools import partial

from borough.audit.literals import LiteralIndex, skeleton, sub_decoded

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
        self._patterns = [(label, re.compile(p)) for label, p in UK_PATTERNS]
        self._patterns += [("REDACTED", re.compile(p)) for p in extra_patterns]
        self._identifiers: list[tuple[str, re.Pattern[str]]] = []
        self._tokenize = tokenize
        self._literals = LiteralIndex()
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
        if len(value) < _MIN_SECRET:
            return
        key = skeleton(value)
        with self._lock:
            if self._literals.holds(value, key):
                return
        token = self._tokenize(value) if self._tokenize else ""
        label = f"[{category}:{token}]" if token else f"[{category}]"
        with self._lock:
            self._literals.add(value, label, key=key)

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

    def redact(self, text: str) -> str:
        if not text:
            return text
        with self._lock:
            text = self._literals.replace(text)
            identifiers = list(self._identifiers)
        for label, pattern in identifiers:
            text = sub_decoded(pattern, partial(self._identifier_label, label), text)
        for label, pattern in self._patterns:
            text = sub_decoded(pattern, f"[{label}]", text)
        return text

    def _identifier_label(self, label: str, found: re.Match[str]) -> str:
        token = self._tokenize(found.group(0)) if self._tokenize else ""
        return f"[{label}:{token}]" if token else f"[{label}]"
