"""Reading text off the screen with Tesseract (tesserocr), for apps seen only as pixels.

What makes the readings trustworthy enough for read-back:

* the image is cleaned first: light text on a darker background (a selected row, a title
  bar) is inverted, a text cursor is erased, and the crop is scaled up three times;
* each kind of field has a character whitelist (a date holds digits and ``/``) and one or
  more Tesseract models, tried in order (the ``Latin`` script model knows Ó and ë, the
  Icelandic one Þ);
* every reading carries a confidence (the lowest word confidence, 0-100); callers treat a
  low one as "cannot tell", never as a value.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from borough.errors import ConnectorError

PIXELS_EXTRA = (
    "reading the screen needs the pixels extra and Tesseract's language data: "
    "pip install 'borough[pixels]' and apt-get install tesseract-ocr tesseract-ocr-eng "
    "tesseract-ocr-script-latn tesseract-ocr-isl"
)
SCALE = 3
PAD = 12

_LATIN = "".join(chr(c) for c in range(0xC0, 0x180) if chr(c) not in "×÷")
_NAME = string.ascii_letters + _LATIN + " '-."
_UPPER_DIGITS = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Kind:
    """How to read one kind of field: allowed characters and the models to try in order."""

    whitelist: str | None
    models: tuple[str, ...]


#: kinds of field a pixels-mode app declares (``kind:`` of a field in apps.yaml)
KINDS: dict[str, Kind] = {
    "text": Kind(None, ("Latin",)),
    "name": Kind(_NAME, ("Latin", "isl")),
    "reference": Kind(_UPPER_DIGITS + "-/ ", ("eng", "Latin")),
    "code": Kind(_UPPER_DIGITS + " ", ("eng", "Latin")),
    "date": Kind(string.digits + "/", ("eng", "Latin")),
    "amount": Kind("£" + string.digits + ".,", ("Latin", "eng")),
    "digits": Kind(string.digits, ("eng",)),
}


@dataclass(frozen=True)
class Reading:
    """Text read from the screen and how sure Tesseract was (0-100, lowest word)."""

    text: str
    confidence: float
    model: str = ""


@dataclass(frozen=True)
class Word:
    """One word found on the screen: its text and box (screen or image pixels)."""

    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    def moved(self, dx: int, dy: int) -> Word:
        return Word(
            self.text, self.left + dx, self.top + dy, self.width, self.height, self.confidence
        )


def tessdata_dir() -> Path:
    """Where Tesseract's models are: $TESSDATA_PREFIX, else Debian's folder."""
    configured = os.environ.get("TESSDATA_PREFIX")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/share/tesseract-ocr").glob("*/tessdata"), reverse=True)
    candidates.append(Path("/usr/share/tessdata"))
    for folder in candidates:
        if (folder / "eng.traineddata").is_file():
            return folder
    raise ConnectorError(f"no Tesseract language data found; {PIXELS_EXTRA}")


def ink(image: Any) -> Any:
    """Greyscale of ``image`` as dark text on a light background: light text on a darker
    background (a selected row, a title bar) is inverted. Returns a numpy array."""
    import numpy as np

    gray = np.asarray(image.convert("L"))
    background = int(np.bincount(gray.ravel(), minlength=256).argmax())
    lighter = int((gray > background + 48).sum())
    darker = int((gray < background - 48).sum())
    return (255 - gray) if lighter > darker else gray.copy()


def erase_caret(gray: Any) -> Any:
    """Whiten a text cursor: an unbroken column of ink at most 2 px wide, clearly taller
    than any glyph stem (it spans the whole line, ascent to descent) and three quarters of
    the crop (so a field's box must be its inside, not much taller).

    Glyphs never make one unbroken column that tall (accents are detached, ascenders and
    descenders do not meet), so the text itself is left alone.
    """
    import numpy as np

    dark = gray < 128
    longest = np.zeros(dark.shape[1], dtype=int)
    run = np.zeros(dark.shape[1], dtype=int)
    for row in dark:
        run = np.where(row, run + 1, 0)
        longest = np.maximum(longest, run)
    top = int(longest.max(initial=0))
    if top < max(gray.shape[0] * 0.75, 8):
        return gray
    tall = longest >= top - 1
    others = int(longest[~tall].max(initial=0))
    if others and top < others * 1.3:
        return gray
    out = gray.copy()
    columns = np.where(tall)[0]
    if columns.size and columns[-1] - columns[0] <= 2:
        out[:, columns[0] : columns[-1] + 1] = 255
    return out


def erase_lines(gray: Any) -> Any:
    """Whiten long straight lines (box borders, grid lines): Tesseract's page layout takes a
    bordered area for a picture and drops the text inside it."""
    import cv2
    import numpy as np

    dark = (gray < 160).astype(np.uint8)
    across = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((1, 40), np.uint8))
    down = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((25, 1), np.uint8))
    out = gray.copy()
    out[(across > 0) | (down > 0)] = 255
    return out


def prepare(image: Any, *, caret: bool = True, lines: bool = False, scale: int = SCALE) -> Any:
    """The PIL image Tesseract reads best: dark on white, cursor (or long lines) erased,
    scaled, padded. A whole screen (``lines``) is left in its own colours: its background
    is no one colour, and its text is dark."""
    import numpy as np
    from PIL import Image, ImageOps

    gray = np.asarray(image.convert("L")).copy() if lines else ink(image)
    if caret:
        gray = erase_caret(gray)
    if lines:
        gray = erase_lines(gray)
    picture = Image.fromarray(gray)
    if scale > 1:
        picture = picture.resize(
            (picture.width * scale, picture.height * scale), Image.Resampling.LANCZOS
        )
    return ImageOps.expand(picture, border=PAD, fill=255)


class Ocr:
    """Tesseract models loaded once and reused (loading one takes longer than a reading)."""

    def __init__(self, tessdata: Path | None = None) -> None:
        try:
            import tesserocr
        except ImportError:
            raise ConnectorError(f"tesserocr is not installed; {PIXELS_EXTRA}") from None
        self._tess: Any = tesserocr
        self._tessdata = tessdata or tessdata_dir()
        self._apis: dict[tuple[str, int, str | None], Any] = {}

    def _api(self, model: str, psm: int, whitelist: str | None) -> Any:
        key = (model, psm, whitelist)
        api = self._apis.get(key)
        if api is None:
            if not (self._tessdata / f"{model}.traineddata").is_file():
                raise ConnectorError(
                    f"Tesseract model {model!r} is missing from {self._tessdata}; {PIXELS_EXTRA}"
                )
            api = self._tess.PyTessBaseAPI(path=f"{self._tessdata}/", lang=model, psm=psm)
            if whitelist:
                api.SetVariable("tessedit_char_whitelist", whitelist)
            self._apis[key] = api
        return api

    def close(self) -> None:
        for api in self._apis.values():
            api.End()
        self._apis.clear()

    def read_line(self, image: Any, kind: str = "text", *, model: str | None = None) -> Reading:
        """One line of text (a field's content) read with the kind's first model."""
        spec = kind_spec(kind)
        return self._read(prepare(image), model or spec.models[0], spec.whitelist)

    def readings(self, image: Any, kind: str = "text") -> list[Reading]:
        """The line as each of the kind's models reads it, in order (lazily useful for
        verification: stop at the first that agrees)."""
        spec = kind_spec(kind)
        picture = prepare(image)
        return [self._read(picture, model, spec.whitelist) for model in spec.models]

    def verify(self, image: Any, kind: str, expected: str, min_confidence: float) -> Reading:
        """The first reading (model by model) that shows ``expected`` with enough confidence;
        else the most confident reading, whatever it says."""
        spec = kind_spec(kind)
        picture = prepare(image)
        best: Reading | None = None
        for model in spec.models:
            reading = self._read(picture, model, spec.whitelist)
            if reading.text == expected and reading.confidence >= min_confidence:
                return reading
            if best is None or reading.confidence > best.confidence:
                best = reading
        assert best is not None
        return best

    def _read(self, picture: Any, model: str, whitelist: str | None) -> Reading:
        api = self._api(model, int(self._tess.PSM.SINGLE_LINE), whitelist)
        api.SetImage(picture)
        text = " ".join(api.GetUTF8Text().split())
        confidences = api.AllWordConfidences()
        confidence = float(min(confidences)) if confidences and text else 0.0
        return Reading(text, confidence, model)

    def words(self, image: Any, *, model: str = "eng") -> list[Word]:
        """Every run of text in ``image`` with its box in ``image``'s pixels.

        Text is found by its edges (borders and grid lines left out), each run is read as
        one line: Tesseract's own page layout is unreliable on screens (a big empty grid
        makes it drop most of the text), and per-run reading also inverts each run on its
        own, so white text on a title bar reads as well as black on grey.
        """
        spec_whitelist = None
        found: list[Word] = []
        for left, top, width, height in text_boxes(image):
            crop = image.crop((left, top, left + width, top + height))
            reading = self._read(prepare(crop, caret=False, scale=2), model, spec_whitelist)
            found += split_words(reading, (left, top, width, height))
        return found


def split_words(reading: Reading, box: tuple[int, int, int, int]) -> list[Word]:
    """The words of a run read as one line, each placed by its share of the characters."""
    left, top, width, height = box
    text = reading.text
    if not text:
        return []
    step = width / len(text)
    words, start = [], 0
    for part in text.split(" "):
        if part:
            words.append(
                Word(
                    part,
                    left + round(start * step),
                    top,
                    max(round(len(part) * step), 1),
                    height,
                    reading.confidence,
                )
            )
        start += len(part) + 1
    return words


def text_boxes(image: Any) -> list[tuple[int, int, int, int]]:
    """(left, top, width, height) of each run of text: edges joined into words and phrases,
    long straight lines (borders, grid lines) removed first."""
    import cv2
    import numpy as np

    gray = np.asarray(image.convert("L"))
    edges = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((2, 2), np.uint8))
    mask = (edges > 48).astype(np.uint8)
    across = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, 30), np.uint8))
    down = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((22, 1), np.uint8))
    mask[(across > 0) | (down > 0)] = 0
    joined = cv2.dilate(mask, np.ones((3, 7), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    boxes = []
    height, width = gray.shape
    for index in range(1, count):
        left, top, w, h, area = (int(v) for v in stats[index])
        if not (6 <= h <= 40) or w < 4 or area < 12:
            continue
        left, top = max(left - 2, 0), max(top - 2, 0)
        boxes.append((left, top, min(w + 4, width - left), min(h + 4, height - top)))
    return boxes


def kind_spec(kind: str) -> Kind:
    try:
        return KINDS[kind]
    except KeyError:
        raise ConnectorError(
            f"unknown field kind {kind!r}; use one of {', '.join(sorted(KINDS))}"
        ) from None
