"""The ``pixels:`` block of a desktop app in image mode (``mode: pixels`` in apps.yaml).

An app seen only through a remote-desktop viewer has no window titles, widget tree or shared
clipboard. Its screens are declared by what shows on them (text found by OCR, or reference
images), and each field the bot reads back by where it sits relative to its label.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.desktop.ocr_kinds import KINDS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class Region(_Strict):
    """A box read by OCR, placed from an anchor's top-left: the anchor is text on the
    screen (``anchor``) or a reference image (``image``)."""

    anchor: str | None = Field(default=None, description="text next to the box, e.g. its label")
    image: str | None = Field(default=None, description="reference image instead of text")
    dx: int = 0
    dy: int = 0
    width: int = Field(default=0, ge=0, description="0 with span: row")
    height: int = Field(gt=0)
    kind: str = Field(default="text", description="text, name, reference, code, date, amount")
    span: Literal["box", "row"] = Field(
        default="box",
        description="row: as wide as the plain band the anchor sits in (scanned sideways "
        "scan_dy pixels below the anchor's top), e.g. a pop-up whose width varies",
    )
    scan_dy: int = Field(default=2, description="where the row is scanned, from the anchor's top")

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(sorted(KINDS))}")
        return value

    @model_validator(mode="after")
    def _one_anchor(self) -> Region:
        if (self.anchor is None) == (self.image is None):
            raise ValueError("give either anchor (text) or image, not both")
        if self.span == "box" and self.width <= 0:
            raise ValueError("width must be > 0 (or span: row)")
        return self


class TableKey(_Strict):
    """The grid's key column (what a lookup matches on). A key cell read with less than
    ``min_confidence`` or matching none of ``patterns`` makes the whole reading unsure: a
    lookup then answers "cannot tell" (NeedsReviewError), never "not there"."""

    column: str = Field(description="the key column's header text, one of columns")
    patterns: list[str] = Field(
        min_length=1, description="regular expressions a key cell must match whole (any one)"
    )
    min_confidence: float | None = Field(
        default=None, ge=0, le=100, description="for key cells; the app's min_confidence if unset"
    )

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern {pattern!r} is not a regular expression: {exc}"
                ) from None
        return value

    def matches(self, text: str) -> bool:
        return any(re.fullmatch(pattern, text) for pattern in self.patterns)


class Table(_Strict):
    """A grid read by OCR: header line first, columns found by their header text."""

    anchor: str = Field(description="the first column's header text")
    dx: int = 0
    dy: int = 0
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    row_height: int = Field(default=20, gt=4, description="pixels per row (selected rows invert)")
    columns: list[str] = Field(min_length=1)
    key: TableKey | None = Field(
        default=None, description="the column lookups match on, checked cell by cell"
    )

    @model_validator(mode="after")
    def _key_column(self) -> Table:
        if self.key is not None and self.key.column not in self.columns:
            raise ValueError(f"key column {self.key.column!r} is not one of the columns")
        return self


class ScreenSpec(_Strict):
    """One screen (window or pop-up) of the app: it shows when all its anchors show."""

    text: list[str] = Field(default_factory=list, description="phrases only this screen shows")
    images: list[str] = Field(default_factory=list, description="reference images it shows")
    message: Region | None = Field(default=None, description="what a copy of it reads")
    table: Table | None = Field(default=None, description="a grid the copy keys read")
    open: list[str] | None = Field(
        default=None, description="keys that open it from the main window (for the drift check)"
    )

    @model_validator(mode="after")
    def _has_anchor(self) -> ScreenSpec:
        if not self.text and not self.images:
            raise ValueError("a screen needs at least one text or image anchor")
        return self


class PixelSettings(_Strict):
    """How a pixels-only app is seen: the viewer window, its screens and its fields."""

    viewer_window: str = Field(description="exact title of the remote-desktop viewer window")
    screens: dict[str, ScreenSpec] = Field(
        description="screen name (the title bots wait for) -> anchors; the first that shows "
        "is the active one, so list pop-ups first and the main window last"
    )
    fields: dict[str, Region] = Field(
        default_factory=dict, description="field label (as the bot names it) -> where it shows"
    )
    min_confidence: float = Field(
        default=75.0, ge=0, le=100, description="OCR confidence below which a reading is unsure"
    )
    similarity: float = Field(
        default=0.85, gt=0, le=1, description="how closely OCR text must match an anchor"
    )
    key_pause_seconds: float = Field(
        default=0.03,
        ge=0,
        le=1,
        description="pause after each character beyond ASCII (the remote side may add it)",
    )
    click_timeout_seconds: float = Field(
        default=0.5,
        ge=0,
        description="how long to wait for a click to show (a caret) before typing on",
    )
    read_timeout_seconds: float = Field(
        default=3.0, gt=0, description="how long a read-back waits for the screen to show"
    )

    @field_validator("screens")
    @classmethod
    def _screens(cls, value: dict[str, ScreenSpec]) -> dict[str, ScreenSpec]:
        if not value:
            raise ValueError("declare at least the main window's screen")
        return value
