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
STRIP = 192  #: rows per strip when reading a whole screen
OVERLAP = 40

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
    out[(across | down).astype(bool)] = 255
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

    def words(self, image: Any, *, model: str = "eng", scale: int = 1) -> list[Word]:
        """Every word in ``image`` with its box in ``image``'s pixels (sparse text).

        A tall image is read in overlapping strips: on a mostly empty screen (a big empty
        grid) Tesseract's page layout drops most of the text, and strips keep it local.
        """
        found: list[Word] = []
        top = 0
        while True:
            bottom = min(top + STRIP, image.height)
            strip = image.crop((0, top, image.width, bottom))
            keep_from = 0 if top == 0 else OVERLAP // 2
            keep_to = bottom - top if bottom == image.height else STRIP - OVERLAP // 2
            for word in self._strip_words(strip, model, scale):
                middle = word.top + word.height / 2
                if keep_from <= middle < keep_to:
                    found.append(word.moved(0, top))
            if bottom == image.height:
                return found
            top = bottom - OVERLAP

    def _strip_words(self, image: Any, model: str, scale: int) -> list[Word]:
        picture = prepare(image, caret=False, lines=True, scale=scale)
        api = self._api(model, int(self._tess.PSM.SPARSE_TEXT), None)
        api.SetImage(picture)
        api.Recognize()
        level = self._tess.RIL.WORD
        found: list[Word] = []
        iterator = api.GetIterator()
        if iterator is None:
            return found
        for result in self._tess.iterate_level(iterator, level):
            try:
                text = (result.GetUTF8Text(level) or "").strip()
            except RuntimeError:  # "No text returned": an empty block
                continue
            box = result.BoundingBox(level)
            if not text or box is None:
                continue
            x0, y0, x1, y1 = ((v - PAD) / scale for v in box)
            found.append(
                Word(
                    text,
                    round(x0),
                    round(y0),
                    max(round(x1 - x0), 1),
                    max(round(y1 - y0), 1),
                    float(result.Confidence(level)),
                )
            )
        return found


def kind_spec(kind: str) -> Kind:
    try:
        return KINDS[kind]
    except KeyError:
        raise ConnectorError(
            f"unknown field kind {kind!r}; use one of {', '.join(sorted(KINDS))}"
        ) from None
