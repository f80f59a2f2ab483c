"""The audit façade bots and the runtime call: ``trail.emit("item.done", item=...)``.

Records travel through loguru (so run logs and console show them too) to the
:class:`~borough.audit.chain.ChainSink`; :meth:`AuditTrail.emit` checks the sink really
wrote, so an unconfigured logger can never drop an audit record silently.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict, Unpack

from loguru import logger

from borough.audit.chain import ChainSink, checkpoint_fields
from borough.audit.records import log_text
from borough.errors import AuditError
from borough.host import host_name

_LEVELS = {"ok": "INFO", "error": "WARNING", "failed": "WARNING", "needs_review": "WARNING"}


class RecordFields(TypedDict, total=False):
    """What a caller says about one record (:meth:`AuditTrail.emit`, :meth:`AuditTrail.fields`);
    the trail adds its context (host, run, bot, actor)."""

    outcome: str  #: "ok" unless given
    item: str | None  #: the item's key token
    attempt: int | None
    step: str | None
    target: str | None
    error: str | None
    data_categories: Iterable[str]
    subjects: Iterable[str]  #: person tokens
    detail: Mapping[str, Any] | None
    evidence: Iterable[Mapping[str, str]]


_FIELD_NAMES = frozenset(RecordFields.__annotations__)


def operator_actor() -> str:
    """Who is at the keyboard, for operator actions (``user:<login>``)."""
    try:
        return f"user:{getpass.getuser()}"
    except (KeyError, OSError):
        return "user:unknown"


@dataclass(frozen=True)
class AuditTrail:
    """Emits records with a fixed context (host, run, bot, actor) into the chain sink."""

    sink: ChainSink
    context: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, sink: ChainSink, *, actor: str | None = None) -> AuditTrail:
        return cls(sink, {"host": host_name(), "actor": actor or operator_actor()})

    def bind(self, **context: Any) -> AuditTrail:
        """A trail whose records also carry ``context`` (run_id, bot, bot_version, actor)."""
        return replace(self, context={**self.context, **context})

    def group(self) -> AbstractContextManager[ChainSink]:
        """Records emitted inside are made durable together at its end (one fsync, one
        signed head): use it only where nothing a record gates happens before the end."""
        return self.sink.group(self.context)

    def emit(self, action: str, **given: Unpack[RecordFields]) -> int:
        """Write one record durably and return its sequence number.

        Inside this thread's :meth:`group` the record goes straight to the chain (durable
        at the group's end) and its log line is logged with the group's others at the end,
        rather than one loguru round a record.
        """
        fields = self.fields(action, **given)
        level = _LEVELS.get(fields["outcome"], "INFO")
        written = self.sink.append_grouped(fields, level=level)
        if written is not None:
            return int(written["seq"])
        before = self.sink.written
        logger.bind(audit=fields, action=action).log(level, log_text(fields))
        if self.sink.written == before:
            raise AuditError(
                "the audit sink is not installed, so this action would go unrecorded; "
                "configure logging with borough.logconfig.configure() before running bots"
            )
        return self.sink.last_seq

    def fields(self, action: str, **given: Unpack[RecordFields]) -> dict[str, Any]:
        """A record's fields with this trail's context (what :meth:`emit` writes)."""
        if not _FIELD_NAMES.issuperset(given):
            unknown = given.keys() - _FIELD_NAMES
            raise TypeError(f"unknown audit record fields: {', '.join(sorted(unknown))}")
        detail = given.get("detail")
        categories = given.get("data_categories")
        subjects = given.get("subjects")
        evidence = given.get("evidence")
        get = given.get
        return {
            **self.context,
            "action": action,
            "outcome": get("outcome", "ok"),
            "item": get("item"),
            "attempt": get("attempt"),
            "step": get("step"),
            "target": get("target"),
            "error": get("error"),
            "data_categories": sorted(set(categories)) if categories is not None else [],
            "subjects": sorted(set(subjects)) if subjects is not None else [],
            "detail": dict(detail) if detail else None,
            "evidence": [dict(e) for e in evidence] if evidence is not None else [],
        }

    def emit_many(self, records: list[dict[str, Any]], *, summary: str) -> list[int]:
        """Write ``records`` (from :meth:`fields`) durably together: one group (one fsync,
        one signed head), checkpoints as usual; the logs get one ``summary`` line, not a
        line a record. For callers with a natural batch (ingest), nothing of which may
        depend on one record before the group ends."""
        if not records:
            return []
        write = self.sink.write_grouped
        # the group holds the lock and has proven the end (a repair it records carries the
        # first record's run context): write each at once
        with self.sink.group(records[0]):
            seqs = [write(fields)["seq"] for fields in records]
        logger.bind(action=records[0]["action"]).info(summary)
        return seqs

    def checkpoint(self, reason: str) -> int:
        """Sign the chain head now (run end, retention purge)."""
        fields = checkpoint_fields(dict(self.context), reason=reason)
        return self.emit(fields["action"], outcome="ok", detail=fields["detail"])
