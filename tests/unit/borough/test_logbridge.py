"""Libraries that log through the standard library reach borough's redacting sinks, once."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from borough import logconfig
from borough.testing import runtime_in
from tests.support.installs import counting_home, people


def test_stdlib_records_reach_the_redacting_sinks_once_however_often_routed(tmp_path: Path):
    home = counting_home(tmp_path, people(1))
    console = io.StringIO()
    with runtime_in(home) as runtime:
        runtime.secrets.set("app-login", "Sw0rdfish-9")
        runtime.secrets.get("app-login")  # a value read is redacted everywhere from now on
        logconfig.configure(runtime, console_level="INFO", stream=console)
        for _ in range(2):  # an entry point may route again: one handler, one line
            logconfig.route_stdlib(["lib.example"], action="lib.action")
        logging.getLogger("lib.example").info("signing in with %s", "Sw0rdfish-9")
        logging.getLogger("lib.example").debug("below the routed level")
        logconfig.route_stdlib(["lib.example.deep"])
        logging.getLogger("lib.example.deep").warning("named by its logger")
    lines = console.getvalue().splitlines()
    assert [line for line in lines if "signing in" in line] == ["INFO    signing in with [SECRET]"]
    assert not [line for line in lines if "below the routed level" in line]
    general = (home / "logs" / logconfig.GENERAL_LOG).read_text()
    assert "| lib.action         | signing in with [SECRET]" in general
    assert "| lib.example.deep   | named by its logger" in general
    assert "Sw0rdfish-9" not in general
    assert not logging.getLogger("lib.example").propagate
