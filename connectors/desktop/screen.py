"""Seeing the screen: screenshots, finding reference images, masking sensitive fields.

Screenshots come from Pillow's X grabber (in memory, no scrot temp files in the working
folder); matching is pyscreeze's ``locate``, the function behind ``pyautogui.locateOnScreen``
(OpenCV with ``confidence`` when installed), called directly so it works without a display.
"""

from __future__ import annotations

import importlib.util
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from borough.errors import ConnectorError
from connectors.desktop._quiet import quiet_import

HAS_OPENCV = importlib.util.find_spec("cv2") is not None


@dataclass(frozen=True)
class Anchor:
    """A point found by image: ``image``'s top-left on screen, moved by (dx, dy).

    With no offset the point is the image's centre. Offsets let one distinctive image (a
    field's label) stand for a place with no texture of its own (the empty field beside it).
    """

    image: str
    dx: int | None = None
    dy: int | None = None


@dataclass(frozen=True)
class Mask:
    """A screen area hidden in evidence: ``box`` = (dx, dy, width, height) from ``anchor``'s
    top-left, looked for inside windows titled ``window``."""

    anchor: str
    window: str
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    width: int
    height: int


class Screen:
    def __init__(self, display_name: str, images: Path | None, confidence: float) -> None:
        self._display = display_name
        self._images = images
        self._confidence = confidence
        self._cache: dict[str, Any] = {}

    def grab(self, region: tuple[int, int, int, int] | None = None) -> Any:
        """The screen (or ``region`` = left, top, width, height) as a PIL image."""
        from PIL import ImageGrab

        bbox = None
        if region is not None:
            left, top, width, height = region
            bbox = (left, top, left + width, top + height)
        return ImageGrab.grab(bbox=bbox, xdisplay=self._display)

    def image(self, name: str) -> Any:
        """A reference image by file name (in the app's ``images`` folder) or path."""
        if name not in self._cache:
            from PIL import Image

            path = Path(name)
            if not path.is_absolute() and self._images is not None:
                path = self._images / name
            if not path.is_file():
                raise ConnectorError(
                    f"reference image {name!r} not found (looked at {path}); see "
                    "docs/writing-a-desktop-bot.md for how to make one"
                )
            with Image.open(path) as img:
                self._cache[name] = img.convert("RGB")
        return self._cache[name]

    def find_in(self, name: str, haystack: Any) -> Box | None:
        """Where ``name`` appears in the image ``haystack`` (coordinates inside it)."""
        pyscreeze: Any = quiet_import("pyscreeze")
        options: dict[str, Any] = {"grayscale": False}
        if HAS_OPENCV:
            options["confidence"] = self._confidence
        try:
            found = pyscreeze.locate(self.image(name), haystack, **options)
        except pyscreeze.ImageNotFoundException:
            return None
        if found is None:
            return None
        return Box(int(found.left), int(found.top), int(found.width), int(found.height))

    def locate(
        self, name: str, region: tuple[int, int, int, int] | None = None, timeout: float = 0.0
    ) -> Box | None:
        """Where ``name`` is on screen (searching only ``region`` if given), polling up to
        ``timeout`` seconds; None if it never shows."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find_in(name, self.grab(region))
            if found is not None:
                left, top = (region[0], region[1]) if region else (0, 0)
                return Box(found.left + left, found.top + top, found.width, found.height)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    @staticmethod
    def point(anchor: Anchor, box: Box) -> tuple[int, int]:
        if anchor.dx is None and anchor.dy is None:
            return box.left + box.width // 2, box.top + box.height // 2
        return box.left + (anchor.dx or 0), box.top + (anchor.dy or 0)


def mask_image(
    screen: Screen,
    shot: Any,
    masks: list[Mask],
    windows: dict[str, list[tuple[int, int, int, int]]],
) -> list[str]:
    """Black out every mask in ``shot`` (changed in place); returns notes for the evidence.

    ``windows`` maps a title to the regions of its visible windows. A mask whose window is
    visible but whose anchor is not found pixelates that whole window: fail closed.
    """
    from PIL import Image, ImageDraw

    draw = ImageDraw.Draw(shot)
    notes: list[str] = []
    for mask in masks:
        for left, top, width, height in windows.get(mask.window, []):
            area = shot.crop((left, top, left + width, top + height))
            found = screen.find_in(mask.anchor, area)
            if found is None:
                small = area.resize((max(width // 16, 1), max(height // 16, 1)))
                shot.paste(small.resize((width, height), Image.Resampling.NEAREST), (left, top))
                notes.append(
                    f"{Path(mask.anchor).name}: not found in {mask.window!r}; window pixelated"
                )
                continue
            dx, dy, w, h = mask.box
            x0, y0 = left + found.left + dx, top + found.top + dy
            draw.rectangle((x0, y0, x0 + w - 1, y0 + h - 1), fill=(0, 0, 0))
            notes.append(f"{Path(mask.anchor).name}: masked")
    return notes


def png_bytes(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
