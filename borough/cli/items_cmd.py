"""``borough items list|show|retry|resolve|requests|approve|reject|withdraw``: the operator's
handle on individual items. Retry and resolve are the dashboard's own actions
(:mod:`borough.operations`): same redaction, same four-eyes rule, same audit records."""

from __future__ import annotations

import enum
from typing import Annotated

import typer
from rich.markup import escape

from borough.cli._common import (
    console,
    flag,
    limit_option,
    noun_app,
    opened_runtime,
    opened_view,
    usage,
)
from borough.cli._json import JsonFlag, emit, item_json

app = noun_app("items")


class Resolution(enum.StrEnum):
    done = "done"
    failed = "failed"
    skipped = "skipped"
    retry = "retry"


@app.command("list")
def list_items(
    bot: Annotated[str | None, typer.Option(metavar="BOT", help="only this bot")] = None,
    state: Annotated[
        list[str] | None,
        typer.Option(
            metavar="STATE",
            help="pending, claimed, in_flight, done, failed, needs_review, skipped (repeat)",
        ),
    ] = None,
    run: Annotated[str | None, typer.Option(metavar="RUN", help="items of this run")] = None,
    key: Annotated[
        str | None,
        typer.Option(metavar="KEY", help="find by the item's key (compared as its token)"),
    ] = None,
    limit: Annotated[int, limit_option()] = 100,
    offset: Annotated[int, typer.Option(metavar="N", min=0, help="skip the first N rows")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Items in the ledger, oldest first."""
    from borough.cli._render import items_table
    from borough.ledger import ItemState
    from borough.runtime import Runtime

    try:
        states = [ItemState(s.lower().replace("-", "_")) for s in state] if state else None
    except ValueError as exc:
        usage(f"{exc}; states are: {', '.join(s.value for s in ItemState)}")
    # only --key needs the keys (to turn the key into its token): the rest is read-only
    with opened_runtime() if key else opened_view() as runtime:
        run_id = runtime.ledger.runs.get(run).id if run else None
        token = runtime.tokenizer.token(key) if isinstance(runtime, Runtime) and key else None
        items = runtime.ledger.items.list(
            bot=bot, states=states, run_id=run_id, token=token, limit=limit, offset=offset
        )
        if as_json:
            emit([item_json(item) for item in items])
            return
        if not items:
            console.print("No items match.")
            return
        console.print(items_table(items))


@app.command("show")
def show_item(
    item_id: Annotated[int, typer.Argument(help="the item's id")],
    reveal: Annotated[
        bool, flag("--reveal", help="decrypt and show the item's key and data")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """One item; `--reveal` decrypts its personal data (recorded in the audit trail)."""
    from borough.cli._render import items_table
    from borough.runtime import Runtime

    with opened_runtime() if reveal else opened_view() as runtime:
        item = runtime.ledger.items.get(item_id, unseal=reveal)
        if reveal and isinstance(runtime, Runtime):
            # the record first: nothing personal is shown unless it was written
            runtime.trail.emit(
                "item.revealed", item=item.key_token, data_categories=item.data_categories
            )
        if as_json:
            emit(item_json(item, revealed=reveal))
            return
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
    from borough.operations import Operations, Operator

    with opened_runtime() as runtime:
        ops, who = Operations.open(runtime), Operator.at_keyboard()
        for item_id in item_ids:
            item = ops.retry(who, item_id, reason).item
            console.print(f"item {item_id}: PENDING (run the bot `{item.bot}` to work it)")


@app.command("resolve")
def resolve(
    item_id: Annotated[
        int, typer.Argument(help="id of a NEEDS_REVIEW item (or FAILED, --as done)")
    ],
    as_: Annotated[
        Resolution,
        typer.Option("--as", help="done: the target holds it; retry: it is certainly not there"),
    ],
    reason: Annotated[str, typer.Option(help="what you checked, for the audit trail")],
    reference: Annotated[
        str | None, typer.Option(help="the target's reference, with --as done")
    ] = None,
    break_glass: Annotated[
        bool,
        typer.Option(
            "--break-glass",
            help="with four-eyes on: apply now instead of asking a second operator "
            "(recorded as a break-glass override)",
        ),
    ] = False,
) -> None:
    """Decide a NEEDS_REVIEW item after checking the target by hand, or mark a FAILED item
    done. With four-eyes on (``dashboard.four_eyes``) the change waits for a second
    operator, exactly as from the dashboard."""
    from borough.ledger import ItemState
    from borough.operations import Operations, Operator

    if not reason.strip():
        usage("--reason must say what you checked")
    target = {
        Resolution.done: ItemState.DONE,
        Resolution.failed: ItemState.FAILED,
        Resolution.skipped: ItemState.SKIPPED,
        Resolution.retry: ItemState.PENDING,
    }[as_]
    with opened_runtime() as runtime:
        ops = Operations.open(runtime)
        if break_glass and not ops.four_eyes:
            usage("--break-glass is only for four-eyes (dashboard.four_eyes is off)")
        outcome = ops.override(
            Operator.at_keyboard(),
            item_id,
            target,
            reason=reason,
            reference=reference,
            break_glass=break_glass,
        )
        if outcome.waiting:
            assert outcome.approval is not None
            console.print(
                f"item {item_id}: the change to {target.value.upper()} waits for another "
                f"operator: `borough items approve {outcome.approval.batch_id}` (or the "
                "dashboard's Approvals page)"
            )
            return
        note = " (break-glass, recorded)" if break_glass else ""
        console.print(f"item {item_id}: {outcome.item.state.value.upper()}{note}")


@app.command("requests")
def requests() -> None:
    """Changes waiting for a second operator's approval (four-eyes)."""
    from rich.table import Table

    from borough.operations import Operations

    with opened_runtime() as runtime:
        batches = Operations.open(runtime).approvals.pending_batches()
        if not batches:
            console.print("Nothing waits for approval.")
            return
        table = Table("request", "items", "change", "asked by", "reason", box=None)
        for batch in batches:
            first = batch[0]
            table.add_row(
                str(first.batch_id),
                ", ".join(str(a.item_id) for a in batch),
                f"{first.from_state.value.upper()} -> {first.to_state.value.upper()}",
                first.requested_by,
                escape(first.reason),
            )
        console.print(table)


def _decide(request: int, decision: str, note: str) -> None:
    from borough.operations import Operations, Operator, bulk

    with opened_runtime() as runtime:
        ops, who = Operations.open(runtime), Operator.at_keyboard()
        if decision == "withdraw":
            count = bulk.cancel_batch(ops, who, request)
            console.print(f"request {request} withdrawn ({count} item(s))")
            return
        console.print(bulk.decide_batch(ops, who, request, decision == "approve", note).message)


NoteOption = Annotated[str, typer.Option(help="a note kept with the decision")]
RequestArgument = Annotated[int, typer.Argument(help="the request, as `items requests` shows")]


@app.command("approve")
def approve(request: RequestArgument, note: NoteOption = "") -> None:
    """Approve another operator's request: its changes are applied now."""
    _decide(request, "approve", note)


@app.command("reject")
def reject(request: RequestArgument, note: NoteOption = "") -> None:
    """Reject another operator's request: its items stay as they are."""
    _decide(request, "reject", note)


@app.command("withdraw")
def withdraw(request: RequestArgument) -> None:
    """Withdraw your own request while it waits."""
    _decide(request, "withdraw", "")
