"""``--json`` on list and show commands: the facts the table shows, for scripts.

Times are ISO 8601 in UTC, states and statuses their ledger values. Nothing is shown as
JSON that the table does not show (no key or data unless revealed, audited, as there).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from borough.cli._common import flag

if TYPE_CHECKING:
    from borough.ledger import ItemRecord, RunRecord

JsonFlag = Annotated[bool, flag("--json", help="print JSON (for scripts) instead of a table")]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"{type(value).__name__} is not JSON")


def emit(value: Any) -> None:
    """``value`` as indented JSON on stdout (never through Rich: no wrapping, no markup)."""
    sys.stdout.write(json.dumps(value, default=_plain, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def run_json(run: RunRecord) -> dict[str, Any]:
    fields = (
        "id", "bot", "bot_version", "status", "trigger", "schedule", "fire_time", "created_at",
        "started_at", "ended_at", "host", "error", "counts",
    )  # fmt: skip
    return {name: getattr(run, name) for name in fields}


def item_json(item: ItemRecord, *, revealed: bool = False) -> dict[str, Any]:
    fields = (
        "id", "bot", "state", "attempt", "key_token", "source", "reference", "error",
        "resolution", "subjects", "data_categories", "created_at", "updated_at", "not_before",
        "first_run", "last_run",
    )  # fmt: skip
    out = {name: getattr(item, name) for name in fields}
    if revealed:
        out.update(key=item.key, data=item.data)
    return out
