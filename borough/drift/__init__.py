"""UI drift: apps declare the screens their bots use; a check visits them and says what changed.

See docs/operations.md ("Drift check") and docs/architecture.md. ``check`` asks the app's
connector to look, ``preflight`` stops a run before its first item when an app drifted,
``accept`` writes the fixes a person accepted into config/apps.yaml.
"""

from __future__ import annotations
