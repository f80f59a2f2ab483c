"""What goes into and comes out of the chain writer, apart from the chain itself.

Kept apart from :mod:`borough.audit.chain` (which appends, fsyncs and signs) so the writer
stays one job: the fields a caller gives a record, a checkpoint's fields, NaN-safe values,
the loguru filter that picks audit records, and a group's log lines once it is durable.
"""

from __future__ import annotations

import math
from typing import Any

from loguru import logger

from borough.audit import records


def log_lines(lines: list[tuple[str, str, dict[str, Any]]]) -> None:
    """A group's log lines, one loguru message per run of lines with the same run and level
    (a line a record). The lines are made of written records, which the writer redacted:
    ``redacted=True`` tells the text sinks not to redact them again."""
    start = 0
    for end in range(1, len(lines) + 1):
        same_level = end < len(lines) and lines[end][0] == lines[start][0]
        if same_level and lines[end][2].get("run_id") == lines[start][2].get("run_id"):
            continue
        level, _, first = lines[start]
        text = "\n".join(line for _, line, _ in lines[start:end])
        action = first.get("action") or "-"
        logger.bind(action=action, run_id=first.get("run_id"), redacted=True).log(level, text)
        start = end


ROUTINE = {"reason": "every-n"}  #: the detail of a checkpoint signed every N records

#: What a caller's fields give a record (the writer sets the chain's own fields).
GIVEN = tuple(
    key
    for key in records.FIELDS
    if key not in {"schema", "seq", "ts", "prev_hash", "hash", "signature"}
)


def json_safe(value: Any) -> Any:
    """``value`` with NaN/Infinity as text (JSON has none; canonical records refuse them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def checkpoint_fields(context: dict[str, Any], *, reason: str) -> dict[str, Any]:
    """Fields of a signed checkpoint carrying the run context of ``context``."""
    return {
        "host": context.get("host"),
        "run_id": context.get("run_id"),
        "bot": context.get("bot"),
        "bot_version": context.get("bot_version"),
        "actor": "borough",
        "action": records.CHECKPOINT,
        "outcome": "ok",
        "detail": {"reason": reason},
    }


def is_audit_record(record: Any) -> bool:
    """loguru filter for :class:`ChainSink`."""
    return "audit" in record["extra"]
