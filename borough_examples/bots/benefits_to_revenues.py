"""Council Tax Reduction changes: benefits system CSV export -> revenues import workbook.

The benefits system exports the day's CTR awards and changes as CSV; the revenues system
imports an Excel workbook in its own layout. This bot converts each row (names, dates,
amounts, change codes), validates it, and appends it to the import workbook exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from borough import Bot, BusinessRuleError, Item, RunContext
from borough_examples.records import PERSONAL, CtrChange
from connectors.files import FilesConnector, read_table

CHANGE_CODES = {"NEW": "N", "CHANGE": "C", "END": "E"}


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_app: str = "revenues-import"
    max_weekly_reduction: Decimal = Field(default=Decimal("400.00"), gt=0)


class BenefitsToRevenues(Bot[CtrChange, Settings]):
    name: ClassVar[str] = "benefits-to-revenues"
    version: ClassVar[str] = "1.0.0"
    description: ClassVar[str] = "CTR changes from the benefits CSV export into the revenues import"
    schema = CtrChange
    settings_model = Settings
    personal: ClassVar[dict[str, str]] = PERSONAL

    def items(self, ctx: RunContext[Settings]) -> Iterator[Item[CtrChange]]:
        for row in read_table(ctx.inputs["csv"], CtrChange):
            yield row.to_item(key=lambda change: change.key, key_column="Claim Ref")

    def _workbook(self, ctx: RunContext[Settings]) -> FilesConnector:
        return ctx.app(ctx.settings.target_app, FilesConnector)

    def process(self, ctx: RunContext[Settings], item: Item[CtrChange]) -> str:
        change = item.data
        if change.weekly_amount > ctx.settings.max_weekly_reduction:
            maximum = ctx.settings.max_weekly_reduction
            raise BusinessRuleError(f"weekly reduction above the scheme maximum of £{maximum:.2f}")
        ctx.step("convert", target=ctx.settings.target_app)
        return self._workbook(ctx).append(to_import_row(change, item.key))

    def find_existing(self, ctx: RunContext[Settings], item: Item[CtrChange]) -> str | None:
        return self._workbook(ctx).find(item.key)


def to_import_row(change: CtrChange, key: str) -> dict[str, Any]:
    """The revenues import layout (see config/apps.yaml ``revenues-import.columns``)."""
    return {
        "Source Key": key,
        "Account": change.account,
        "Claim": change.claim_ref,
        "Name": f"{change.surname.upper()}, {change.forenames}",
        "NINO": change.nino,
        "Postcode": change.postcode,
        "Change Code": CHANGE_CODES[change.change],
        "Effective Date": change.effective_from.isoformat(),
        "Weekly Reduction": float(change.weekly_amount),
        "Annual Reduction": float((change.weekly_amount * 52).quantize(Decimal("0.01"))),
    }
