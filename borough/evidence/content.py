"""What of a piece of evidence can be redacted before it is sealed: text, and the text
members of a zip (a browser trace). Images cannot be redacted: a zip's are left out
(screenshots are taken separately, masked), a screenshot's own masks are the connector's.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

TEXT_SUFFIXES = frozenset({".html", ".htm", ".txt", ".json", ".csv", ".xml", ".log"})
_TEXT_MEMBERS = (".trace", ".network", ".stacks", ".json", ".html", ".htm", ".txt", ".css",
                 ".js", ".xml", ".csv", ".dat")  # fmt: skip
NOTE = "borough-redaction.txt"


def redacted(suffix: str, content: bytes | str, redact: Callable[[str], str]) -> bytes:
    """``content`` as stored: text redacted, a zip's text members redacted and its images
    left out, anything else (images) as given."""
    if isinstance(content, str) or suffix in TEXT_SUFFIXES:
        text = content if isinstance(content, str) else content.decode("utf-8", "replace")
        return redact(text).encode("utf-8")
    if suffix == ".zip" and zipfile.is_zipfile(io.BytesIO(content)):
        return redact_zip(content, redact)
    return content


def redact_zip(data: bytes, redact: Callable[[str], str]) -> bytes:
    """A copy of a zip with text members redacted and binary ones (images) left out."""
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
            target.writestr(info.filename, redact(raw.decode("utf-8")))
        target.writestr(
            NOTE,
            "Declared personal values, typed values, secrets, app identifiers and UK "
            f"identifiers were redacted; {dropped} binary resource(s) (images) were left out.\n",
        )
    return out.getvalue()


def _is_text(name: str, raw: bytes) -> bool:
    if not name.lower().endswith(_TEXT_MEMBERS) and "." in name.rsplit("/", 1)[-1]:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
