"""Hooks through which the CLI (progress bars) or a test watches a run."""

from __future__ import annotations

from borough.ledger import ItemRecord, ItemState


class RunObserver:
    """Default observer: ignores everything. Override what you want to show."""

    def on_run_started(self, run_id: str, bot: str) -> None:
        """The run is recorded and about to ingest."""

    def on_ingested(self, item: ItemRecord) -> None:
        """A new item (or a corrected invalid one) was recorded."""

    def on_known(self, item: ItemRecord) -> None:
        """An item read from the input was already in the ledger; left as it is."""

    def on_work_started(self, pending: int) -> None:
        """Ingest is over; ``pending`` items wait to be worked."""

    def on_item(self, item_id: int, state: ItemState, message: str | None) -> None:
        """An item reached ``state`` (PENDING means: retry scheduled)."""

    def on_wait(self, seconds: float) -> None:
        """Only retries that are not yet due remain; the run waits."""

    def on_seat_wait(self, message: str) -> None:
        """The run waits for a licence seat (``message`` names the app and its holders)."""
