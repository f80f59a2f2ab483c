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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, cast, overload

from typing_extensions import TypeVar

from borough.batches import item_rules
from borough.bot import Bot, Item
from borough.config.models import BotConfig, RetryPolicy
from borough.connect import Connector
from borough.context import ItemScope, RunContext
from borough.errors import (
    AppRefusedError,
    BusinessRuleError,
    ConfigError,
    NeedsReviewError,
    SkipItem,
    TransientError,
)
from borough.evidence import DownloadFolder
from borough.fakes import MemorySecrets, TestClock
from borough.item_worker import describe_error
from borough.ledger.models import ItemState

S = TypeVar("S", default=Any)
C = TypeVar("C", bound=Connector)


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

    def close(self) -> None:
        """Close the fakes too (a :class:`MemoryTarget` then drops what it held unsaved)."""
        super().close()
        for fake in self.fakes.values():
            if isinstance(fake, Connector):
                fake.close()

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
    found_first: bool = False


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
        check_first: bool | None = None,
        save_every: int | None = None,
    ) -> None:
        self.bot = bot
        self.rules = item_rules(
            type(bot),
            BotConfig(bot=type(bot).name, check_first=check_first, save_every=save_every),
        )
        self._staged: list[tuple[Item[Any], str | None, int]] = []
        self._result = RunResult({})
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
            result = self._result = RunResult({})
            for item in list(items if items is not None else bot.items(ctx)):
                known = self.ledger.get(item.key)
                if known is not None and (known[0].state in _SETTLED or known[1] == item.payload()):
                    result.already_done += known[0].state is ItemState.DONE
                    continue
                if not item.valid:
                    self._record(item, Outcome(item.key, ItemState.FAILED, error=item.invalid))
                else:
                    self._record(item, self._work(item))
                if len(self._staged) >= max(self.rules.save_every, 1):
                    self._save()
            self._save()
            return result
        finally:
            self._staged = []
            bot.teardown(ctx)
            ctx.close()

    def _record(self, item: Item[Any], outcome: Outcome | None) -> None:
        if outcome is not None:  # None: held by the app until the next save
            self.ledger[item.key] = (outcome, item.payload())
            self._result.outcomes[item.key] = outcome

    def _work(self, item: Item[Any], first: int = 1) -> Outcome | None:
        bot, ctx = self.bot, self.ctx
        in_flight: str | None = None  # why the target may hold the item already
        for attempt in range(first, self.policy.attempts + 1):
            ctx.item = ItemScope(token=f"item:{item.key}", attempt=attempt)
            if in_flight is None and self.rules.check_first:
                settled = self._check(item, "checked before processing", attempt)
                if isinstance(settled, Outcome):
                    return replace(settled, recovered=False, found_first=True)
                if settled is True:  # cannot ask now: wait, never process blind
                    self.clock.sleep(self.policy.delay(attempt))
                    continue
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
                if ctx.item.intent_recorded and self.rules.save_every:
                    # the app may hold part of it: saved first, then looked up
                    return self._save(failing=(item, exc, attempt))
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
            if self.rules.save_every and ctx.item.intent_recorded:
                self._staged.append((item, reference, attempt))
                return None
            return Outcome(item.key, ItemState.DONE, reference, attempts=attempt)
        if in_flight is None:  # check_first could not ask the target: never processed blind
            why = f"gave up after {attempt} attempts: the target could not be checked first"
            return Outcome(item.key, ItemState.FAILED, error=why, attempts=attempt)
        why = f"{in_flight}; the target could not be checked"
        return Outcome(item.key, ItemState.NEEDS_REVIEW, error=why, attempts=attempt)

    def _save(self, failing: tuple[Item[Any], Exception, int] | None = None) -> Outcome | None:
        """Save what the app holds (the runner's ``SaveBatch`` rules); the failing item's
        outcome once it is looked up."""
        batch, self._staged = self._staged, []
        covered = [(item, attempt) for item, _, attempt in batch]
        covered += [(failing[0], failing[2])] if failing else []
        if not covered:
            return None
        tokens = [f"item:{item.key}" for item, _ in covered]
        self.trail.emit("batch.intent", outcome="pending", detail={"items": tokens})
        try:
            references = self.bot.save(self.ctx) or {}
        except AppRefusedError:
            raise
        except Exception as exc:
            self.bot.discard(self.ctx)
            for item, attempt in covered:
                self._record(item, self._after_failed_save(item, exc, attempt))
            return None
        for item, given, attempt in batch:
            reference = references.get(item.key) or given
            self._record(item, Outcome(item.key, ItemState.DONE, reference, attempts=attempt))
        if failing is None:
            return None
        return self._after_failed_save(*failing)

    def _after_failed_save(self, item: Item[Any], exc: Exception, attempt: int) -> Outcome | None:
        settled = self._check(item, describe_error(exc), attempt)
        if isinstance(settled, Outcome):
            return settled
        if settled is True:
            why = f"{describe_error(exc)}; the target could not be checked"
            return Outcome(item.key, ItemState.NEEDS_REVIEW, error=why, attempts=attempt)
        decided = self._decide(item, exc, describe_error(exc), attempt)
        if decided is not None:
            return decided
        self.clock.sleep(self.policy.delay(attempt))
        return self._work(item, attempt + 1)

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
