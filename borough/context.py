"""What a bot sees while it runs: inputs, settings, apps, secrets, audit steps, evidence."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, cast, overload

from loguru import logger
from typing_extensions import TypeVar

from borough.audit.trail import AuditTrail
from borough.connect import AppServices, Connector, no_lease, open_connector
from borough.errors import ConfigError, ConnectorError
from borough.evidence import DownloadFolder
from borough.processes import ProcessBook

if TYPE_CHECKING:
    from loguru import Logger

    from borough.runtime import Runtime

C = TypeVar("C", bound=Connector)
#: the bot's settings model: a bot declares ``ctx: RunContext[Settings]``
S = TypeVar("S", default=Any)


@dataclass
class ItemScope:
    """The item being worked now (the runner sets it before ``process``)."""

    token: str
    attempt: int
    data_categories: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    intent_recorded: bool = False
    #: records the intent (item IN_FLIGHT) while ``process`` runs; None outside it
    on_intent: Callable[[str, str | None], None] | None = None


@dataclass
class RunContext(Generic[S]):
    """Passed to every bot method. Connectors are opened lazily and closed at run end.

    ``RunContext[Settings]``: ``ctx.settings`` is the bot's ``settings:`` validated by its
    ``settings_model`` (a plain dict for a bot without one).
    """

    runtime: Runtime
    run_id: str
    bot_name: str
    trail: AuditTrail
    inputs: Mapping[str, Path]
    settings: S = field(default=cast(Any, None))
    dry_run: bool = False
    apps_allowed: tuple[str, ...] = ()
    item: ItemScope | None = None
    lease_check: Callable[[], None] = no_lease
    _connectors: dict[str, Connector] = field(default_factory=dict)

    @property
    def log(self) -> Logger:
        """loguru logger bound to this run (and item); messages are redacted at the sink."""
        token = self.item.token if self.item else None
        return logger.bind(run_id=self.run_id, bot=self.bot_name, item=token)

    @property
    def run_folder(self) -> Path:
        return self.runtime.paths.runs / self.run_id

    @property
    def downloads(self) -> DownloadFolder:
        """Where files the run downloads go: sealed in its evidence (``downloads/``), kept
        and purged with it; a saved file is read decrypted in memory (``read_table``)."""
        return DownloadFolder(self.runtime.evidence(self.run_id), self.trail)

    def secret(self, name: str) -> str:
        """A secret by name; the value is registered for redaction."""
        return self.runtime.secrets.get(name)

    @overload
    def app(self, name: str) -> Connector: ...
    @overload
    def app(self, name: str, kind: type[C]) -> C: ...
    def app(self, name: str, kind: type[Connector] | None = None) -> Connector:
        """The open connector for app ``name`` of ``config/apps.yaml`` (opened on first use);
        with ``kind`` it is checked to be one, and typed so: ``ctx.app("casework", WebSession)``."""
        if self.dry_run:
            raise ConnectorError(f"dry run: app {name!r} must not be touched")
        if self.apps_allowed and name not in self.apps_allowed:
            raise ConfigError(
                f"bot {self.bot_name!r} uses app {name!r} but its config lists only "
                f"{', '.join(self.apps_allowed)} under apps:"
            )
        if name not in self._connectors:
            app = self.runtime.config.app(name)
            self._connectors[name] = open_connector(name, app, self._services())
        connector = self._connectors[name]
        if kind is not None and not isinstance(connector, kind):
            raise ConfigError(f"app {name!r} is of kind {connector.kind!r}, not {kind.kind!r}")
        return connector

    def step(self, step: str, *, target: str | None = None, **detail: Any) -> None:
        """Record one step of the current item in the audit trail (``ctx.step('search')``)."""
        self.trail.emit(
            "item.step",
            item=self.item.token if self.item else None,
            attempt=self.item.attempt if self.item else None,
            step=step,
            target=target,
            data_categories=self.item.data_categories if self.item else (),
            detail=detail or None,
        )

    def intent(self, step: str = "submit", *, target: str | None = None) -> None:
        """Record, durably, that the target is about to be changed for the current item.

        Bots with ``declares_intent = True`` call this just before the click that saves;
        the item becomes IN_FLIGHT and any later failure is settled with ``find_existing``.
        """
        scope = self.item
        if scope is None or scope.on_intent is None:
            raise RuntimeError("ctx.intent() is only valid inside process()")
        if not scope.intent_recorded:
            scope.on_intent(step, target)
            scope.intent_recorded = True

    def check_lease(self) -> None:
        """Re-check that this run still owns its items, right before a step that saves.

        Raises :class:`~borough.errors.RunFencedError` if the run was silent so long that
        another run may have taken over: save nothing, let it propagate.
        """
        self.lease_check()

    def capture(
        self, name: str, content: bytes | str, *, kind: str, step: str | None = None
    ) -> Any:
        """Store evidence for the current item (hashed into the audit trail)."""
        return self.runtime.evidence(self.run_id).save(
            self.trail,
            name,
            content,
            kind=kind,
            item=self.item.token if self.item else None,
            step=step,
        )

    def open_connectors(self) -> list[Connector]:
        return list(self._connectors.values())

    def close_app(self, name: str) -> None:
        """Close app ``name``'s connector now (a bot done with it early, e.g. after a
        download); a later ``app(name)`` opens it again. Errors are logged, not raised."""
        connector = self._connectors.pop(name, None)
        if connector is None:
            return
        try:
            connector.close()
        except Exception as exc:
            logger.bind(action="connector.close").warning("closing app {} failed: {}", name, exc)

    def close(self) -> None:
        """Close every connector; errors are logged, not raised, so all get closed."""
        for name in list(self._connectors):
            self.close_app(name)

    def _services(self) -> AppServices:
        return AppServices(
            secret=self.secret,
            capture=self.capture,
            step=self.step,
            home=self.runtime.paths.home,
            run_folder=self.run_folder,
            check_lease=self.lease_check,
            keep_out=self.runtime.redactor.keep_out,
            own_process=lambda pid, what: self.process_book.own(self.run_id, pid, what),
            disown_process=lambda pid: self.process_book.disown(self.run_id, pid),
        )

    @property
    def process_book(self) -> ProcessBook:
        """Processes this run's connectors started (stopped by the next run if it dies)."""
        return ProcessBook(self.runtime.paths.data / "processes")
