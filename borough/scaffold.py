"""A council's own bots repository (``borough init``) and its bots (``borough new bot``).

The repository is a Python project of the council's own: its bots live in its own
package (named in ``pyproject.toml``, ``[tool.borough] package``), beside ``config/``,
``sample-data/`` and ``tests/``. borough imports the bots from the repository before
anything installed (:func:`borough.registry.council_first`), so a bot named in
``config/bots/*.yaml`` runs without an install step or ``PYTHONPATH``.
"""

from __future__ import annotations

import keyword
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from string import Template

from borough.errors import ConfigError

TEMPLATES = Path(__file__).resolve().parent / "templates"
KINDS = ("files", "web", "desktop")
BOT_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: the package a folder without ``[tool.borough] package`` keeps its bots in
DEFAULT_PACKAGE = "bots"
#: names a council package must not take: they would hide what borough itself imports
TAKEN = frozenset(
    {"borough", "connectors", "sandbox", "scheduler", "borough_examples", "tests", "config"}
)


def council_package(home: Path) -> str:
    """The package the repository at ``home`` keeps its bots in."""
    project = home / "pyproject.toml"
    if not project.exists():
        return DEFAULT_PACKAGE
    try:
        data = tomllib.loads(project.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{project} is not valid TOML: {exc}", file=str(project)) from None
    package = data.get("tool", {}).get("borough", {}).get("package", DEFAULT_PACKAGE)
    if not isinstance(package, str) or not PACKAGE_NAME.match(package):
        raise ConfigError(
            f"[tool.borough] package = {package!r} is not a Python package name",
            file=str(project),
        )
    return package


def check_package_name(package: str) -> str | None:
    """Why ``package`` cannot be a council's bots package, or None if it can."""
    if not PACKAGE_NAME.match(package) or keyword.iskeyword(package):
        return f"{package!r} is not a Python package name (lower case, digits and '_')"
    if package in TAKEN:
        return f"{package!r} is a name borough itself uses; choose e.g. 'lambeth_bots'"
    return None


def package_from_folder(path: Path) -> str:
    """A package name from the repository's folder name (``lambeth-bots`` -> ``lambeth_bots``)."""
    name = re.sub(r"[^a-z0-9]+", "_", path.name.lower()).strip("_")
    if not name or name[0].isdigit():
        name = f"council_{name}".rstrip("_")
    return name if name not in TAKEN else f"{name}_bots"


def render(template: Path, values: dict[str, str]) -> str:
    return Template(template.read_text("utf-8")).substitute(values)


@dataclass(frozen=True)
class NewBot:
    """Everything ``borough new bot`` writes for one bot of one kind."""

    home: Path
    name: str
    kind: str
    description: str

    @property
    def package(self) -> str:
        return council_package(self.home)

    @property
    def module(self) -> str:
        return self.name.replace("-", "_")

    @property
    def app(self) -> str:
        return f"{self.name}-target" if self.kind == "files" else f"{self.name}-app"

    def values(self) -> dict[str, str]:
        prefix = "".join(part[0] for part in self.name.split("-")).upper()
        keys = {
            "files": (f"{prefix}-0001", f"{prefix}-0003", "Amount"),
            "web": ("HB100001/NEW/2026-04-06", "HB100003", "NI Number"),
            "desktop": ("CW-100001", "CW-100003", "NI Number"),
        }[self.kind]
        return {
            "name": self.name,
            "kind": self.kind,
            "module": self.module,
            "package": self.package,
            "app": self.app,
            "class_name": "".join(part.capitalize() for part in self.name.split("-")),
            "title": self.name.replace("-", " ").capitalize(),
            "description": self.description or _DESCRIPTIONS[self.kind],
            "prefix": prefix,
            "first_key": keys[0],
            "bad_key": keys[1],
            "bad_column": keys[2],
        }

    def files(self) -> dict[Path, Path]:
        """{file to write: its template}."""
        home, common = self.home, TEMPLATES / "newbot"
        kind = common / self.kind
        tests = home / "tests"
        return {
            home / self.package / f"{self.module}.py": kind / "bot.py.tmpl",
            home / "config" / "bots" / f"{self.name}.yaml": common / "config.yaml.tmpl",
            home / "sample-data" / f"{self.name}.csv": kind / "sample.csv.tmpl",
            tests / "unit" / f"test_{self.module}.py": common / "unit_test.py.tmpl",
            tests / "integration" / f"test_{self.module}_app.py": kind / "integration_test.py.tmpl",
        }

    def copies(self) -> dict[Path, Path]:
        """{file to write once, shared by the bots of the package: its source}."""
        if self.kind != "desktop":
            return {}
        image = "weekly_amount_label.png"  # the reference image of the sandbox client
        return {
            self.home / self.package / "images" / image: TEMPLATES / "newbot" / "desktop" / image
        }

    def app_block(self) -> str:
        return render(TEMPLATES / "newbot" / self.kind / "app.yaml.tmpl", self.values())


_DESCRIPTIONS = {
    "files": "moves rows of an export into an import workbook",
    "web": "creates a case in the casework web app for each notification",
    "desktop": "keys each case into the revenues desktop client",
}


def init_files(path: Path, package: str, council: str) -> dict[Path, str]:
    """{file: content} of a new council bots repository at ``path``."""
    values = {"package": package, "project": package.replace("_", "-"), "council": council}
    out: dict[Path, str] = {}
    root = TEMPLATES / "init"
    for template in sorted(root.rglob("*.tmpl")):
        relative = template.relative_to(root).with_suffix("")
        target = Path(str(relative).replace("PACKAGE", package).replace("dot-", "."))
        out[path / target] = render(template, values)
    return out
