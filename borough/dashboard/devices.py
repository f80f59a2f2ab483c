"""Device tokens: a browser that signed in to an account before is known to it.

After a right password the browser gets a signed cookie naming (by keyed fingerprint) the
account it signed in to. Sign-in throttling does not hold that browser back for failures
made elsewhere on the same account or address (see ``store/throttle.py``), so somebody
guessing at an account cannot keep its owner out of their usual browser.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from borough.dashboard.state import Dashboard

DEVICE_COOKIE = "borough_device"
LIFETIME = timedelta(days=90)


def _mac(dash: Dashboard, body: str) -> str:
    return dash.runtime.tokenizer.digest("dashboard-device:" + body)[:32]


def issue(dash: Dashboard, account: str) -> str:
    """A new device token for ``account`` (the cookie's value)."""
    issued = int(dash.clock().timestamp())
    body = f"{dash.throttle.account_key(account)[:32]}.{issued}"
    return f"{body}.{_mac(dash, body)}"


def token_for(dash: Dashboard, token: str | None, account: str) -> str | None:
    """``token`` if it is a genuine, unexpired device token for ``account``, else None."""
    if not token or len(token) > 200:
        return None
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    fingerprint, issued, mac = parts
    if not hmac.compare_digest(mac, _mac(dash, f"{fingerprint}.{issued}")):
        return None
    if not hmac.compare_digest(fingerprint, dash.throttle.account_key(account)[:32]):
        return None
    age = dash.clock().timestamp() - int(issued)
    return token if 0 <= age <= LIFETIME.total_seconds() else None
