"""The words on a screen, kept up to date by reading only what changed.

Reading a whole 1024x768 frame takes Tesseract about half a second; a pop-up or a typed
field changes a small part of it. Each new frame is compared with the last one read; the
changed areas (grown to whole words) are read again and their words replaced. A blinking
text cursor (a change 1-3 px wide) is ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher
from itertools import pairwise
from typing import Any

from connectors.desktop.ocr import Ocr, Word

MARGIN = 6
FULL_READ_SHARE = 0.5


class ScreenText:
    """Words on one region of the screen (e.g. a viewer window), in screen coordinates."""

    def __init__(self, ocr: Ocr) -> None:
        self._ocr = ocr
        self._frame: Any = None  # numpy RGB of the last frame read
        self._origin = (0, 0)
        self.words: list[Word] = []
        self.reads = 0

    def update(self, image: Any, origin: tuple[int, int]) -> list[Word]:
        """The words of ``image`` (taken at screen position ``origin``)."""
        import numpy as np

        frame = np.asarray(image.convert("RGB"))
        if self._frame is None or self._frame.shape != frame.shape or origin != self._origin:
            self._read_all(image, frame, origin)
            return self.words
        boxes = changed_boxes(self._frame, frame)
        if not boxes:
            return self.words
        area = sum(w * h for _, _, w, h in boxes)
        if area > FULL_READ_SHARE * frame.shape[0] * frame.shape[1]:
            self._read_all(image, frame, origin)
            return self.words
        words = [w.moved(-origin[0], -origin[1]) for w in self.words]
        for changed in boxes:
            box = _grow_to_words(changed, words, frame.shape)
            left, top, width, height = box
            crop = image.crop((left, top, left + width, top + height))
            fresh = [w.moved(left, top) for w in self._ocr.words(crop)]
            words = [w for w in words if not _overlaps(w, box)] + fresh
            self.reads += 1
        self.words = [w.moved(*origin) for w in words]
        self._frame = frame
        return self.words

    def _read_all(self, image: Any, frame: Any, origin: tuple[int, int]) -> None:
        self.words = [w.moved(*origin) for w in self._ocr.words(image)]
        self._frame, self._origin = frame, origin
        self.reads += 1

    def forget(self) -> None:
        self._frame = None
        self.words = []


def changed_boxes(before: Any, after: Any) -> list[tuple[int, int, int, int]]:
    """(left, top, width, height) of each changed area, cursor blinks left out."""
    import cv2
    import numpy as np

    mask = (before != after).any(axis=2).astype(np.uint8)
    if not mask.any():
        return []
    grown = cv2.dilate(mask, np.ones((9, 25), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    boxes = []
    for index in range(1, count):
        left, top, width, height, _ = (int(v) for v in stats[index])
        raw = mask[top : top + height, left : left + width]
        columns = np.where(raw.any(axis=0))[0]
        if columns.size and columns[-1] - columns[0] < 3:
            continue  # a text cursor blinking
        boxes.append((left, top, width, height))
    return boxes


def _overlaps(word: Word, box: tuple[int, int, int, int]) -> bool:
    left, top, width, height = box
    return not (
        word.right <= left
        or word.left >= left + width
        or word.bottom <= top
        or word.top >= top + height
    )


def _grow_to_words(
    box: tuple[int, int, int, int], words: Sequence[Word], shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """``box`` plus a margin, grown until no known word is cut by its edge."""
    left, top = max(box[0] - MARGIN, 0), max(box[1] - MARGIN, 0)
    right = min(box[0] + box[2] + MARGIN, shape[1])
    bottom = min(box[1] + box[3] + MARGIN, shape[0])
    changed = True
    while changed:
        changed = False
        for word in words:
            if _overlaps(word, (left, top, right - left, bottom - top)):
                new = (
                    min(left, word.left),
                    min(top, word.top),
                    max(right, word.right),
                    max(bottom, word.bottom),
                )
                if new != (left, top, right, bottom):
                    left, top, right, bottom = new
                    changed = True
    return left, top, right - left, bottom - top


def normal(text: str) -> str:
    """Text as compared with anchors: letters and digits only, case and accents folded."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return re.sub(r"[^0-9a-z]", "", "".join(c for c in folded if not unicodedata.combining(c)))


def similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, normal(a), normal(b)).ratio()


def lines(words: Sequence[Word]) -> list[list[Word]]:
    """Words grouped into lines (by vertical overlap), each left to right, top to bottom."""
    result: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.top + w.height / 2, w.left)):
        middle = word.top + word.height / 2
        for line in result:
            ref = line[0]
            if abs((ref.top + ref.height / 2) - middle) <= max(ref.height, word.height) * 0.5:
                line.append(word)
                break
        else:
            result.append([word])
    for line in result:
        line.sort(key=lambda w: w.left)
    return result


def find_phrase(words: Sequence[Word], phrase: str, threshold: float) -> Word | None:
    """The best run of neighbouring words on one line that reads like ``phrase``."""
    found = find_phrases(words, phrase, threshold)
    return found[0][1] if found else None


def find_phrases(words: Sequence[Word], phrase: str, threshold: float) -> list[tuple[float, Word]]:
    """Every place ``phrase`` shows (one per line: its best run), best score first."""
    target = normal(phrase)
    if not target:
        return []
    size = len(phrase.split())
    places: list[tuple[float, Word]] = []
    for line in lines(words):
        best: tuple[float, Word] | None = None
        for start in range(len(line)):
            for count in range(1, size + 2):
                run = line[start : start + count]
                if len(run) < count or not _adjacent(run):
                    break
                score = SequenceMatcher(None, normal("".join(w.text for w in run)), target).ratio()
                if score >= threshold and (best is None or score > best[0]):
                    best = (score, _span(run))
        if best is not None:
            places.append(best)
    places.sort(key=lambda place: -place[0])
    return places


def _adjacent(run: Sequence[Word]) -> bool:
    return all(b.left - a.right <= max(a.height, b.height) * 2 for a, b in pairwise(run))


def _span(run: Sequence[Word]) -> Word:
    left, top = min(w.left for w in run), min(w.top for w in run)
    right, bottom = max(w.right for w in run), max(w.bottom for w in run)
    text = " ".join(w.text for w in run)
    return Word(text, left, top, right - left, bottom - top, min(w.confidence for w in run))
