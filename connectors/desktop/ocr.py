"""Reading text off the screen with Tesseract (tesserocr), for apps seen only as pixels.

What makes the readings trustworthy enough for read-back:

* the image is cleaned first (:mod:`connectors.desktop.ocr_image`);
* each kind of field has a character whitelist (a date holds digits and ``/``) and
  Tesseract models tried in order; names are read with the models of the languages whose
  letters they hold (:mod:`connectors.desktop.ocr_kinds`);
* a read-back is confirmed only by a reading that *equals* the value entered, word for
  word, each word with enough confidence (0-100); anything else is a mismatch or, when
  unsure, "cannot tell", never a guess.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from borough.errors import ConnectorError
from connectors.desktop.ocr_image import prepare, text_boxes
from connectors.desktop.ocr_kinds import KINDS, kind_spec, models_for

__all__ = ["KINDS", "Ocr", "Reading", "Word", "tessdata_dir"]

PIXELS_EXTRA = (
    "reading the screen needs the pixels extra and Tesseract's language data: "
    "pip install 'borough[pixels]' and apt-get install tesseract-ocr tesseract-ocr-eng "
    "tesseract-ocr-script-latn and the languages of connectors/desktop/ocr_kinds.py "
    "(scripts/bootstrap lists them)"
)
#: how much a field is scaled up for reading, tried in turn (the second for the few values
#: the first leaves unsure)
SCALES = (3, 2)
#: pixels of the prepared picture kept around a word read again on its own
WORD_MARGIN = 8


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

    def missing(self, models: set[str]) -> list[str]:
        """The models (of ``pol+fra`` mixes too) whose files are not installed."""
        names = {name for model in models for name in model.split("+")}
        return sorted(n for n in names if not (self._tessdata / f"{n}.traineddata").is_file())

    def _api(self, model: str, psm: int, whitelist: str | None) -> Any:
        key = (model, psm, whitelist)
        api = self._apis.get(key)
        if api is None:
            missing = self.missing({model})
            if missing:
                raise ConnectorError(
                    f"Tesseract model {', '.join(missing)} is missing from {self._tessdata}; "
                    f"{PIXELS_EXTRA}"
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

    def verify(self, image: Any, kind: str, expected: str, min_confidence: float) -> Reading:
        """A reading that shows ``expected`` with enough confidence, if any model gives one;
        else the most confident reading, whatever it says.

        Each model reads the line; where it finds as many words as expected, a word it read
        otherwise (or unsure) is read again on its own with the models of its own letters.
        The words must then equal the expected ones exactly, each confident: a space the
        app lost makes one word of two, and no per-word reading can hide that.
        """
        spec = kind_spec(kind)
        wanted = expected.split(" ")
        best: Reading | None = None
        for scale in SCALES:  # the next only if the first gives no confident reading
            picture = prepare(image, scale=scale)
            for model in models_for(expected, kind):
                words = self._words(picture, model, spec.whitelist)
                reading = Reading(
                    " ".join(text for text, _, _ in words),
                    min((conf for _, conf, _ in words), default=0.0),
                    model,
                )
                if reading.text == expected and reading.confidence >= min_confidence:
                    return reading
                if len(words) == len(wanted) and self._words_hold(
                    picture, words, wanted, kind, min_confidence
                ):
                    return Reading(expected, min_confidence, f"{model}, word by word")
                if best is None or reading.confidence > best.confidence:
                    best = reading
        assert best is not None
        return best

    def _words_hold(
        self,
        picture: Any,
        words: list[tuple[str, float, tuple[int, int, int, int]]],
        wanted: list[str],
        kind: str,
        min_confidence: float,
    ) -> bool:
        whitelist = kind_spec(kind).whitelist
        for (text, confidence, box), want in zip(words, wanted, strict=True):
            if text == want and confidence >= min_confidence:
                continue
            if not any(
                self._word_is(
                    picture, box, model, whitelist, want=want, min_confidence=min_confidence
                )
                for model in models_for(want, kind)
            ):
                return False
        return True

    def _word_is(
        self,
        picture: Any,
        box: tuple[int, int, int, int],
        model: str,
        whitelist: str | None,
        *,
        want: str,
        min_confidence: float,
    ) -> bool:
        api = self._api(model, int(self._tess.PSM.SINGLE_WORD), whitelist)
        api.SetImage(picture)
        left, top, right, bottom = box
        m = WORD_MARGIN
        api.SetRectangle(
            max(left - m, 0), max(top - m, 0), right - left + 2 * m, bottom - top + 2 * m
        )
        text = api.GetUTF8Text().strip()
        confidences = api.AllWordConfidences()
        return text == want and bool(confidences) and min(confidences) >= min_confidence

    def _words(
        self, picture: Any, model: str, whitelist: str | None
    ) -> list[tuple[str, float, tuple[int, int, int, int]]]:
        """Each word of the line: text, confidence, box (left, top, right, bottom)."""
        api = self._api(model, int(self._tess.PSM.SINGLE_LINE), whitelist)
        api.SetImage(picture)
        api.Recognize()
        level = self._tess.RIL.WORD
        found = []
        iterator = api.GetIterator()
        while iterator is not None:
            try:
                text = iterator.GetUTF8Text(level)
            except RuntimeError:  # tesserocr's "No text returned": an empty field
                break
            if text and text.strip():
                found.append(
                    (text.strip(), float(iterator.Confidence(level)), iterator.BoundingBox(level))
                )
            if not iterator.Next(level):
                break
        return found

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
        found: list[Word] = []
        for left, top, width, height in text_boxes(image):
            crop = image.crop((left, top, left + width, top + height))
            reading = self._read(prepare(crop, caret=False, scale=2), model, None)
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
