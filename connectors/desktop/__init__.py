"""Desktop connector (``kind: desktop``): legacy desktop apps on an X display, keyboard first.

Bot authors use :class:`DesktopConnector` (from ``ctx.app(name, DesktopConnector)``),
:class:`FormField` (also ``Field``) to describe what to enter, :class:`Anchor` to click by
reference image and :class:`Mask` to hide personal data in failure screenshots.
:func:`virtual_display` keeps one Xvfb for several runs in one process.
"""

from __future__ import annotations

from connectors.desktop.connector import DesktopConnector
from connectors.desktop.display import virtual_display
from connectors.desktop.forms import Dialog, Field, FormField
from connectors.desktop.screen import Anchor, Mask
from connectors.desktop.settings import DesktopSettings

__all__ = [
    "Anchor",
    "DesktopConnector",
    "DesktopSettings",
    "Dialog",
    "Field",
    "FormField",
    "Mask",
    "virtual_display",
]
