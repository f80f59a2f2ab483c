"""Serve the casework app on 127.0.0.1 (stdlib HTTP server), in a thread or a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.web.app import CaseworkApp
from sandbox.web.config import SandboxConfig
from sandbox.web.messages import Request, Response

USERS_ENV = "CASEFLOW_USERS"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/7.5"
    sys_version = ""
    timeout = 30
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        cookies = SimpleCookie()
        with contextlib.suppress(Exception):
            cookies.load(self.headers.get("Cookie", ""))
        request = Request(
            method=method,
            path=url.path,
            query=_first(parse_qs(url.query, keep_blank_values=True)),
            form=_first(parse_qs(body, keep_blank_values=True)),
            cookies={k: m.value for k, m in cookies.items()},
        )
        try:
            response = self.server.app.handle(request)
        except Exception:
            response = Response(status=500, body=b"<html><body>Unhandled error</body></html>")
        with contextlib.suppress(OSError):
            self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        if "Cache-Control" not in response.headers:
            self.send_header("Cache-Control", "no-store")
        for name, value in response.headers.items():
            self.send_header(name, value)
        for cookie in response.cookies:
            self.send_header("Set-Cookie", cookie)
        if response.truncate_at is None:
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            return
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body[: response.truncate_at])
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a legacy server's access log is not the test's business."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: CaseworkApp) -> None:
        super().__init__(address, _Handler)
        self.app = app


def _first(values: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in values.items()}


@dataclass
class RunningSandbox:
    """A sandbox being served; ``stop()`` ends it (also on leaving a ``with`` block)."""

    url: str
    store: Path
    _stop: Any = field(repr=False)
    app: CaseworkApp | None = field(default=None, repr=False)  #: served in this process

    def stop(self) -> None:
        self._stop()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(config: SandboxConfig, port: int = 0) -> RunningSandbox:
    """Start the app in a daemon thread on 127.0.0.1 (port 0: a free one)."""
    app = CaseworkApp(config)
    server = _Server(("127.0.0.1", port), app)
    thread = threading.Thread(target=server.serve_forever, name="sandbox-web", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.close()

    host, bound = server.server_address[:2]
    return RunningSandbox(url=f"http://{host!s}:{bound}", store=config.store, _stop=stop, app=app)


def serve_in_subprocess(config: SandboxConfig, port: int = 0) -> RunningSandbox:
    """Start the app in its own Python process (own GIL), for benchmarks and demos."""
    args = [sys.executable, "-m", "sandbox.web", "--store", str(config.store), "--port", str(port)]
    args += _flags(config)
    path = os.pathsep.join(filter(None, [_root(), os.environ.get("PYTHONPATH")]))
    # users go through the environment, not argv, so that passwords do not show in `ps`
    env = {**os.environ, "PYTHONPATH": path, USERS_ENV: json.dumps(dict(config.users))}
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        proc.wait(10)
        raise RuntimeError(f"the web sandbox did not start (said {line!r})")

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()

    return RunningSandbox(url=line.split(" ", 1)[1], store=config.store, _stop=stop)


def _root() -> str:
    return str(Path(__file__).resolve().parents[2])


def _flags(config: SandboxConfig) -> list[str]:
    flags = [
        "--idle-timeout", str(config.idle_timeout),
        "--fault-rate", str(config.fault_rate),
        "--fault-kinds", ",".join(config.fault_kinds),
        "--stall-seconds", str(config.stall_seconds),
        "--latency", str(config.latency),
        "--jitter", str(config.jitter),
        "--commit-delay", str(config.commit_delay),
        "--page-size", str(config.page_size),
        "--break-every-nth-save", str(config.break_every_nth_save),
    ]  # fmt: skip
    if config.max_session_age is not None:
        flags += ["--max-session-age", str(config.max_session_age)]
    if config.seed is not None:
        flags += ["--seed", str(config.seed)]
    if config.next_version:
        flags.append("--next-version")
    return flags


@contextlib.contextmanager
def running(config: SandboxConfig, *, subprocess_mode: bool = False) -> Iterator[RunningSandbox]:
    """``with running(config) as app: ... app.url ...``"""
    sandbox = serve_in_subprocess(config) if subprocess_mode else serve_in_thread(config)
    try:
        yield sandbox
    finally:
        sandbox.stop()
