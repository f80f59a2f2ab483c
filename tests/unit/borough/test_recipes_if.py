"""``if:`` blocks and the desktop ``read`` step at run time, against a stand-in client.

The stand-in answers what the desktop connector answers (a field's text, read back; keys
pressed; fields entered), so these tests pin what a recipe does with it: which branch an
item takes, that a read value is usable (and trimmed) in later steps, that the trail says
which branch was taken without any value, and what ``run --dry-run`` prints.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from borough.bot import Item
from borough.config.loader import load_config
from borough.config.paths import resolve_paths
from borough.registry import load_bot
from borough.testing import home_env, make_home

ROOT = Path(__file__).resolve().parents[3]
NAME = "if-recipe"

RECIPE = """\
bot: if-recipe
kind: recipe
inputs: {csv: input/rows.csv}
apps: [revenues-desktop]
recipe:
  input: csv
  columns:
    case_ref: {column: Case Reference}
    surname: {column: Surname, personal: name}
  key: case_ref
  app: revenues-desktop
  find_existing:
    steps:
      - copy: {keys: ctrl+c, into: grid}
      - find_row: {from: grid, where: {Case reference: "{{ case_ref }}"}, into: record}
    found: "{{ record.Reference }}"
  steps:
    - keys: ctrl+n
    - read: {field: Surname, key: alt+u, into: shown}
    - if: {equals: ["{{ shown }}", "{{ surname }}"]}
      then:
        - keys: tab
      else:
        - fill: {field: Surname, key: alt+u, value: "{{ surname }}"}
    - if: {missing: shown}
      then:
        - paste: "new {{ key }} after {{ shown }}."
    - save: {keys: alt+s, dialog: false}
  result: "{{ case_ref }}"
"""


class Client:
    """The desktop connector's surface that these steps use, recording each call."""

    kind = "desktop"
    name = "revenues-desktop"

    def __init__(self, surname_shown: str) -> None:
        self.shown = {"alt+u": surname_shown}
        self.calls: list[tuple[str, Any]] = []

    def read(self, focus: object) -> str:
        self.calls.append(("read", focus))
        return self.shown[str(focus)]

    def press(self, *chords: str) -> None:
        self.calls.append(("press", chords))

    def enter(self, fields: list[Any]) -> None:
        self.calls.append(("enter", [(f.label, f.value, f.focus) for f in fields]))

    def paste(self, text: str) -> None:
        self.calls.append(("paste", text))

    def save(self, *chords: str) -> None:
        self.calls.append(("save", chords))


class Ctx:
    def __init__(self, client: Client, root: Path) -> None:
        self.client = client
        self.steps: list[tuple[str, dict[str, Any]]] = []
        self.intents: list[str] = []
        self.runtime = SimpleNamespace(paths=SimpleNamespace(config=root, home=root))

    def app(self, name: str) -> Client:
        assert name == self.client.name
        return self.client

    def step(self, step: str, *, target: str | None = None, **detail: Any) -> None:
        self.steps.append((step, detail))

    def intent(self, step: str = "submit", *, target: str | None = None) -> None:
        self.intents.append(step)


@pytest.fixture
def bot(tmp_path: Path) -> Any:
    apps = (ROOT / "config" / "apps.yaml").read_text(encoding="utf-8")
    home = make_home(
        tmp_path / "home", files={"config/apps.yaml": apps, f"config/bots/{NAME}.yaml": RECIPE}
    )
    return load_bot(NAME, load_config(resolve_paths(home_env(home))))


def item(bot: Any, surname: str = "Ó Súilleabháin") -> Item[Any]:
    row = bot.recipe.row.model_validate({"case_ref": "CW-000001", "surname": surname})
    return Item(key="CW-000001", data=row)


def test_a_read_value_chooses_the_branch_and_is_trimmed(bot: Any, tmp_path: Path):
    client = Client(surname_shown="  Ó Súilleabháin \n")  # the client pads; read trims
    ctx = Ctx(client, tmp_path)
    assert bot().process(ctx, item(bot)) == "CW-000001"
    assert client.calls == [
        ("press", ("ctrl+n",)),
        ("read", "alt+u"),
        ("press", ("tab",)),  # then: the field already shows the surname
        ("save", ("alt+s",)),  # missing: shown was not taken (something was read)
    ]
    assert ctx.intents == ["save"]
    branches = [(d["test"], d["branch"], d["at"]) for s, d in ctx.steps if s == "recipe.if"]
    assert branches == [("equals", "then", "recipe.steps.2"), ("missing", "else", "recipe.steps.3")]
    assert all("Súilleabháin" not in repr(detail) for _, detail in ctx.steps), "no value"


def test_an_empty_field_takes_the_other_branches(bot: Any, tmp_path: Path):
    client = Client(surname_shown="   ")
    ctx = Ctx(client, tmp_path)
    bot().process(ctx, item(bot))
    assert client.calls == [
        ("press", ("ctrl+n",)),
        ("read", "alt+u"),
        ("enter", [("Surname", "Ó Súilleabháin", "alt+u")]),  # else: typed
        ("paste", "new CW-000001 after ."),  # missing: an empty read holds no value
        ("save", ("alt+s",)),
    ]


def test_dry_run_shows_both_branches_and_no_personal_value(bot: Any):
    lines = bot().plan(item(bot))
    text = "\n".join(lines)
    assert "Súilleabháin" not in text
    start = next(i for i, line in enumerate(lines) if line.startswith("if "))
    assert lines[start : start + 5] == [
        "if '{{ shown }}' equals '<name>' [revenues-desktop]",  # shown is read at run time
        "  then:",
        "    keys [revenues-desktop] keys='tab'",
        "  else:",
        "    fill [revenues-desktop] field='Surname' key='alt+u' value='<name>'",
    ]
    assert "if missing shown [revenues-desktop]" in lines


WEB = """\
bot: if-web
kind: recipe
inputs: {csv: input/rows.csv}
apps: [casework]
recipe:
  input: csv
  columns: {claim_ref: {column: Claim Ref}}
  key: claim_ref
  app: casework
  find_existing:
    steps:
      - find_row:
          element: search results/results
          window: search
          where: {Ref: "{{ claim_ref }}"}
          into: case
    found: "{{ case.Ref }}"
  steps:
    - if: {shows: case form/surname, frame: content}
      then:
        - goto: {path: /then, frame: content}
      else:
        - goto: {path: /else, frame: content}
    - save: {element: case form/save, frame: content, reference: saved case/case reference}
"""


class Page:
    """A frame whose elements are visible or not, as a Playwright frame answers."""

    def __init__(self, visible: set[str]) -> None:
        self.visible = visible
        self.asked: list[str] = []

    def locator(self, selector: str) -> Any:
        self.asked.append(selector)
        shown = selector in self.visible
        return SimpleNamespace(first=SimpleNamespace(is_visible=lambda: shown))


class Web:
    """The WebSession surface an ``if: {shows:}`` and a ``goto`` use."""

    name = "casework"

    def __init__(self, page: Page) -> None:
        self.page = page
        self.went: list[str] = []
        self.settings = SimpleNamespace(screens={"case form": {}})

    def frame(self, name: str) -> Page:
        assert name == "content"
        return self.page

    def selector(self, screen: str, element: str) -> str:
        return {("case form", "surname"): "#txtSurname"}[(screen, element)]

    def goto(self, path: str, where: object, *, step: str) -> None:
        self.went.append(path)


@pytest.mark.parametrize(("visible", "went"), [({"#txtSurname"}, "/then"), (set(), "/else")])
def test_shows_tests_a_declared_element_on_the_page(tmp_path: Path, visible: set[str], went: str):
    from borough.recipes.web_steps import WebSteps

    apps = (ROOT / "config" / "apps.yaml").read_text(encoding="utf-8")
    home = make_home(
        tmp_path / "home", files={"config/apps.yaml": apps, "config/bots/if-web.yaml": WEB}
    )
    bot = load_bot("if-web", load_config(resolve_paths(home_env(home))))
    web, ctx = Web(Page(visible)), Ctx(Client(""), tmp_path)
    WebSteps(web, ctx, {"claim_ref": "HB300001"}).do(bot.recipe.steps[0])  # type: ignore[arg-type]
    assert web.page.asked == ["#txtSurname"], "the declared element's selector, from apps.yaml"
    assert web.went == [went]
    assert [d["branch"] for s, d in ctx.steps if s == "recipe.if"] == [went.strip("/")]
