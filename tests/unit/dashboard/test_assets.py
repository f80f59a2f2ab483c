"""GOV.UK Frontend is copied out of node_modules; without it the dashboard will not start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from borough.dashboard.assets import VENDOR, require_assets, vendor, vendored_version
from borough.errors import DashboardError


def fake_node_modules(root: Path, version: str) -> Path:
    dist = root / "govuk-frontend" / "dist" / "govuk"
    (dist / "assets" / "fonts").mkdir(parents=True)
    (dist / "assets" / "fonts" / "bold.woff2").write_bytes(b"font")
    (dist / "govuk-frontend.min.css").write_text(
        "/*! Copyright (c) 2011 by Margaret Calvert & Henrik Kubel. All rights reserved. The "
        "font has been customised for exclusive use on gov.uk. */"
        "@font-face{font-family:GDS Transport;font-style:normal;src:url(/assets/fonts/b.woff2)}"
        ".govuk-body{font-family:GDS Transport,arial,sans-serif;color:#0b0c0c}"
    )
    (dist / "govuk-frontend.min.js").write_text("export function initAll(){}")
    (root / "govuk-frontend" / "package.json").write_text(json.dumps({"version": version}))
    return root


def test_vendor_copies_the_build_and_stamps_its_version(tmp_path: Path):
    dest = tmp_path / "vendor"
    with pytest.raises(DashboardError, match=r"run ./scripts/bootstrap"):
        require_assets(dest)
    assert vendor(fake_node_modules(tmp_path / "nm1", "6.6.0"), dest) == "6.6.0"
    assert require_assets(dest) == dest
    assert not (dest / "assets" / "fonts").exists()  # GDS Transport is for gov.uk only
    css = (dest / "govuk-frontend.min.css").read_text()
    assert css == ".govuk-body{font-family:arial,helvetica,sans-serif;color:#0b0c0c}"
    vendor(fake_node_modules(tmp_path / "nm2", "6.7.0"), dest)
    assert vendored_version(dest) == "6.7.0"
    (dest / "govuk-frontend.min.css").unlink()
    assert vendored_version(dest) is None


def test_missing_node_modules_says_to_run_npm(tmp_path: Path):
    with pytest.raises(DashboardError, match="run `npm ci` at the project root"):
        vendor(tmp_path / "node_modules", tmp_path / "vendor")


def test_the_installed_package_has_the_vendored_build_without_gds_transport():
    assert vendored_version() is not None, "run ./scripts/bootstrap"
    css = (VENDOR / "govuk-frontend.min.css").read_text(encoding="utf-8")
    assert "GDS Transport" not in css and "font-family:arial,helvetica,sans-serif" in css
