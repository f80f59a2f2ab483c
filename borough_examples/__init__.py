"""borough's example bots and the demo that runs them against the sandbox apps.

Named apart from ``bots`` on purpose: a council keeps its own bots in its own package
(often ``bots``), which borough's examples must never shadow. ``bots/`` here holds only
bots; ``screens/`` the sandbox apps' screens they share; ``records.py`` the rows they
share; ``demo.py`` the wiring of ``borough demo``.
"""
