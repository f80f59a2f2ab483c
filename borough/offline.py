"""A bot's unit tests in milliseconds: its methods run in memory, against fakes.

:class:`OfflineRun` drives a bot the way the runner does (every item read before any is
worked; intent before the change; after a failure in flight ``find_existing`` decides;
retryable errors retried with backoff; a second run skips what is settled), but with no
ledger, audit trail, browser or display: the apps are fakes (:class:`MemoryTarget`, or
any object the bot's own seam accepts), secrets live in :class:`MemorySecrets` and waits
pass on a :class:`TestClock`. It proves a bot's logic; the real runner against a sandbox
app (an integration test) proves the bot with the app.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Generic, cast, overload

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

from borough.bot import Bot, Item
from borough.config.models import RetryPolicy
from borough.connect import AppServices, Connector
from borough.context import ItemScope, RunContext
from borough.errors import (
    AppRefusedError,
    BusinessRuleError,
    ConfigError,
    NeedsReviewError,
    SecretsError,
    SkipItem,
    TransientError,
)
from borough.evidence import DownloadFolder
from borough.ledger.models import ItemState
from borough.secrets.keys import KeyMaterial
from borough.worker import describe_error

S = TypeVar("S", default=Any)
C = TypeVar("C", bound=Connector)
#: the moment a :class:`TestClock` starts at unless told otherwise (a Monday, 09:00 UTC)
EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class TestClock:
    """Time that passes only when the test (or a wait) says so: ``sleep`` returns at once."""

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime = EPOCH) -> None:
        self._now = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - EPOCH).total_seconds()

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        """What a wait would have been: recorded in ``slept``, and the clock moves on."""
        self.slept.append(seconds)
        self.advance(seconds)


class MemorySecrets:
    """The secret store's interface (``get``/``find``/``set``/``delete``/``names``) in memory:
    no file, no key derivation. ``on_value`` sees every value read (the runtime redacts them)."""

    def __init__(
        self,
        values: Mapping[str, str] | None = None,
        on_value: Callable[[str], None] | None = None,
    ) -> None:
        self._values = dict(values or {})
        self._on_value = on_value or (lambda value: None)

    def has(self, name: str) -> bool:
        return name in self._values

    def find(self, name: str) -> str | None:
        value = self._values.get(name)
        if value is not None:
            self._on_value(value)
        return value

    def get(self, name: str) -> str:
        value = self.find(name)
        if value is None:
            raise SecretsError(
                f"no secret named {name!r} in the in-memory store; give it as secrets={{...}}"
            )
        return value

    def set(self, name: str, value: str) -> None:
        if not value:
            raise SecretsError(f"refusing to store an empty value for secret {name!r}")
        self._values[name] = value

    def delete(self, name: str) -> None:
        if self._values.pop(name, None) is None:
            raise SecretsError(f"no secret named {name!r} to delete")

    def names(self) -> list[str]:
        return sorted(self._values)


def memory_keys() -> KeyMaterial:
    """A fresh set of installation keys (signing, token, ledger), made in memory."""
    return KeyMaterial.generate()


class MemorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reference_prefix: str = "REF-"


def _no_services() -> AppServices:
    def ignore(*args: Any, **kwargs: Any) -> None:
        return None

    def no_secret(name: str) -> str:
        raise SecretsError(f"a MemoryTarget has no secret {name!r}")

    here = Path(".")
    return AppServices(secret=no_secret, capture=ignore, step=ignore, home=here, run_folder=here)


class MemoryTarget(Connector):
    """A fake target app in memory: ``create(key, data)`` returns its reference,
    ``find(key)`` finds it again. ``writes`` counts every create per key (exactly-once is
    ``max(writes.values()) == 1``); ``fail_next`` injects a fault before or after the
    write; ``down`` makes every call a :class:`TransientError`."""

    kind: ClassVar[str] = "memory"
    Settings: ClassVar[type[BaseModel]] = MemorySettings
    settings: MemorySettings

    def __init__(
        self,
        name: str = "target",
        settings: MemorySettings | None = None,
        services: AppServices | None = None,
    ) -> None:
        super().__init__(name, settings or MemorySettings(), services or _no_services())
        self.records: dict[str, tuple[str, Any]] = {}
        self.writes: Counter[str] = Counter()
        self.down = False
        self._faults: list[tuple[bool, BaseException]] = []

    def fail_next(
        self, times: int = 1, *, after_write: bool = False, error: BaseException | None = None
    ) -> None:
        """The next ``times`` creates fail (``after_write``: once the record is kept)."""
        fault = error or TransientError(f"{self.name} fault injected", app=self.name)
        self._faults.extend([(after_write, fault)] * times)

    def _check_up(self, step: str) -> None:
        if self.down:
            raise TransientError(f"{self.name} is not answering", app=self.name, step=step)

    def create(self, key: str, data: object = None) -> str:
        self._check_up("create")
        after, fault = self._faults.pop(0) if self._faults else (False, None)
        if fault is not None and not after:
            raise fault
        reference = f"{self.settings.reference_prefix}{len(self.records) + 1:06d}"
        self.records[key] = (reference, data)
        self.writes[key] += 1
        if fault is not None:
            raise fault
        return reference

    def find(self, key: str, data: object = None) -> str | None:
        self._check_up("find")
        found = self.records.get(key)
        return None if found is None else found[0]

    def close(self) -> None:
        """Nothing to release; the records stay for the test to read."""


class MemoryTrail:
    """Stands in for the audit trail: keeps each event as a dict (``events``)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, action: str, **fields: Any) -> None:
        self.events.append({"action": action, **fields})


@dataclass
class OfflineContext(RunContext[S]):
    """A :class:`RunContext` whose apps are the fakes given, secrets in memory, no runtime."""

    fakes: Mapping[str, object] = field(default_factory=dict)
    memory_secrets: MemorySecrets = field(default_factory=MemorySecrets)

    def secret(self, name: str) -> str:
        return self.memory_secrets.get(name)

    @property
    def run_folder(self) -> Path:
        raise ConfigError("an offline run has no run folder: test this in an integration test")

    @property
    def downloads(self) -> DownloadFolder:
        raise ConfigError("an offline run keeps no downloads: test this in an integration test")

    @overload
    def app(self, name: str) -> Connector: ...
    @overload
    def app(self, name: str, kind: type[C]) -> C: ...
    def app(self, name: str, kind: type[Connector] | None = None) -> Connector:
        """The fake registered for ``name`` (it stands in for any kind of connector)."""
        if self.dry_run:
            return super().app(name)
        if self.apps_allowed and name not in self.apps_allowed:
            return super().app(name)  # the same error as a real run
        if name not in self.fakes:
            raise ConfigError(
                f"no fake for app {name!r}: give OfflineRun(..., apps={{{name!r}: fake}})"
            )
        return cast(Connector, self.fakes[name])

    def capture(
        self, name: str, content: bytes | str, *, kind: str, step: str | None = None
    ) -> Any:
        self.step("evidence", name=name, kind=kind, evidence_step=step)
        return None


@dataclass(frozen=True)
class Outcome:
    """What became of one item: its state, the target's reference or the reason."""

    key: str
    state: ItemState
    reference: str | None = None
    error: str | None = None
    attempts: int = 0
    recovered: bool = False


@dataclass
class RunResult:
    """The outcomes of one :meth:`OfflineRun.run` (items skipped as settled are left out)."""

    outcomes: dict[str, Outcome]
    already_done: int = 0

    def states(self) -> dict[str, ItemState]:
        return {key: outcome.state for key, outcome in self.outcomes.items()}

    def count(self, state: ItemState) -> int:
        return sum(1 for outcome in self.outcomes.values() if outcome.state is state)

    @property
    def done(self) -> int:
        return self.count(ItemState.DONE)

    @property
    def failed(self) -> int:
        return self.count(ItemState.FAILED)


_SETTLED = (ItemState.DONE, ItemState.SKIPPED, ItemState.NEEDS_REVIEW)


class OfflineRun(Generic[S]):
    """Run a bot in memory, as often as a test likes; settled keys are remembered."""

    def __init__(
        self,
        bot: Bot[Any, S],
        *,
        settings: S | Mapping[str, Any] | None = None,
        inputs: Mapping[str, Path | str] | None = None,
        apps: Mapping[str, object] | None = None,
        secrets: Mapping[str, str] | MemorySecrets | None = None,
        clock: TestClock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.bot = bot
        self.clock = clock or TestClock()
        self.policy = retry or type(bot).retry
        self.secrets = secrets if isinstance(secrets, MemorySecrets) else MemorySecrets(secrets)
        self.trail = MemoryTrail()
        self.ledger: dict[str, tuple[Outcome, dict[str, Any] | None]] = {}
        self.ctx: OfflineContext[S] = OfflineContext(
            runtime=cast(Any, None),
            run_id="offline",
            bot_name=type(bot).name,
            trail=cast(Any, self.trail),
            inputs={name: Path(path) for name, path in (inputs or {}).items()},
            settings=self._settings(settings),
            fakes=dict(apps or {}),
            memory_secrets=self.secrets,
        )

    def _settings(self, given: S | Mapping[str, Any] | None) -> S:
        model = type(self.bot).settings_model
        if model is not None and (given is None or isinstance(given, Mapping)):
            return cast(S, model.model_validate(dict(given or {})))
        return cast(S, dict(given or {}) if given is None else given)

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The ``ctx.step`` records of every run so far."""
        return [event for event in self.trail.events if event["action"] == "item.step"]

    def run(self, items: Iterable[Item[Any]] | None = None) -> RunResult:
        """One run: ``bot.items(ctx)`` (or ``items``) read in full, then each worked."""
        bot, ctx = self.bot, self.ctx
        bot.setup(ctx)
        try:
            result = RunResult({})
            for item in list(items if items is not None else bot.items(ctx)):
                known = self.ledger.get(item.key)
                if known is not None and (known[0].state in _SETTLED or known[1] == item.payload()):
                    result.already_done += known[0].state is ItemState.DONE
                    continue
                if not item.valid:
                    outcome = Outcome(item.key, ItemState.FAILED, error=item.invalid)
                else:
                    outcome = self._work(item)
                self.ledger[item.key] = (outcome, item.payload())
                result.outcomes[item.key] = outcome
            return result
        finally:
            bot.teardown(ctx)
            ctx.close()

    def _work(self, item: Item[Any]) -> Outcome:
        bot, ctx = self.bot, self.ctx
        in_flight: str | None = None  # why the target may hold the item already
        for attempt in range(1, self.policy.attempts + 1):
            ctx.item = ItemScope(token=f"item:{item.key}", attempt=attempt)
            if in_flight is not None:  # as the runner settles a parked item: look first
                settled = self._check(item, in_flight, attempt)
                if settled is None:
                    in_flight = None
                elif isinstance(settled, Outcome):
                    return settled
                else:
                    self.clock.sleep(self.policy.delay(attempt))
                    continue
            ctx.item.intent_recorded = not type(bot).declares_intent
            ctx.item.on_intent = self._intent
            try:
                reference = bot.process(ctx, item)
            except SkipItem as exc:
                return Outcome(item.key, ItemState.SKIPPED, error=str(exc), attempts=attempt)
            except AppRefusedError:
                raise  # the runner stops the whole run here (a wrong password)
            except Exception as exc:
                error = describe_error(exc)
                if ctx.item.intent_recorded:
                    settled = self._check(item, error, attempt)
                    if isinstance(settled, Outcome):
                        return settled
                    if settled is not None:  # cannot tell yet: look again before redoing
                        in_flight = error
                        self.clock.sleep(self.policy.delay(attempt))
                        continue
                decided = self._decide(item, exc, error, attempt)
                if decided is not None:
                    return decided
                self.clock.sleep(self.policy.delay(attempt))
                continue
            finally:
                ctx.item.on_intent = None
            return Outcome(item.key, ItemState.DONE, reference, attempts=attempt)
        assert in_flight is not None  # only an unanswered check leaves the loop
        why = f"{in_flight}; the target could not be checked"
        return Outcome(item.key, ItemState.NEEDS_REVIEW, error=why, attempts=attempt)

    def _intent(self, step: str, target: str | None) -> None:
        self.trail.emit("item.intent", step=step, target=target, outcome="pending")

    def _check(self, item: Item[Any], error: str, attempt: int) -> Outcome | bool | None:
        """find_existing after a doubt: an Outcome if settled, None if certainly absent,
        True if the target could not answer now (asked again on the next attempt)."""
        try:
            found = self.bot.find_existing(self.ctx, item)
        except TransientError:
            return True
        except Exception as check:
            why = f"{error}; cannot tell whether the target holds it: {describe_error(check)}"
            return Outcome(item.key, ItemState.NEEDS_REVIEW, error=why, attempts=attempt)
        if found:
            return Outcome(item.key, ItemState.DONE, found, attempts=attempt, recovered=True)
        return None

    def _decide(self, item: Item[Any], exc: Exception, error: str, attempt: int) -> Outcome | None:
        """The target is known untouched: the error decides (None: try again)."""
        if isinstance(exc, BusinessRuleError):
            return Outcome(item.key, ItemState.FAILED, error=error, attempts=attempt)
        if isinstance(exc, NeedsReviewError):
            return Outcome(item.key, ItemState.NEEDS_REVIEW, error=error, attempts=attempt)
        if isinstance(exc, type(self.bot).retryable):
            if attempt < self.policy.attempts:
                return None
            error = f"gave up after {attempt} attempts: {error}"
        return Outcome(item.key, ItemState.FAILED, error=error, attempts=attempt)
