"""Connectors by kind: resolved through the ``borough.connectors`` entry points."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from borough.config.loader import config_error_from
from borough.config.models import AppConfig
from borough.config.yaml_lines import LocatedYaml
from borough.errors import ConfigError

GROUP = "borough.connectors"


def no_lease() -> None:
    """Outside a run (tests, tools) there is no lease to lose."""


def _no_book(pid: int, what: str = "") -> None:
    """Processes are not recorded (a connector used outside a run)."""


def _ignore(value: str, *, secret: bool = False) -> None:
    """Outside a run (tests, tools) there is no redactor to tell."""


@dataclass(frozen=True)
class AppServices:
    """What a connector may use from the runtime: secrets, evidence and the audit trail.

    ``check_lease`` re-checks that the run still owns its items; a connector calls it right
    before a step that saves in the app. It is cheap (no database access while the run's
    heartbeat keeps up) and raises :class:`~borough.errors.RunFencedError` once the run has
    lost its lease: the connector must then let it propagate and save nothing.
    """

    secret: Callable[[str], str]
    capture: Callable[..., Any]
    step: Callable[..., Any]
    home: Path
    run_folder: Path
    check_lease: Callable[[], None] = no_lease
    #: ``keep_out(value, secret=False)``: a value typed into an app (or a cookie) is
    #: redacted from every log, reason and piece of evidence of the run from now on
    keep_out: Callable[..., None] = _ignore
    #: ``own_process(pid, what)``: the connector started this process (an app, a display);
    #: if the run is killed, the next run stops it (:mod:`borough.processes`)
    own_process: Callable[[int, str], None] = _no_book
    #: ``disown_process(pid)``: the connector stopped it itself
    disown_process: Callable[[int], None] = _no_book


class Connector(abc.ABC):
    """One open session with one legacy application (``config/apps.yaml`` entry).

    Subclasses set ``kind`` and a pydantic ``Settings`` model for their keys in apps.yaml.
    """

    kind: ClassVar[str]
    Settings: ClassVar[type[BaseModel]]

    def __init__(self, name: str, settings: Any, services: AppServices) -> None:
        self.name = name
        self.settings = settings
        self.services = services

    @abc.abstractmethod
    def close(self) -> None:
        """Release the session (log out, close the browser, stop the app)."""

    def begin_item(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """A new item starts: reset per-item state (e.g. start a fresh browser trace)."""

    def failure_evidence(self) -> list[tuple[str, bytes | str, str]]:
        """(file name, content, kind) describing the app's state when an item failed."""
        return []


C = TypeVar("C", bound=Connector)


def connector_class(kind: str) -> type[Connector]:
    """The connector class for ``kind``: a name installed under the ``borough.connectors``
    entry points, or ``module:Class`` (a council's unpackaged connector, a test double);
    a clear error names the installed kinds."""
    cls: object
    if ":" in kind:
        from borough.registry import import_target

        cls = import_target(kind, where="apps.yaml")
    else:
        found = {ep.name: ep for ep in entry_points(group=GROUP)}
        if kind not in found:
            known = ", ".join(sorted(found)) or "(none installed)"
            raise ConfigError(
                f"unknown connector kind {kind!r}; installed kinds: {known} "
                "(or name a class as module:Class)"
            )
        cls = found[kind].load()
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConfigError(f"connector kind {kind!r} is not a borough Connector")
    return cls


def installed_kinds() -> list[tuple[str, type[BaseModel]]]:
    """(kind, its ``Settings`` model) of every installed connector kind, by name."""
    found = {ep.name for ep in entry_points(group=GROUP)}
    return [(kind, connector_class(kind).Settings) for kind in sorted(found)]


def app_settings(name: str, app: AppConfig, doc: LocatedYaml | None = None) -> BaseModel:
    """Validate the kind-specific keys of one app against its connector's Settings model.

    A Settings model that declares ``credential`` also receives the app's ``credential:``
    (the name of a secret, never its value).
    """
    cls = connector_class(app.kind)
    options = app.options
    if "credential" in cls.Settings.model_fields and app.credential is not None:
        options["credential"] = app.credential
    try:
        return cls.Settings.model_validate(options)
    except ValidationError as exc:
        if doc is None:
            raise ConfigError(f"app {name!r}: {exc.errors()[0]['msg']}") from None
        raise config_error_from(exc, cls.Settings, doc, ("apps", name)) from None


def open_connector(name: str, app: AppConfig, services: AppServices) -> Connector:
    cls = connector_class(app.kind)
    return cls(name, app_settings(name, app), services)
