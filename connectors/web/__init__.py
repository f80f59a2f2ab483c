"""Web: legacy web applications driven through Playwright on the system Chromium.

``kind: web`` in ``config/apps.yaml`` resolves to :class:`WebSession`; see
docs/writing-a-web-bot.md.
"""

from __future__ import annotations

from connectors.web.browser import find_chromium
from connectors.web.checks import SessionExpired
from connectors.web.session import WebSession
from connectors.web.settings import LoginSettings, WebSettings
from connectors.web.tables import as_records

__all__ = [
    "LoginSettings",
    "SessionExpired",
    "WebSession",
    "WebSettings",
    "as_records",
    "find_chromium",
]
