"""Image mode: an app seen only as pixels through a remote-desktop viewer window.

The robot sees one window (the viewer) and can only look and type. What the rest of the
connector asks of windows and the clipboard is answered from the picture instead:

* the *active window title* is the first declared screen whose anchors all show;
* *pasting* is typing (:mod:`connectors.desktop.typing`);
* *reading a field back* is OCR of the box beside its label, confirmed against the value
  entered; an unsure reading stops the item for a person (NeedsReviewError), never a guess;
* *copying* reads what the active screen declares: a pop-up's message or a grid.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from borough.errors import ConnectorError, NeedsReviewError
from connectors.desktop.grid import read_grid
from connectors.desktop.ocr import Ocr, Reading, Word
from connectors.desktop.ocr_image import around_field, field_crop
from connectors.desktop.pixel_settings import PixelSettings, Region, Table
from connectors.desktop.screen import Anchor, Screen
from connectors.desktop.screentext import (
    ScreenText,
    find_phrase,
    find_phrases,
    lines,
    similarity,
)
from connectors.desktop.session import Focus, Session
from connectors.desktop.typing import KeyTyper
from connectors.desktop.xwindows import Window, XWindows

POLL = 0.05
#: width, height of the screen around a click watched for its effect
CLICK_AREA = (120, 24)


class PixelScreens:
    """Which declared screens show in the viewer, and where their anchors are."""

    def __init__(self, settings: PixelSettings, windows: XWindows, screen: Screen, ocr: Ocr):
        self.settings = settings
        self.windows = windows
        self.screen = screen
        self.ocr = ocr
        self.text = ScreenText(ocr)
        self._image: Any = None
        self._window: Window | None = None

    def viewer(self) -> Window | None:
        found = XWindows.visible(self.windows).get(self.settings.viewer_window, [])
        return found[0] if found else None

    def look(self) -> list[Word]:
        """Grab the viewer now and bring the words up to date (empty if no viewer)."""
        window = self.viewer()
        self._window = window
        if window is None:
            self._image = None
            self.text.forget()
            return []
        self._image = self.screen.grab(window.region)
        return self.text.update(self._image, (window.x, window.y))

    @property
    def image(self) -> Any:
        """The viewer as last grabbed (PIL image, viewer coordinates)."""
        return self._image

    @property
    def window(self) -> Window | None:
        return self._window

    def showing(self, fresh: bool = True) -> list[str]:
        """Every declared screen whose anchors all show, in declared (priority) order."""
        words = self.look() if fresh else self.text.words
        if self._window is None:
            return []
        return [name for name, spec in self.settings.screens.items() if self._shows(spec, words)]

    def _shows(self, spec: Any, words: Sequence[Word]) -> bool:
        threshold = self.settings.similarity
        if any(find_phrase(words, text, threshold) is None for text in spec.text):
            return False
        return all(self.screen.find_in(name, self._image) is not None for name in spec.images)

    def locate(self, region: Region | Table) -> tuple[int, int] | None:
        """Screen position of a region's anchor (its top-left), from the last look."""
        image_name = getattr(region, "image", None)
        if image_name:
            box = self.screen.find_in(image_name, self._image)
            if box is None or self._window is None:
                return None
            return self._window.x + box.left, self._window.y + box.top
        assert region.anchor is not None
        words = self.text.words
        places = find_phrases(words, region.anchor, self.settings.similarity)
        if not places:
            return None
        best = [word for score, word in places if score == places[0][0]]
        if len(best) > 1:  # the same label on two screens: take the one on the active screen
            near = self._active_anchor(words)
            if near is not None:
                best.sort(key=lambda w: abs(w.left - near.left) + abs(w.top - near.top))
        return best[0].left, best[0].top

    def _active_anchor(self, words: Sequence[Word]) -> Word | None:
        for spec in self.settings.screens.values():
            if spec.text and self._shows(spec, words):
                return find_phrase(words, spec.text[0], self.settings.similarity)
        return None

    def box(self, region: Region) -> tuple[int, int, int, int] | None:
        """(left, top, width, height) of ``region`` on the screen, or None if not showing."""
        anchor = self.locate(region)
        if anchor is None:
            return None
        left, top = anchor[0] + region.dx, anchor[1] + region.dy
        width = region.width
        if region.span == "row":
            left, width = self._band(anchor, region.scan_dy)
        return left, top, width, region.height

    def _band(self, anchor: tuple[int, int], scan_dy: int) -> tuple[int, int]:
        """Left edge and width of the plain band at the anchor (its colour's extent)."""
        import numpy as np

        assert self._window is not None and self._image is not None
        frame = np.asarray(self._image.convert("RGB")).astype(int)
        x, y = anchor[0] - self._window.x, anchor[1] - self._window.y + scan_dy
        reference = frame[y, max(x - 4, 0)]
        left = max(x - 4, 0)
        while left > 0 and np.abs(frame[y, left - 1] - reference).max() < 24:
            left -= 1
        right = x
        while right < frame.shape[1] - 1 and (
            right < x + 8 or np.abs(frame[y, right + 1] - reference).max() < 24
        ):
            right += 1
        return self._window.x + left + 6, max(right - left - 12, 1)


class PixelWindows(XWindows):
    """XWindows of the robot's display, where the app's "windows" are declared screens."""

    def __init__(self, display_name: str) -> None:
        super().__init__(display_name)
        self.screens: PixelScreens | None = None

    def _screens(self) -> PixelScreens:
        assert self.screens is not None, "PixelWindows used before its screens were set"
        return self.screens

    def active_title(self) -> str | None:
        showing = self._screens().showing()
        return showing[0] if showing else None

    def visible(self) -> dict[str, list[Window]]:
        screens = self._screens()
        names = screens.showing()
        viewer = screens.window
        found = XWindows.visible(self)
        if viewer is not None:
            for name in names:
                found.setdefault(name, []).append(viewer)
        return found

    def titles(self) -> list[str]:
        return self._screens().showing()


@dataclass
class PixelSession(Session):
    """A Session whose clipboard is the eye (OCR) and whose paste is typing."""

    pixels: PixelSettings | None = None
    screens: PixelScreens | None = None
    typer: KeyTyper | None = None

    def _parts(self) -> tuple[PixelSettings, PixelScreens, KeyTyper]:
        assert self.pixels and self.screens and self.typer
        return self.pixels, self.screens, self.typer

    def paste(self, text: str, timeout: float | None = None) -> None:
        self._parts()[2].type(text)

    def copy(self, *chords: str, timeout: float | None = None) -> str | None:
        """What the active screen declares to be copied (its message or its grid), read by
        OCR; None if the screen declares nothing or the reading is unsure."""
        settings, screens, _ = self._parts()
        names = screens.showing()
        if not names:
            return None
        spec = settings.screens[names[0]]
        if spec.table is not None:
            return self._read_table(spec.table)
        if spec.message is None:
            return None
        box = screens.box(spec.message)
        if box is None:
            return None
        reading = self.ocr_box(box, spec.message.kind)
        return reading.text if reading.confidence >= settings.min_confidence else None

    def fill_secret(self, value: str) -> None:
        self.press(self.settings.select_all, self.settings.clear_keys)
        self._parts()[2].type(value)

    def fill_field(self, target: Focus | None, value: str, label: str | None = None) -> str:
        """Type ``value`` over the field's text; what OCR then reads there. A field the app
        declares no box for (the sign-in's user name) is typed without a read-back: a wrong
        one fails the sign-in, which harms nothing."""
        self.focus(target)
        self.press(self.settings.select_all, self.settings.clear_keys)
        if value:
            self._parts()[2].type(value)
        if label is None:
            return value
        return self.read_field(None, value, label)

    def focus(self, target: Focus | None) -> None:
        """As Session.focus; a click is then waited for until the screen shows it (the
        caret appears where it landed). A viewer sends key presses at once but a click can
        reach the app later, so keys typed straight after it would go to the old field."""
        if not isinstance(target, Anchor):
            super().focus(target)
            return
        settings = self._parts()[0]
        x, y = self.anchor_point(target)
        area = (max(x - CLICK_AREA[0] // 2, 0), max(y - CLICK_AREA[1] // 2, 0), *CLICK_AREA)
        before = self.screen.grab(area).tobytes()
        self.click_at(x, y)
        deadline = time.monotonic() + settings.click_timeout_seconds
        while time.monotonic() < deadline and self.screen.grab(area).tobytes() == before:
            time.sleep(POLL / 2)

    def anchor_point(self, anchor: Anchor) -> tuple[int, int]:
        """Searched every time: the viewer is one window whatever screen shows in it, so a
        place remembered per window could belong to another screen."""
        self._anchors.clear()
        return super().anchor_point(anchor)

    def read_field(
        self, target: Focus | None, expected: str | None = None, label: str | None = None
    ) -> str:
        """The field's text as OCR reads it, waiting for the screen to show ``expected``.

        Returns ``expected`` only when a reading shows it with enough confidence; a reading
        that stays unsure raises NeedsReviewError (a person checks, nothing is guessed).
        """
        settings, screens, _ = self._parts()
        region = self._field(label)
        deadline = time.monotonic() + settings.read_timeout_seconds
        reading = Reading("", 0.0)
        while True:
            screens.look()
            box = screens.box(region)
            if box is not None:
                reading = self._verify(box, region.kind, expected or "", settings)
                if (
                    reading.text == (expected or "")
                    and reading.confidence >= settings.min_confidence
                ):
                    return reading.text
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        if box is None:
            raise ConnectorError(
                f"field {label!r}: its anchor {region.anchor or region.image!r} is not on screen"
            )
        if reading.confidence < settings.min_confidence:
            raise NeedsReviewError(
                f"field {label!r} could not be read back with confidence (OCR "
                f"{reading.confidence:.0f} < {settings.min_confidence:.0f}); nothing was saved",
                app=self.app,
                step="read-back",
            )
        return reading.text

    def _field(self, label: str | None) -> Region:
        settings = self._parts()[0]
        if label is None or label not in settings.fields:
            raise ConnectorError(
                f"app {self.app!r} is in image mode but declares no field {label!r} under "
                "pixels.fields in config/apps.yaml (where its value shows, for the read-back)"
            )
        return settings.fields[label]

    def _verify(
        self, box: tuple[int, int, int, int], kind: str, expected: str, settings: PixelSettings
    ) -> Reading:
        image = field_crop(self.screen.grab(around_field(box)))
        return self._parts()[1].ocr.verify(image, kind, expected, settings.min_confidence)

    def ocr_box(self, box: tuple[int, int, int, int], kind: str) -> Reading:
        return self._parts()[1].ocr.read_line(self.screen.grab(box), kind)

    def _read_table(self, table: Table) -> str | None:
        """The grid as the app would copy it: a header line, then tab-separated rows.

        A key cell that stays unsure (the grid repaints, so it is read again until
        read_timeout_seconds) raises NeedsReviewError: a lookup cannot tell, rather than
        answering "not there" (see connectors.desktop.grid)."""
        settings, screens, _ = self._parts()
        deadline = time.monotonic() + settings.read_timeout_seconds
        while True:
            anchor = screens.locate(table)
            if anchor is None:
                return None
            left, top = anchor[0] + table.dx, anchor[1] + table.dy
            image = self.screen.grab((left, top, table.width, table.height))
            try:
                return read_grid(
                    screens.ocr, image, table, settings.min_confidence, settings.similarity
                )
            except NeedsReviewError as exc:
                if time.monotonic() >= deadline:
                    raise NeedsReviewError(exc.message, app=self.app, step=exc.step) from None
            time.sleep(POLL)
            screens.look()


def nearest_text(words: Sequence[Word], text: str, limit: int = 3) -> list[tuple[float, Word]]:
    """The words (single or adjacent pairs) that read most like ``text``, best first."""
    scored: list[tuple[float, Word]] = []
    for line in lines(words):
        for start in range(len(line)):
            for count in (1, 2, 3):
                run = line[start : start + count]
                if len(run) < count:
                    break
                merged = Word(
                    " ".join(w.text for w in run),
                    run[0].left,
                    min(w.top for w in run),
                    run[-1].right - run[0].left,
                    max(w.bottom for w in run) - min(w.top for w in run),
                    min(w.confidence for w in run),
                )
                scored.append((similarity(merged.text, text), merged))
    scored.sort(key=lambda pair: -pair[0])
    seen: set[str] = set()
    best: list[tuple[float, Word]] = []
    for score, word in scored:
        if word.text not in seen:
            seen.add(word.text)
            best.append((score, word))
        if len(best) == limit:
            break
    return best
