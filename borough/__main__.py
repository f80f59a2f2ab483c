"""``python -m borough`` is the ``borough`` command."""

from __future__ import annotations

from borough.cli import main

main()
