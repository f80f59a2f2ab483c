"""Run the dashboard under uvicorn, with uvicorn's own logging sent through loguru."""

from __future__ import annotations

import ipaddress
import logging
import signal

import uvicorn
from fastapi import FastAPI
from loguru import logger

from borough import logconfig


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server(app: FastAPI, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for ``app`` (no access log: the audit trail records actions)."""
    logconfig.route_stdlib(
        ("uvicorn", "uvicorn.error", "uvicorn.access"),
        level=logging.NOTSET,
        action="dashboard.server",
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="off",
    )
    return uvicorn.Server(config)


class Stopped(Exception):
    """SIGINT or SIGTERM, after uvicorn finished its graceful shutdown."""


def run_until_stopped(srv: uvicorn.Server) -> None:
    """Serve until Ctrl+C or SIGTERM (systemd stop); return normally after a clean stop.

    uvicorn shuts down gracefully, then re-raises the signal it caught so that outer
    handlers run; ours turns it into a normal return instead of a kill or a traceback.
    """

    def _stop(signum: int, frame: object) -> None:
        raise Stopped()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        srv.run()
    except Stopped:
        logger.bind(action="dashboard.stop").info("dashboard stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
