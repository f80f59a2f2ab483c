"""``borough items list|show|retry|resolve``: the operator's handle on individual items."""

from __future__ import annotations

import enum
from typing import Annotated

import typer
from rich.markup import escape

from borough.cli._common import console, opened_runtime, usage

app = typer.Typer(
    help="Look at work items; retry failed ones; resolve those needing review.",
    no_args_is_help=True,
)


class Resolution(enum.StrEnum):
    done = "done"
    failed = "failed"
    skipped = "skipped"
    retry = "retry"


@app.command("list")
def list_items(
    bot: Annotated[str | None, typer.Option(help="only this bot")] = None,
    state: Annotated[
        list[str] | None,
        typer.Option(help="pending, claimed, in_flight, done, failed, needs_review, skipped"),
    ] = None,
    run: Annotated[str | None, typer.Option(help="items of this run")] = None,
    key: Annotated[
        str | None, typer.Option(help="find by the item's key (compared as its token)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Items in the ledger, oldest first."""
    from borough.cli._render import items_table
    from borough.ledger import ItemState

    try:
        states = [ItemState(s.lower().replace("-", "_")) for s in state] if state else None
    except ValueError as exc:
        usage(f"{exc}; states are: {', '.join(s.value for s in ItemState)}")
    with opened_runtime() as runtime:
        run_id = runtime.ledger.runs.get(run).id if run else None
        token = runtime.tokenizer.token(key) if key else None
        items = runtime.ledger.items.list(
            bot=bot, states=states, run_id=run_id, token=token, limit=limit, offset=offset
        )
        if not items:
            console.print("No items match.")
            return
        console.print(items_table(items))


@app.command("show")
def show_item(
    item_id: Annotated[int, typer.Argument(help="the item's id")],
    reveal: Annotated[
        bool, typer.Option("--reveal", help="decrypt and show the item's key and data")
    ] = False,
) -> None:
    """One item; ``--reveal`` decrypts its personal data (recorded in the audit trail)."""
    from borough.cli._render import items_table

    with opened_runtime() as runtime:
        item = runtime.ledger.items.get(item_id, unseal=reveal)
        if reveal:  # the record first: nothing personal is shown unless it was written
            runtime.trail.emit(
                "item.revealed", item=item.key_token, data_categories=item.data_categories
            )
        console.print(items_table([item], show_key=reveal))
        console.print(f"subjects: {' '.join(item.subjects) or '-'}")
        console.print(f"data categories: {', '.join(item.data_categories) or '-'}")
        if reveal:
            for field, value in (item.data or {}).items():
                console.print(f"  {field}: {escape(str(value))}")


@app.command("retry")
def retry(
    item_ids: Annotated[list[int], typer.Argument(help="ids of FAILED items")],
    reason: Annotated[str, typer.Option(help="why it can be tried again")] = "retry requested",
) -> None:
    """Put FAILED items back to PENDING; the next run of their bot works them again."""
    from borough.audit.trail import operator_actor
    from borough.ledger import ItemRecord, ItemState

    with opened_runtime() as runtime:
        actor = operator_actor()
        for item_id in item_ids:

            def record(was: ItemRecord, item_id: int = item_id) -> None:
                runtime.trail.emit(
                    "item.retry_requested",
                    item=was.key_token,
                    outcome="pending",
                    detail={"reason": reason, "ledger_id": item_id},
                )

            item = runtime.ledger.items.operator_move(
                item_id,
                allowed_from=[ItemState.FAILED],
                to=ItemState.PENDING,
                resolution=f"retry by {actor}: {reason}",
                audit=record,
            )
            console.print(f"item {item_id}: PENDING (run the bot `{item.bot}` to work it)")


@app.command("resolve")
def resolve(
    item_id: Annotated[int, typer.Argument(help="id of a NEEDS_REVIEW item")],
    as_: Annotated[
        Resolution,
        typer.Option("--as", help="done: the target holds it; retry: it is certainly not there"),
    ],
    reason: Annotated[str, typer.Option(help="what you checked, for the audit trail")],
    reference: Annotated[
        str | None, typer.Option(help="the target's reference, with --as done")
    ] = None,
) -> None:
    """Decide a NEEDS_REVIEW item after checking the target by hand."""
    from borough.audit.trail import operator_actor
    from borough.ledger import ItemState

    if not reason.strip():
        usage("--reason must say what you checked")
    target = {
        Resolution.done: ItemState.DONE,
        Resolution.failed: ItemState.FAILED,
        Resolution.skipped: ItemState.SKIPPED,
        Resolution.retry: ItemState.PENDING,
    }[as_]
    with opened_runtime() as runtime:
        actor = operator_actor()
        runtime.ledger.items.operator_move(
            item_id,
            allowed_from=[ItemState.NEEDS_REVIEW],
            to=target,
            resolution=f"resolved as {as_.value} by {actor}: {reason}",
            reference=reference,
            audit=lambda was: runtime.trail.emit(
                "item.resolved",
                item=was.key_token,
                outcome=target.value,
                detail={"reason": reason, "reference": reference, "ledger_id": item_id},
            ),
        )
        console.print(f"item {item_id}: {target.value.upper()}")
