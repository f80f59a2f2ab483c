"""`borough serve dashboard` as an operator starts it: a real process, real port, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from borough.testing import home_env
from tests.support.dashboard import free_port
from tests.support.installs import counting_home, people


def test_borough_dashboard_serves_and_stops_on_sigterm(tmp_path: Path):
    home = counting_home(tmp_path, people(2))
    env = {**os.environ, **home_env(home)}
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "borough", "serve", "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/sign-in", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1].decode()
                assert time.monotonic() < deadline, "the dashboard did not start in 60 s"
                time.sleep(0.25)
        assert page.status_code == 200 and "Sign in" in page.text
        css = httpx.get(
            f"http://127.0.0.1:{port}/static/vendor/govuk-frontend/govuk-frontend.min.css"
        )
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert f"borough dashboard on http://127.0.0.1:{port}/" in out.decode()
    assert "borough dashboard stopped" in out.decode()
    assert "No dashboard accounts yet" in err.decode()
