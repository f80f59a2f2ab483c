"""Exactly-once for every kind of target: check-first and items saved in batches.

Two rules a bot opts into (class attributes, overridden by its config):

* ``check_first``: ``find_existing`` is asked before ``process`` for every item that
  starts untouched, so a ledger that is new to a target which already holds the data (a
  lost or moved ledger, the first run after a manual migration) duplicates nothing.
* ``save_every: N``: for apps that keep changes until an explicit save (a desktop client's
  "Save", a basket's "Save all"). ``process`` puts one item into the app's unsaved state;
  the item is IN_FLIGHT (its intent recorded) and *staged*. After N staged items, before the
  run waits or stops at ``--max-items``, before a failed item is looked up, and at the end,
  the runtime writes ``batch.intent`` (the tokens of every staged item, fsynced), proves the
  lease and calls ``bot.save(ctx)``; then each item is DONE (``detail.batch``). A save that
  raises settles each item of the batch as any failure past the intent: ``find_existing``
  first. A crash at any moment leaves the batch's items IN_FLIGHT, so the next run looks
  each one up before anything else: saved ones are DONE, unsaved ones are done again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loguru import logger

from borough.bot import Bot, Item
from borough.config.models import BotConfig
from borough.context import ItemScope, RunContext
from borough.errors import (
    AppRefusedError,
    AuditError,
    BoroughError,
    ConfigError,
    LeaseLostError,
)
from borough.ledger import Claim, ItemState

if TYPE_CHECKING:
    from borough.audit.trail import AuditTrail


@dataclass(frozen=True)
class ItemRules:
    """How a bot's items reach the target exactly once (see the module docstring)."""

    check_first: bool = False
    save_every: int = 0
    batch: int = 1  #: items claimed, recorded and finished together (borough.item_batch)


def item_rules(bot_cls: type[Bot[Any]], bot_config: BotConfig | None) -> ItemRules:
    """The bot's rules, its config first; a rule the bot cannot keep is a config error."""
    check = bot_cls.check_first
    every = bot_cls.save_every
    if bot_config is not None and bot_config.check_first is not None:
        check = bot_config.check_first
    if bot_config is not None and bot_config.save_every is not None:
        every = bot_config.save_every
    where = f"config/bots/{bot_cls.name}.yaml" if bot_config is not None else "the bot class"
    lookup = bot_cls.find_existing is not Bot.find_existing
    if check and not lookup:
        raise ConfigError(
            f"bot {bot_cls.name!r} asks for check_first ({where}) but has no find_existing(): "
            "define find_existing(ctx, item) to look an item up in the target"
        )
    if every:
        if bot_cls.save is Bot.save:
            raise ConfigError(
                f"bot {bot_cls.name!r} has save_every: {every} ({where}) but no save(): "
                "define save(ctx) to press the app's save, or set save_every: 0"
            )
        if not lookup:
            raise ConfigError(
                f"bot {bot_cls.name!r} has save_every: {every} ({where}) but no "
                "find_existing(): after a crash every item of an unsaved batch is looked up "
                "in the target, so define find_existing(ctx, item)"
            )
    size, size_from = bot_cls.batch, f"class {bot_cls.__name__}"
    if bot_config is not None and bot_config.batch is not None:
        size, size_from = bot_config.batch, f"config/bots/{bot_cls.name}.yaml"
    _check_batch(bot_cls, size, every=every, lookup=lookup, where=size_from)
    return ItemRules(check_first=check, save_every=every, batch=size)


def _check_batch(
    bot_cls: type[Bot[Any]], size: int, *, every: int, lookup: bool, where: str
) -> None:
    """``batch > 1`` needs a way to prove an item is in the target (a crash leaves up to
    ``batch`` items to check) and cannot be combined with ``save_every``."""
    if size < 1:
        raise ConfigError(f"bot {bot_cls.name!r} has batch: {size} ({where}); use 1 or more")
    if size == 1:
        return
    if not lookup:
        raise ConfigError(
            f"bot {bot_cls.name!r} has batch: {size} ({where}) but no find_existing(): a run "
            f"killed mid-batch leaves up to {size} items whose fate only the target knows, so "
            "define find_existing(ctx, item) to look an item up there, or set batch: 1"
        )
    if every:
        raise ConfigError(
            f"bot {bot_cls.name!r} has both batch: {size} and save_every: {every} ({where}); "
            "save_every already groups the items of a save: set batch: 1"
        )


@dataclass
class Staged:
    """An item the app holds unsaved: its claim (IN_FLIGHT), item and reference so far."""

    claim: Claim
    item: Item[Any]
    scope: ItemScope
    reference: str | None


@dataclass
class SaveBatch:
    """The staged items of a ``save_every`` bot and the one way they are saved.

    ``done(claim, reference, detail)``, ``settle(claim, item, exc)`` and ``park(claim)``
    are the worker's: an item DONE, an item settled after a failure (``find_existing``
    first), an item left IN_FLIGHT for the next run's check.
    """

    size: int
    bot: Bot[Any]
    ctx: RunContext[Any]
    trail: AuditTrail
    done: Callable[[Claim, str | None, Mapping[str, Any]], object]
    settle: Callable[[Claim, Item[Any], Exception], object]
    park: Callable[[Claim], object]
    staged: list[Staged] = field(default_factory=list)
    saves: int = 0

    def stage(self, claim: Claim, item: Item[Any], reference: str | None) -> ItemState:
        """Hold ``item`` (its intent recorded) until the next save."""
        scope = self.ctx.item
        if scope is None:
            raise RuntimeError("an item is staged outside its scope")
        self.staged.append(Staged(claim, item, scope, reference))
        return ItemState.IN_FLIGHT

    @property
    def full(self) -> bool:
        return len(self.staged) >= self.size

    @property
    def held(self) -> frozenset[int]:
        """Ledger ids of the items the app holds unsaved (never adopted by their own run)."""
        return frozenset(s.claim.item_id for s in self.staged)

    def save(self, failing: Staged | None = None, error: Exception | None = None) -> None:
        """Record the batch's intent, save, and settle each of its items.

        ``failing``: an item whose ``process`` failed past its intent; the app may hold part
        of it, so the save covers it too, and it is then looked up (``error`` decides if it
        is absent). A save that fails is followed by ``bot.discard`` (the app keeps nothing
        unsaved that a later save could write) before any item is looked up.
        """
        batch, self.staged = self.staged, []
        covered = [*batch, *([failing] if failing else [])]
        if not covered:
            return
        self.saves += 1
        number = self.saves
        with self._outside_items():
            self.ctx.check_lease()  # a run that lost its lease must not save
            self.trail.emit(
                "batch.intent",
                outcome="pending",
                step="save",
                detail={"batch": number, "items": [s.scope.token for s in covered]},
            )
            try:
                references = self.bot.save(self.ctx) or {}
            except (LeaseLostError, AuditError):
                raise  # the items stay IN_FLIGHT: the next run looks each one up
            except Exception as exc:
                if isinstance(exc, AppRefusedError):
                    self._park(covered)
                    raise
                self._discard(covered)
                for staged in covered:
                    with self._as(staged):
                        self.settle(staged.claim, staged.item, exc)
                return
            except BaseException:  # RunCancelled, Ctrl+C: parked for the next run's check
                self._park(covered)
                raise
        for staged in batch:
            with self._as(staged):
                reference = references.get(staged.item.key) or staged.reference
                self.done(staged.claim, reference, {"batch": number})
        if failing is not None and error is not None:
            with self._as(failing):
                self.settle(failing.claim, failing.item, error)

    def save_failing(self, claim: Claim, item: Item[Any], error: Exception) -> None:
        """``process`` failed past the intent: save what the app holds, then look it up."""
        scope = self.ctx.item
        if scope is None:
            raise RuntimeError("an item failed outside its scope")
        self.save(Staged(claim, item, scope, None), error)

    def _discard(self, covered: list[Staged]) -> None:
        try:
            self.bot.discard(self.ctx)
        except Exception as exc:
            with contextlib.suppress(Exception):
                self._park(covered)
            raise BoroughError(
                f"the app's save failed and its unsaved changes could not be discarded "
                f"({type(exc).__name__}: {exc}); the run stops, and the next run looks up "
                "each item of the batch in the target before doing anything"
            ) from exc

    def abandon(self) -> None:
        """The run stops or pauses (its ledger unreachable): what the app holds unsaved is
        discarded, and the staged items are parked, so each is looked up before anything is
        done again (by this run after a pause, or the next). If discarding fails the run
        must stop: a later save could write what was held."""
        batch, self.staged = self.staged, []
        if not batch:
            return
        self._discard(batch)
        try:
            self._park(batch)
        except Exception as exc:  # the ledger is away: they stay IN_FLIGHT, looked up later
            logger.bind(action="batch.park").warning("held items stay in flight: {}", exc)

    def _park(self, batch: list[Staged]) -> None:
        for staged in batch:
            with self._as(staged):
                self.park(staged.claim)

    @contextlib.contextmanager
    def _as(self, staged: Staged) -> Iterator[None]:
        """Records of a staged item carry its own token, subjects and attempt."""
        previous, self.ctx.item = self.ctx.item, staged.scope
        try:
            yield
        finally:
            self.ctx.item = previous

    @contextlib.contextmanager
    def _outside_items(self) -> Iterator[None]:
        previous, self.ctx.item = self.ctx.item, None
        try:
            yield
        finally:
            self.ctx.item = previous
