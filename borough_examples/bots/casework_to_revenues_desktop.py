"""Casework report -> revenues desktop client: key each approved change into the client.

The casework system's report lists changes to Council Tax Reduction; revenues staff
re-key each one into the revenues desktop client today. This bot downloads the report
from the casework web app (setting ``report_app``) or reads a CSV given as input ``csv``,
enters every field, reads each back, saves, and records the client's own reference
(REV-000123). The case reference is the key: an interrupted save is settled by searching
the client's grid.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from borough import Bot, Item, RetryPolicy, RunContext
from borough.errors import ConfigError
from borough.evidence import SealedFile
from borough.uk_fields import NiNumber, Postcode, Pounds, UkDate
from borough_examples.records import PERSONAL
from borough_examples.screens import revenues_client
from borough_examples.screens.caseflow import CaseworkScreens
from connectors.desktop import DesktopConnector
from connectors.files import read_table
from connectors.web import WebSession


class CaseworkChange(BaseModel):
    """One row of the casework report."""

    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True, frozen=True)

    case_ref: Annotated[str, Field(alias="Case Reference", pattern=r"^CW-(?:\d{4}-)?\d{6}$")]
    claim_ref: Annotated[str, Field(alias="Claim Reference", pattern=r"^HB\d{6}$")]
    account: Annotated[str, Field(alias="Council Tax Account", pattern=r"^CT\d{7}$")]
    surname: Annotated[str, Field(alias="Surname", min_length=1, max_length=60)]
    forenames: Annotated[str, Field(alias="Forenames", min_length=1, max_length=60)]
    nino: Annotated[NiNumber, Field(alias="NI Number")]
    change: Annotated[Literal["NEW", "CHANGE", "END"], Field(alias="Change Type")]
    effective_date: Annotated[UkDate, Field(alias="Effective Date")]
    weekly_amount: Annotated[Pounds, Field(alias="Weekly Amount", ge=0, le=1000, decimal_places=2)]
    postcode: Annotated[Postcode, Field(alias="Postcode", min_length=5, max_length=8)]
    status: Annotated[str, Field(alias="Status", min_length=1)]
    created_at: Annotated[datetime, Field(alias="Created At")]

    def client_values(self) -> revenues_client.ChangeValues:
        """The row as the revenues client wants it typed."""
        return revenues_client.ChangeValues(
            case_ref=self.case_ref,
            claim_ref=self.claim_ref,
            account=self.account,
            surname=self.surname,
            forenames=self.forenames,
            nino=self.nino,
            change_type=self.change,
            effective_date=self.effective_date.strftime("%d/%m/%Y"),
            postcode=self.postcode,
            weekly_amount=f"£{self.weekly_amount:.2f}",
        )


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_app: str = "revenues-desktop"
    report_app: str | None = Field(
        default=None,
        description="casework web app to download the case report from (when no csv input)",
    )
    enter_statuses: list[str] | None = Field(
        default=None,
        description="only rows with one of these statuses are taken (all if unset); the others "
        "are left in the report for a later run, e.g. cases still being keyed",
    )


class CaseworkToRevenuesDesktop(Bot[CaseworkChange, Settings]):
    name: ClassVar[str] = "casework-to-revenues-desktop"
    version: ClassVar[str] = "1.0.0"
    description: ClassVar[str] = "CTR changes from the casework report into the revenues client"
    schema = CaseworkChange
    settings_model = Settings
    declares_intent = True  # nothing is saved before the Save key: earlier failures just retry
    retry = RetryPolicy(attempts=5, backoff_seconds=2.0)
    personal: ClassVar[dict[str, str]] = PERSONAL

    def items(self, ctx: RunContext[Settings]) -> Iterator[Item[CaseworkChange]]:
        allowed = ctx.settings.enter_statuses
        later = 0
        for row in read_table(self._report(ctx), CaseworkChange):
            if allowed and row.value is not None and row.value.status not in allowed:
                later += 1
                continue
            yield row.to_item(key="case_ref", key_column="Case Reference")
        if later:
            ctx.step("report.rows-left", rows=later, statuses=", ".join(allowed or ()))

    def _report(self, ctx: RunContext[Settings]) -> Path | SealedFile:
        """The ``csv`` input if the run has one, else today's report from the casework app.

        The download is sealed in the run's evidence (``logs/evidence/<run id>/downloads/``,
        purged with the rest) and read decrypted in memory; row numbers in item errors point
        at a file an operator can open with ``borough evidence export``, and its hash in the
        trail proves which report was read.
        """
        if "csv" in ctx.inputs:
            return ctx.inputs["csv"]
        app = ctx.settings.report_app
        if app is None:
            raise ConfigError(
                f"bot {self.name!r} needs a report: give input csv=FILE or set "
                "settings.report_app to the casework app in its config"
            )
        web = ctx.app(app, WebSession)
        try:
            report = CaseworkScreens(web).download_report(ctx.downloads)
        finally:
            ctx.close_app(app)  # the browser is not needed while the client is keyed
        ctx.step("report.downloaded", target=app, file=report.relative, sha256=report.sha256)
        return report

    def _client(self, ctx: RunContext[Settings]) -> DesktopConnector:
        return ctx.app(ctx.settings.target_app, DesktopConnector)

    def setup(self, ctx: RunContext[Settings]) -> None:
        """Start (or attach to) the client and sign in now, so a missing display or app
        fails the run once with a clear message instead of failing every item."""
        client = self._client(ctx)
        client.declare_sensitive(*revenues_client.masks(client.title_of(revenues_client.FORM)))

    def process(self, ctx: RunContext[Settings], item: Item[CaseworkChange]) -> str:
        change = item.data
        client = self._client(ctx)
        fields = change.client_values().fields()
        revenues_client.open_form(client)
        client.enter(fields)
        client.verify(fields)
        ctx.step("form.verified", target=client.name, fields=len(fields))
        ctx.intent("save", target=client.name)
        return revenues_client.save(client)

    def find_existing(self, ctx: RunContext[Settings], item: Item[CaseworkChange]) -> str | None:
        return revenues_client.find_case(self._client(ctx), item.key)
