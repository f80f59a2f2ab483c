"""GOV.UK Frontend, vendored from ``node_modules`` into the package (no CDN at run time).

``scripts/bootstrap`` runs ``python -m borough.dashboard.assets`` after ``npm ci``; the
dashboard refuses to start without the files rather than serve an unstyled page.

The GDS Transport font is for GOV.UK alone (its licence says so in the CSS), so it is
not copied, and the compiled CSS is rewritten to GOV.UK Frontend's own fallback stack,
Arial then Helvetica: what ``$govuk-font-family`` would give from the Sass sources.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from borough.errors import DashboardError

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor" / "govuk-frontend"
#: Files of ``govuk-frontend/dist/govuk`` the dashboard serves.
FILES = ("govuk-frontend.min.css", "govuk-frontend.min.js")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Marks a vendored copy made with the font rewrite (older copies are vendored again).
FLAVOUR = "+arial"
FONT_STACK = "arial,helvetica,sans-serif"
_FONT_FACE = re.compile(r"@font-face\{font-family:\"?GDS Transport\"?;[^}]*\}")
_LICENCE = re.compile(r"/\*![^*]*GDS Transport[^*]*\*/|/\*![^*]*exclusive use on gov\.uk[^*]*\*/")
_FAMILY = re.compile(r"font-family:\"?GDS Transport\"?,\s*arial,\s*sans-serif")


def vendored_version(folder: Path = VENDOR) -> str | None:
    """The GOV.UK Frontend version in ``folder``, or None if it is missing or incomplete."""
    stamp = folder / "VERSION"
    if not stamp.exists() or not all((folder / name).exists() for name in FILES):
        return None
    text = stamp.read_text(encoding="utf-8").strip()
    return text.removesuffix(FLAVOUR) if text.endswith(FLAVOUR) else None


def without_gds_transport(css: str) -> str:
    """The compiled CSS with the GDS Transport faces removed and Arial/Helvetica used."""
    css = _LICENCE.sub("", css)
    css = _FONT_FACE.sub("", css)
    return _FAMILY.sub("font-family:" + FONT_STACK, css)


def vendor(node_modules: Path, dest: Path = VENDOR) -> str:
    """Copy the compiled GOV.UK Frontend out of ``node_modules``; returns its version."""
    package = node_modules / "govuk-frontend"
    dist = package / "dist" / "govuk"
    if not dist.is_dir():
        raise DashboardError(
            f"GOV.UK Frontend is not installed in {node_modules}: run `npm ci` at the project "
            f"root (./scripts/bootstrap does it)"
        )
    version = str(json.loads((package / "package.json").read_text(encoding="utf-8"))["version"])
    if vendored_version(dest) == version:
        return version
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(dist / name, dest / name)
    css = dest / "govuk-frontend.min.css"
    css.write_text(without_gds_transport(css.read_text(encoding="utf-8")), encoding="utf-8")
    shutil.copytree(dist / "assets", dest / "assets", ignore=shutil.ignore_patterns("fonts"))
    (dest / "VERSION").write_text(version + FLAVOUR + "\n", encoding="utf-8")
    return version


def require_assets(folder: Path = VENDOR) -> Path:
    """The vendored folder; a clear error naming the fix when it is missing."""
    if vendored_version(folder) is None:
        raise DashboardError(
            f"the dashboard's GOV.UK Frontend files are missing from {folder}: run "
            f"./scripts/bootstrap (it runs npm ci, then python -m borough.dashboard.assets)"
        )
    return folder


def main(argv: list[str]) -> int:
    node_modules = Path(argv[0]) if argv else PROJECT_ROOT / "node_modules"
    try:
        version = vendor(node_modules)
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"GOV.UK Frontend {version} vendored into {VENDOR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
