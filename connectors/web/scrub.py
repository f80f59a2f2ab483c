"""Take what was typed (credentials, personal fields) out of evidence before it is stored.

A browser trace holds typed values in several spellings: as typed, URL-encoded in form
posts, JSON-escaped in the action log, HTML-escaped in snapshots. Every spelling of every
registered value is replaced, then the UK identifier patterns are applied. Images cannot
be redacted, so they are dropped from traces (screenshots are taken separately, masked).
"""

from __future__ import annotations

import html
import io
import json
import re
import threading
import zipfile
from urllib.parse import quote, quote_plus

from borough.audit.redact import Redactor

LABEL = "[REDACTED]"
_MIN = 3
_TEXT_MEMBERS = (".trace", ".network", ".stacks", ".json", ".html", ".htm", ".txt", ".css",
                 ".js", ".xml", ".csv", ".dat")  # fmt: skip


def spellings(value: str) -> set[str]:
    """The ways ``value`` can appear in page HTML, form posts and JSON logs."""
    forms = {
        value,
        html.escape(value, quote=True),
        html.escape(value, quote=False),
        quote(value, safe=""),
        quote_plus(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    return {f for f in forms if len(f) >= _MIN}


class Scrubber:
    """Values to keep out of evidence: some for the session (credential), some per item.

    An item's values are kept out of the next item's evidence too: a trace chunk starts
    with a snapshot of the pages as the previous item left them.
    """

    def __init__(self) -> None:
        self._lasting: set[str] = set()
        self._previous: set[str] = set()
        self._item: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._patterns = Redactor()  # UK identifiers only: no values registered in it
        self._lock = threading.Lock()

    def keep_out(self, value: str, *, lasting: bool = False) -> None:
        """Never let ``value`` reach evidence (for this item, or for the session if lasting)."""
        value = value.strip()
        if len(value) < _MIN:
            return
        with self._lock:
            (self._lasting if lasting else self._item).update(spellings(value))
            self._pattern = None

    def new_item(self) -> None:
        with self._lock:
            self._previous, self._item = self._item, set()
            self._pattern = None

    def text(self, text: str) -> str:
        pattern = self._compiled()
        if pattern is not None:
            text = pattern.sub(LABEL, text)
        return self._patterns.redact(text)

    def zip(self, data: bytes) -> bytes:
        """A copy of a zip (trace) with text members scrubbed and images left out."""
        out = io.BytesIO()
        dropped = 0
        with (
            zipfile.ZipFile(io.BytesIO(data)) as source,
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
        ):
            for info in source.infolist():
                raw = source.read(info)
                if not _is_text(info.filename, raw):
                    dropped += 1
                    continue
                target.writestr(info.filename, self.text(raw.decode("utf-8")))
            target.writestr(
                "borough-redaction.txt",
                f"Typed values and UK identifiers were replaced by {LABEL}; "
                f"{dropped} binary resource(s) (images) were left out.\n",
            )
        return out.getvalue()

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None:
                values = sorted(self._lasting | self._previous | self._item, key=len, reverse=True)
                if not values:
                    return None
                # names are often shown upper-cased (``O'BRIEN, Zoë``): ignore case
                self._pattern = re.compile("|".join(re.escape(v) for v in values), re.IGNORECASE)
            return self._pattern


def _is_text(name: str, raw: bytes) -> bool:
    if not name.lower().endswith(_TEXT_MEMBERS) and "." in name.rsplit("/", 1)[-1]:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
