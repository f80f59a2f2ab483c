"""GOV.UK Frontend is copied out of node_modules; without it the dashboard will not start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from borough.dashboard.assets import require_assets, vendor, vendored_version
from borough.errors import DashboardError


def fake_node_modules(root: Path, version: str) -> Path:
    dist = root / "govuk-frontend" / "dist" / "govuk"
    (dist / "assets" / "fonts").mkdir(parents=True)
    (dist / "assets" / "fonts" / "bold.woff2").write_bytes(b"font")
    (dist / "govuk-frontend.min.css").write_text("body{}")
    (dist / "govuk-frontend.min.js").write_text("export function initAll(){}")
    (root / "govuk-frontend" / "package.json").write_text(json.dumps({"version": version}))
    return root


def test_vendor_copies_the_build_and_stamps_its_version(tmp_path: Path):
    dest = tmp_path / "vendor"
    with pytest.raises(DashboardError, match=r"run ./scripts/bootstrap"):
        require_assets(dest)
    assert vendor(fake_node_modules(tmp_path / "nm1", "6.6.0"), dest) == "6.6.0"
    assert require_assets(dest) == dest
    assert (dest / "assets" / "fonts" / "bold.woff2").read_bytes() == b"font"
    vendor(fake_node_modules(tmp_path / "nm2", "6.7.0"), dest)
    assert vendored_version(dest) == "6.7.0"
    (dest / "govuk-frontend.min.css").unlink()
    assert vendored_version(dest) is None


def test_missing_node_modules_says_to_run_npm(tmp_path: Path):
    with pytest.raises(DashboardError, match="run `npm ci` at the project root"):
        vendor(tmp_path / "node_modules", tmp_path / "vendor")


def test_the_installed_package_has_the_vendored_build():
    assert vendored_version() is not None, "run ./scripts/bootstrap"
