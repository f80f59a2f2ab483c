"""What each kind of field may hold, and which Tesseract models read which letters.

Tesseract's ``Latin`` script model knows every Latin letter but, on the small text of a
desktop form, takes a rare one for a common look-alike (Ł for t, ø for g, ñ for fi, Å for
Á). A language's own model reads its letters well. A read-back knows the value it expects,
so it asks the models of the languages whose letters that value holds (per word where the
words differ), and the reading must still equal the value exactly: a model that knows Ł
reads a plain L as L.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from borough.errors import ConnectorError

_LATIN = "".join(chr(c) for c in range(0xC0, 0x180) if chr(c) not in "×÷") + "ŴŵŶŷ"
_NAME = string.ascii_letters + _LATIN + " '-."
_UPPER_DIGITS = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Kind:
    """How to read one kind of field: allowed characters, the models to try in order, and
    whether the value's own letters choose more models first (names, free text)."""

    whitelist: str | None
    models: tuple[str, ...]
    by_language: bool = False


#: kinds of field a pixels-mode app declares (``kind:`` of a field in apps.yaml)
KINDS: dict[str, Kind] = {
    "text": Kind(None, ("Latin",), by_language=True),
    "name": Kind(_NAME, ("Latin",), by_language=True),
    "reference": Kind(_UPPER_DIGITS + "-/ ", ("eng", "Latin")),
    "code": Kind(_UPPER_DIGITS + " ", ("eng", "Latin")),
    "date": Kind(string.digits + "/", ("eng", "Latin")),
    "amount": Kind("£" + string.digits + ".,", ("Latin", "eng")),
    "digits": Kind(string.digits, ("eng",)),
}

#: Tesseract language model -> the letters beyond ASCII it reads well, in the order they
#: are preferred (the languages of names a UK council holds most often come first)
LANGUAGES: dict[str, str] = {
    "gle": "áéíóúÁÉÍÓÚ",
    "cym": "âêîôûŵŷáéíóúàèìòùäëïöüÿÂÊÎÔÛŴŶ",
    "pol": "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ",
    "fra": "àâæçéèêëîïôœùûüÿÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸ",
    "deu": "äöüßÄÖÜ",
    "spa": "áéíñóúüÁÉÍÑÓÚÜ",
    "ces": "áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ",
    "dan": "æøåéÆØÅÉ",
    "tur": "çğıöşüâîûÇĞİÖŞÜ",
    "isl": "áðéíóúýþæöÁÐÉÍÓÚÝÞÆÖ",
}
#: how many single languages that hold all of a value's letters are tried
SINGLE_LANGUAGES = 3


def kind_spec(kind: str) -> Kind:
    try:
        return KINDS[kind]
    except KeyError:
        raise ConnectorError(
            f"unknown field kind {kind!r}; use one of {', '.join(sorted(KINDS))}"
        ) from None


def languages_for(text: str) -> list[str]:
    """Tesseract models (``pol`` or ``pol+fra``) that know the letters of ``text`` beyond
    ASCII: up to three single languages that know them all, else a fewest-languages mix."""
    needed = {c for c in text if ord(c) > 127 and c.isalpha()}
    if not needed:
        return []
    singles = [model for model, letters in LANGUAGES.items() if needed <= set(letters)]
    if singles:
        return singles[:SINGLE_LANGUAGES]
    mix: list[str] = []
    left = set(needed)
    while left:
        model = max(LANGUAGES, key=lambda m: len(left & set(LANGUAGES[m])))
        if not left & set(LANGUAGES[model]):
            break  # a letter no language here knows: the script model alone
        mix.append(model)
        left -= set(LANGUAGES[model])
    return ["+".join(mix)] if mix else []


def models_for(text: str, kind: str) -> tuple[str, ...]:
    """The models to read a field of ``kind`` expected to show ``text``, in order."""
    spec = kind_spec(kind)
    first = languages_for(text) if spec.by_language else []
    return tuple(dict.fromkeys([*first, *spec.models]))


def needed_models(kinds: list[str]) -> set[str]:
    """Every model file a reading of these kinds may load (checked when the app opens)."""
    found = {m for k in kinds for m in kind_spec(k).models}
    if any(kind_spec(k).by_language for k in kinds):
        found |= set(LANGUAGES)
    return found
