"""Read and validate the files in ``config/``; every error names file, line and field."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from borough.config.models import AppConfig, AppsFile, BoroughSettings, BotConfig
from borough.config.paths import Paths, resolve_paths
from borough.config.yaml_lines import LocatedYaml, load_yaml
from borough.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def validate_file(model: type[M], file: Path, *, required: bool = True) -> M:
    """Load ``file`` as ``model``; a missing optional file gives the model's defaults."""
    if not file.exists() and not required:
        return model()
    return validate_document(model, load_yaml(file))


def validate_document(model: type[M], doc: LocatedYaml, prefix: tuple[str | int, ...] = ()) -> M:
    data = doc.data if doc.data is not None else {}
    for part in prefix:
        data = data.get(part, {}) if isinstance(data, dict) else {}
    if not isinstance(data, dict):
        raise ConfigError(
            "expected a mapping of keys to values at the top of the file",
            file=doc.file,
            line=doc.line_of(prefix),
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error_from(exc, model, doc, prefix) from None


def config_error_from(
    exc: ValidationError,
    model: type[BaseModel],
    doc: LocatedYaml,
    prefix: tuple[str | int, ...] = (),
) -> ConfigError:
    """Turn pydantic's errors into one :class:`ConfigError` (the first) listing the others."""
    problems = [_problem(err, model, doc, prefix) for err in exc.errors()]
    first = problems[0]
    if len(problems) > 1:
        first.others = problems[1:]
    return first


def _problem(
    err: Any, model: type[BaseModel], doc: LocatedYaml, prefix: tuple[str | int, ...]
) -> ConfigError:
    loc = tuple(err["loc"])
    full = (*prefix, *loc)
    dotted = ".".join(str(part) for part in full) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        hint = f"; allowed keys: {', '.join(sorted(allowed))}" if allowed else ""
        message = f"unknown key {str(loc[-1])!r}{hint}"
    elif kind == "missing":
        message = f"required key {str(loc[-1])!r} is missing"
        return ConfigError(message, file=doc.file, line=doc.line_of(full[:-1]), field=dotted)
    else:
        message = err["msg"].removeprefix("Value error, ")
    return ConfigError(message, file=doc.file, line=doc.line_of(full), field=dotted)


def _allowed_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Field names of the model found at ``loc`` inside ``model`` (best effort)."""
    current: Any = model
    for part in loc:
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return []
            current = info.annotation
        elif origin in (dict, list):
            current = typing.get_args(current)[-1]
        else:
            args = [a for a in typing.get_args(current) if a is not type(None)]
            if len(args) != 1:
                return []
            current = args[0]
            if isinstance(current, type) and issubclass(current, BaseModel):
                info = current.model_fields.get(str(part))
                current = info.annotation if info else None
    while current is not None and not (
        isinstance(current, type) and issubclass(current, BaseModel)
    ):
        args = [a for a in typing.get_args(current) if a is not type(None)]
        current = args[-1] if args else None
    return list(current.model_fields) if current is not None else []


@dataclass
class Config:
    """Everything in ``config/`` plus the resolved folders, loaded once per process.

    Bot config files are read on first use and kept; :meth:`reload` takes ``apps.yaml`` and
    the bots' files afresh (the scheduler does at ``sync``). ``borough.yaml`` is read once:
    its settings choose folders, the ledger and the keys, so a change needs a restart.
    """

    paths: Paths
    settings: BoroughSettings
    apps: dict[str, AppConfig] = field(default_factory=dict)
    _bots: dict[str, BotConfig | None] = field(default_factory=dict, repr=False)

    @property
    def bots_dir(self) -> Path:
        return self.paths.config / "bots"

    def bot_config_file(self, name: str) -> Path:
        return self.bots_dir / f"{name}.yaml"

    def bot_config(self, name: str) -> BotConfig | None:
        """The bot's config file, if it has one (read once; a file with errors is read
        again at each call, so the error is reported each time until it is fixed)."""
        if name not in self._bots:
            self._bots[name] = self._read_bot_config(name)
        return self._bots[name]

    def reload(self) -> None:
        """Read ``apps.yaml`` now, and each bot's config file again at its next use."""
        self.apps = _read_apps(self.paths)
        self._bots.clear()

    def _read_bot_config(self, name: str) -> BotConfig | None:
        file = self.bot_config_file(name)
        if not file.exists():
            return None
        bot = validate_file(BotConfig, file)
        if bot.bot != name:
            raise ConfigError(
                f"file is named for bot {name!r} but says bot: {bot.bot!r}",
                file=file,
                line=load_yaml(file).line_of(("bot",)),
                field="bot",
            )
        unknown = [app for app in bot.apps if app not in self.apps]
        if unknown:
            raise ConfigError(
                f"unknown app {unknown[0]!r}; apps in {self.paths.config / 'apps.yaml'}: "
                f"{', '.join(sorted(self.apps)) or '(none)'}",
                file=file,
                line=load_yaml(file).line_of(("apps",)),
                field="apps",
            )
        return bot

    def bot_names(self) -> list[str]:
        return sorted(p.stem for p in self.bots_dir.glob("*.yaml"))

    def app(self, name: str) -> AppConfig:
        try:
            return self.apps[name]
        except KeyError:
            raise ConfigError(
                f"no app named {name!r}; known apps: {', '.join(sorted(self.apps)) or '(none)'}",
                file=self.paths.config / "apps.yaml",
            ) from None

    @cached_property
    def ledger_url(self) -> str:
        return self.settings.ledger.url or f"sqlite:///{self.paths.data / 'ledger.sqlite'}"

    @cached_property
    def secrets_file(self) -> Path:
        raw = self.settings.secrets.file
        if raw is None:
            return self.paths.data / "secrets.cfg"
        path = Path(raw).expanduser()
        return path if path.is_absolute() else self.paths.home / path


def load_config(paths: Paths | None = None) -> Config:
    """Load ``borough.yaml`` and ``apps.yaml`` (both optional) from the config folder."""
    first = paths or resolve_paths()
    settings = validate_file(BoroughSettings, first.config / "borough.yaml", required=False)
    if paths is None:
        first = resolve_paths(logs=settings.paths.logs, data=settings.paths.data)
    return Config(paths=first, settings=settings, apps=_read_apps(first))


def _read_apps(paths: Paths) -> dict[str, AppConfig]:
    return validate_file(AppsFile, paths.config / "apps.yaml", required=False).apps
