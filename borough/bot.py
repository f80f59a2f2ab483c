"""The bot author's API: subclass :class:`Bot`, yield :class:`Item` s, process one at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic

from pydantic import BaseModel
from typing_extensions import TypeVar

from borough.config.models import RetryPolicy
from borough.errors import NeedsReviewError, TransientError

if TYPE_CHECKING:
    from borough.context import RunContext

#: the schema (pydantic model) of one item's data
T = TypeVar("T", bound=BaseModel, default=Any)
#: the bot's settings model (``settings_model``); ``ctx.settings`` has this type
S = TypeVar("S", default=Any)


class Item(Generic[T]):
    """One unit of work, identified by a stable key derived from its source row.

    ``invalid`` holds the reason when the row could not be validated: the item is still
    recorded (as FAILED, with that reason) so nothing read from the input is lost. Such an
    item is never given to ``process()``, so there ``item.data`` is always the schema type
    (no ``assert item.data is not None``).
    """

    __slots__ = ("_data", "invalid", "key", "raw", "source")

    def __init__(
        self,
        key: str,
        data: T | None = None,
        source: str | None = None,
        invalid: str | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        self.key = key
        self._data = data
        self.source = source
        self.invalid = invalid
        self.raw = raw

    @property
    def data(self) -> T:
        """The validated row (the bot's ``schema``); an invalid item has none."""
        if self._data is None:
            raise ValueError(f"item {self.key!r} has no data: {self.invalid or 'none recorded'}")
        return self._data

    @property
    def has_data(self) -> bool:
        return self._data is not None

    @property
    def valid(self) -> bool:
        return self.invalid is None

    def __repr__(self) -> str:
        return (
            f"Item(key={self.key!r}, data={self._data!r}, source={self.source!r}, "
            f"invalid={self.invalid!r})"
        )

    def payload(self) -> dict[str, Any] | None:
        """JSON-able data kept (sealed) in the ledger: the model, or the raw row if invalid."""
        if isinstance(self._data, BaseModel):
            return self._data.model_dump(mode="json")
        if isinstance(self._data, Mapping):  # a bot without a schema
            return {str(k): v for k, v in self._data.items()}
        if self.raw is not None:
            return {str(k): (None if v is None else str(v)) for k, v in self.raw.items()}
        return None

    def personal_values(
        self, fields: Mapping[str, str], *, payload: Mapping[str, Any] | None = None
    ) -> list[tuple[str, str]]:
        """(value, category) of the declared personal fields present in this item
        (``payload``: its :meth:`payload` when the caller has it already)."""
        source = (payload if payload is not None else self.payload()) or {}
        found = []
        for name, category in fields.items():
            value = source.get(name)
            if value not in (None, ""):
                found.append((str(value), category))
        return found


class Bot(Generic[T, S]):
    """Base class of every bot: ``Bot[Row, Settings]`` (``Row`` its ``schema``, ``Settings``
    its ``settings_model``), so that ``item.data`` and ``ctx.settings`` are typed.

    Attributes
    ----------
    name, version
        Identify the bot in the ledger and the audit trail.
    schema
        The pydantic model of one item's data, used to rebuild ``item.data`` from the ledger.
    personal
        ``{field: data category}`` of fields holding personal data: they are tokenised for
        the audit trail and redacted from every log.
    retry, retryable
        How to retry an item after an error of one of the ``retryable`` types.
    declares_intent
        False: the runtime records the intent to change the target before ``process``.
        True: ``process`` calls ``ctx.intent(...)`` itself just before the change, so
        failures before that point are retried without a ``find_existing`` check.
    check_first
        True: ``find_existing`` is asked before ``process`` for every item that starts
        untouched (its first try, and a retry), so a ledger that is new to a target which
        already holds the data duplicates nothing: found -> DONE with the found reference
        (``detail.found_first``). ``check_first:`` in the bot's config overrides it.
    save_every
        For apps that keep changes until an explicit save: ``process`` puts one item into
        the app's unsaved state, and the runtime calls ``save`` after every ``save_every``
        items (and before waiting, stopping at ``--max-items`` or ending). 0: every
        ``process`` is its own save. ``save_every:`` in the bot's config overrides it.
    batch
        Items worked as one batch (default 1: one at a time): claimed together, their
        intents written as one audit group before any ``process``, processed one by one,
        their outcomes written together. After a crash up to ``batch`` items wait for a
        ``find_existing`` check, so ``batch > 1`` needs one. ``batch:`` in the bot's config
        overrides it.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "0.1.0"
    description: ClassVar[str] = ""
    schema: ClassVar[type[BaseModel] | None] = None
    personal: ClassVar[Mapping[str, str]] = {}
    retry: ClassVar[RetryPolicy] = RetryPolicy()
    retryable: ClassVar[tuple[type[BaseException], ...]] = (TransientError,)
    declares_intent: ClassVar[bool] = False
    check_first: ClassVar[bool] = False
    save_every: ClassVar[int] = 0
    batch: ClassVar[int] = 1
    settings_model: ClassVar[type[BaseModel] | None] = None

    def items(self, ctx: RunContext[S]) -> Iterable[Item[T]]:
        """Read the inputs; each item is recorded as PENDING before any is worked."""
        raise NotImplementedError(f"bot {self.name!r} must define items()")

    def process(self, ctx: RunContext[S], item: Item[T]) -> str | None:
        """Do one item in the target and return the target's own reference for it."""
        raise NotImplementedError(f"bot {self.name!r} must define process()")

    def find_existing(self, ctx: RunContext[S], item: Item[T]) -> str | None:
        """Look the item up in the target: its reference if there, None if certainly not.

        Raise when the target cannot tell; the item then goes to NEEDS_REVIEW rather
        than risk a second submission.
        """
        raise NeedsReviewError(
            f"bot {self.name!r} has no find_existing(), so borough cannot check whether the "
            "target already holds this item"
        )

    def save(self, ctx: RunContext[S]) -> Mapping[str, str | None] | None:
        """Save what the app holds unsaved (bots with ``save_every``): the batch's items are
        DONE once this returns. Return ``{item key: reference}`` for references known only
        now; an item missing there keeps the one its ``process`` returned.

        Raise when the save failed or its fate is unknown: every item of the batch is then
        looked up with ``find_existing``, as after any failure past the intent.
        """
        raise NotImplementedError(
            f"bot {self.name!r} sets save_every but has no save(): define save(ctx) to press "
            "the app's save"
        )

    def discard(self, ctx: RunContext[S]) -> None:
        """Throw away what the app still holds unsaved after a failed ``save`` (bots with
        ``save_every``), before the batch's items are looked up and perhaps done again.

        The default closes every app of the run (a connector's ``close`` ends its session
        or process, and the unsaved changes with it); the next use opens it afresh.
        Override it when the app offers a cheaper way (a "Discard changes" button).
        """
        ctx.close()

    def setup(self, ctx: RunContext[S]) -> None:
        """Called once before items are processed (open sessions, log in)."""

    def teardown(self, ctx: RunContext[S]) -> None:
        """Called once at the end of the run, even after an error."""
