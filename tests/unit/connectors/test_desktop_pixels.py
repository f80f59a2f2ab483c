"""Image mode's parts that need no display: field boxes, models per language, keysyms,
the pixels: config block, and Tesseract's read-back on real crops of the published client.

The PNGs under data/published/ are fields of the published revenues client as the robot's
viewer showed them (10 pt DejaVu Sans at 100 dpi), cut out by the connector.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from borough.config.models import AppConfig
from borough.connect import app_settings
from borough.errors import ConfigError, SignInError
from connectors.desktop.ocr_image import field_crop, field_inside
from connectors.desktop.ocr_kinds import languages_for, models_for
from connectors.desktop.pixel_settings import Table
from connectors.desktop.typing import keysym_of
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[3]
CROPS = Path(__file__).parent / "data" / "published"


def field_picture(*, caret: int | None = None, border: bool = True) -> Image.Image:
    """A grey dialog with a white field (1 px border) at (10, 6)-(190, 26), some 'text'."""
    image = Image.new("RGB", (200, 32), (217, 217, 217))
    draw = ImageDraw.Draw(image)
    if border:
        draw.rectangle((10, 6, 190, 26), outline=(153, 153, 153), fill=(255, 255, 255))
    else:
        draw.rectangle((10, 6, 190, 26), fill=(255, 255, 255))
    for x in range(14, 80, 7):  # letters: a stem and a bowl each
        draw.line((x, 10, x, 21), fill=(30, 30, 30))
        draw.line((x + 1, 17, x + 4, 17), fill=(30, 30, 30))
    if caret is not None:
        draw.line((caret, 8, caret, 24), fill=(0, 0, 0))
    return image


def test_a_field_is_read_inside_its_border_and_a_caret_does_not_split_it():
    assert field_inside(field_picture()) == (11, 7, 179, 19)
    assert field_inside(field_picture(caret=90)) == (11, 7, 179, 19)


def test_a_field_without_a_border_line_is_read_inside_its_own_background():
    around = field_picture(border=False).crop((6, 2, 194, 30))  # declared box + 4 px
    assert field_inside(around) == (4, 4, 181, 21)


def test_text_on_a_plain_background_is_read_in_the_box_as_declared():
    plain = Image.new("RGB", (188, 28), (217, 217, 217))
    ImageDraw.Draw(plain).line((20, 8, 20, 19), fill=(30, 30, 30))
    assert field_inside(plain) is None
    assert field_crop(plain).size == (180, 20)


@pytest.mark.parametrize(
    ("text", "models"),
    [
        ("Smith", []),
        ("Łukasiewicz", ["pol"]),
        ("Ó Súilleabháin", ["gle", "spa", "ces"]),
        ("Þóra", ["isl"]),
        ("Llŷr", ["cym"]),
        ("Łucja Ferreira-Gonçalves", ["pol+fra"]),
    ],
)
def test_a_names_letters_choose_the_language_models(text: str, models: list[str]):
    assert languages_for(text) == models


def test_codes_and_amounts_keep_their_own_models_whatever_they_hold():
    assert models_for("HB123456", "code") == ("eng", "Latin")
    assert models_for("£12.50", "amount") == ("Latin", "eng")
    assert models_for("Zoë", "name") == ("cym", "fra", "Latin")


@pytest.mark.parametrize(
    ("char", "keysym"),
    [("a", 0x61), ("£", 0xA3), ("Ó", 0xD3), ("Ł", 0x1000141), ("ŷ", 0x1000177), ("\n", 0xFF0D)],
)
def test_each_character_is_typed_as_its_keysym(char: str, keysym: int):
    assert keysym_of(char) == keysym


def pixels_app(**pixels: object) -> AppConfig:
    block = {"viewer_window": "Viewer", "screens": {"Main": {"text": ["Find"]}}, **pixels}
    return AppConfig(kind="desktop", main_window="Main", mode="pixels", pixels=block)


def test_the_pixels_block_is_checked_when_config_loads():
    with pytest.raises(ConfigError, match="mode: pixels needs a pixels: block"):
        app_settings("r", AppConfig(kind="desktop", main_window="Main", mode="pixels"))
    with pytest.raises(ConfigError, match="give either anchor"):
        app_settings("r", pixels_app(fields={"Surname": {"height": 17, "width": 300}}))
    with pytest.raises(ConfigError, match="kind must be one of"):
        app_settings(
            "r", pixels_app(fields={"S": {"anchor": "S", "height": 9, "width": 9, "kind": "x"}})
        )
    with pytest.raises(ConfigError, match="at least one text or image anchor"):
        app_settings("r", pixels_app(screens={"Main": {}}))


def crops() -> list[tuple[str, str, str]]:
    rows = (CROPS / "labels.tsv").read_text(encoding="utf-8").splitlines()
    return [tuple(row.split("\t")) for row in rows]  # type: ignore[misc]


@pytest.fixture(scope="module")
def ocr():
    try:
        from connectors.desktop.ocr import Ocr
    except ImportError:
        require(False, "tesserocr", "pip install 'borough[pixels]'")
    from tests.support.published import MODELS

    engine = Ocr()
    missing = engine.missing(set(MODELS))
    require(not missing, f"Tesseract models {missing}", "see scripts/bootstrap (apt list)")
    yield engine
    engine.close()


@pytest.mark.parametrize(("name", "kind", "shown"), crops())
def test_the_value_a_field_shows_is_read_back(ocr, name: str, kind: str, shown: str):
    reading = ocr.verify(Image.open(CROPS / name), kind, shown, 75)
    assert (reading.text, reading.confidence >= 75) == (shown, True)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("name-08.png", "Dvořák"),  # the app kept ASCII only
        ("name-09.png", "Dąbrowski"),
        ("name-10.png", "Ní Dhomhnaill"),
        ("name-00.png", "Ólafsdótir"),  # a key press lost on the way
        ("name-01.png", "ÓSúilleabháin"),  # a space lost: one word where two were typed
        ("name-04.png", "Kałuża?"),
        ("amount-16.png", "£592.9"),
        ("amount-16.png", "£592.34"),
        ("code-17.png", "SW1A ?AA"),  # a character the app could not store
        ("reference-14.png", "CW-2018-842958"),
        ("date-15.png", "20/10/2026"),
    ],
)
def test_a_value_the_field_does_not_show_is_never_confirmed(ocr, name: str, expected: str):
    kind = name.split("-", maxsplit=1)[0]
    reading = ocr.verify(Image.open(CROPS / name), kind, expected, 75)
    assert reading.text != expected or reading.confidence < 75


def test_an_empty_field_reads_as_nothing(ocr):
    reading = ocr.verify(Image.new("RGB", (326, 19), "white"), "reference", "CW-2026-000003", 75)
    assert (reading.text, reading.confidence) == ("", 0.0)


def test_a_grid_with_its_row_selected_reads_as_the_app_would_copy_it(ocr):
    """The main window after a search: one row, selected (white on dark blue)."""
    import yaml

    from connectors.desktop.grid import read_grid
    from connectors.desktop.screentext import ScreenText, find_phrase

    apps = yaml.safe_load((ROOT / "config/apps.yaml").read_text(encoding="utf-8"))["apps"]
    table = Table(**apps["revenues-published"]["pixels"]["screens"]["Revenues Client"]["table"])
    viewer = Image.open(CROPS / "main-selected-row.png").convert("RGB")
    anchor = find_phrase(ScreenText(ocr).update(viewer, (0, 0)), table.anchor, 0.85)
    assert anchor is not None
    left, top = anchor.left + table.dx, anchor.top + table.dy
    grid = viewer.crop((left, top, left + table.width, top + table.height))
    assert read_grid(ocr, grid, table, 75, 0.85) == (
        "Reference\tCase reference\tAccount\tChange\tEffective\tWeekly\tEntered by\n"
        "REV-000013\tCW-2026-000013\tCT4400169\tCHANGE\t10/05/2026\t£141.50\trobot"
    )


def published_grid(ocr) -> tuple[object, dict]:
    """The published main window's grid after a search (one selected row), and its table."""
    import yaml

    from connectors.desktop.screentext import ScreenText, find_phrase

    apps = yaml.safe_load((ROOT / "config/apps.yaml").read_text(encoding="utf-8"))["apps"]
    table = apps["revenues-published"]["pixels"]["screens"]["Revenues Client"]["table"]
    viewer = Image.open(CROPS / "main-selected-row.png").convert("RGB")
    anchor = find_phrase(ScreenText(ocr).update(viewer, (0, 0)), table["anchor"], 0.85)
    assert anchor is not None
    left, top = anchor.left + table["dx"], anchor.top + table["dy"]
    return viewer.crop((left, top, left + table["width"], top + table["height"])), table


class GridClient:
    """find_case's view of the client, its grid copied by reading the picture with OCR."""

    name = "revenues-published"

    def __init__(self, ocr, image, table) -> None:
        self.ocr, self.image, self.table = ocr, image, table

    def home(self) -> None: ...

    def press(self, *chords: str) -> None: ...

    def enter(self, fields) -> None: ...

    def copy(self, *chords: str) -> str | None:
        from connectors.desktop.grid import read_grid

        return read_grid(self.ocr, self.image, self.table, 75, 0.85)


@pytest.mark.parametrize(
    ("misread", "confidence", "why"),
    [
        ("CW-2026-0000l3", 93.0, "matching none of its patterns"),  # sure, and wrong
        ("CW-2026-000013", 52.0, "read with confidence 52 < 75"),  # right, but unsure
        ("", 0.0, "read with confidence 0 < 75"),  # the key read as nothing
    ],
)
def test_a_misread_key_cell_makes_the_lookup_unsure_never_absent(
    ocr, monkeypatch: pytest.MonkeyPatch, misread: str, confidence: float, why: str
):
    """OCR misreads the case reference in the grid: without the key declared find_case
    would find no row for the case and the bot would enter the record a second time."""
    from borough.errors import NeedsReviewError
    from borough_examples.screens import revenues_client
    from connectors.desktop.ocr import Ocr, Reading

    image, shipped = published_grid(ocr)
    declared, undeclared = Table(**shipped), Table(**{**shipped, "key": None})
    assert declared.key is not None and declared.key.column == "Case reference"
    case = "CW-2026-000013"
    client = GridClient(ocr, image, declared)
    assert revenues_client.find_case(client, case) == "REV-000013"  # type: ignore[arg-type]

    true_read = Ocr.read_line

    def read_line(self: Ocr, picture: object, kind: str) -> Reading:
        reading = true_read(self, picture, kind)
        return Reading(misread, confidence, "injected") if reading.text == case else reading

    monkeypatch.setattr(Ocr, "read_line", read_line)
    if confidence >= 75:  # the hazard: a confident misread, and the record looks absent
        blind = GridClient(ocr, image, undeclared)
        assert revenues_client.find_case(blind, case) is None  # type: ignore[arg-type]
    with pytest.raises(NeedsReviewError) as unsure:
        revenues_client.find_case(client, case)  # type: ignore[arg-type]
    assert str(unsure.value) == (
        f"the grid's 'Case reference' cell in row 1 could not be read for sure ({why}): "
        "cannot tell whether the record is there (find)"
    )
    assert case not in str(unsure.value) and (not misread or misread not in str(unsure.value))


def test_a_key_column_is_one_of_the_grids_columns_with_patterns_that_compile():
    table = {"anchor": "Ref", "width": 9, "height": 9, "columns": ["Ref", "Name"]}
    with pytest.raises(ValueError, match="key column 'Case' is not one of the columns"):
        Table(**table, key={"column": "Case", "patterns": ["C\\d+"]})
    with pytest.raises(ValueError, match=re.escape("pattern 'C(' is not a regular expression")):
        Table(**table, key={"column": "Ref", "patterns": ["C("]})
    with pytest.raises(ValueError, match="patterns"):
        Table(**table, key={"column": "Ref", "patterns": []})


class SignInDialog:
    """A pixels session on a sign-in dialog that loses the first ``lost`` user names'
    first keys and refuses the password ``refusals`` times (the user name stays shown)."""

    def __init__(self, *, lost: int = 0, refusals: int = 0, declared: bool = True) -> None:
        from types import SimpleNamespace

        from connectors.desktop.settings import DesktopSettings

        self.settings = DesktopSettings(
            main_window="Main", login_window="Sign in", username="robot", credential="c"
        )
        self.pixels = SimpleNamespace(fields={"User name": object()} if declared else {})
        self.lost, self.refusals = lost, refusals
        self.shown, self.title, self.submitted = "", "Sign in", 0

    def wait_window(self, title: str, timeout: float | None = None) -> None:
        assert self.title == title

    def fill_field(self, target: object, value: str, label: str | None = None) -> str:
        self.shown = value[2:] if self.lost else value
        self.lost = max(self.lost - 1, 0)
        return self.shown if label else value

    def read_field(self, target: object, expected: str | None = None, label: str | None = None):
        return self.shown

    def fill_secret(self, value: str) -> None: ...

    def press(self, *chords: str) -> None:
        if self.title == "Sign-in failed":
            self.title = "Sign in"  # the pop-up dismissed
        elif chords == (self.settings.login_submit,):
            self.submitted += 1
            refused = self.refusals > 0 or self.shown != "robot"
            self.refusals -= 1
            self.title = "Sign-in failed" if refused else "Main"

    def wait_for(self, condition, what: str, timeout: float | None = None) -> str:
        assert condition(self.title)
        return self.title

    def copy(self, *chords: str) -> str:
        return "Unknown user name or wrong password."

    def active_title(self) -> str:
        return self.title


def sign_in_to(dialog: SignInDialog) -> None:
    from types import SimpleNamespace

    from connectors.desktop.signin import sign_in

    services = SimpleNamespace(secret=lambda name: "Sandbox-£2026!")
    app = SimpleNamespace(name="r", settings=dialog.settings, session=dialog, services=services)
    sign_in(app)  # type: ignore[arg-type]


def test_a_user_name_whose_first_keys_were_lost_is_typed_once_more_before_submitting():
    dialog = SignInDialog(lost=1)
    sign_in_to(dialog)
    assert (dialog.title, dialog.submitted) == ("Main", 1)
    with pytest.raises(SignInError, match="did not read back as typed \\(twice\\); nothing was"):
        sign_in_to(SignInDialog(lost=2))


def test_a_refused_sign_in_is_retried_once_only_when_the_user_name_reads_back_wrong():
    from connectors.desktop import signin

    # the password refused, the user name read back right: no retry (accounts lock)
    dialog = SignInDialog(refusals=5)
    with pytest.raises(SignInError, match=r"^sign-in to app 'r' failed: Unknown user name"):
        sign_in_to(dialog)
    assert dialog.submitted == 1
    # no user name field declared: nothing can show the typing was wrong, no retry
    dialog = SignInDialog(refusals=5, declared=False)
    with pytest.raises(SignInError):
        sign_in_to(dialog)
    assert dialog.submitted == 1
    # the user name shows wrong after a refusal: typed again, once
    dialog = SignInDialog()
    wrong = iter(["rbot", "robot", "robot"])
    dialog.read_field = lambda *a, **k: next(wrong)  # type: ignore[method-assign]
    dialog.refusals = 1
    sign_in_to(dialog)
    assert (dialog.title, dialog.submitted) == ("Main", 2)
    assert signin.USER_FIELD == "User name"
