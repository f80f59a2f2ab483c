"""Run the dashboard under uvicorn, with uvicorn's own logging sent through loguru."""

from __future__ import annotations

import ipaddress
import logging

import uvicorn
from fastapi import FastAPI
from loguru import logger


class InterceptHandler(logging.Handler):
    """The loguru recipe: stdlib records (uvicorn's) become loguru records."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.bind(action="dashboard.server").opt(exception=record.exc_info).log(
            level, record.getMessage()
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server(app: FastAPI, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for ``app`` (no access log: the audit trail records actions)."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        std = logging.getLogger(name)
        std.handlers = [InterceptHandler()]
        std.propagate = False
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
