"""Recipe bots: a bot declared in ``config/bots/NAME.yaml`` (``kind: recipe``), no Python.

:mod:`~borough.recipes.parse` reads and checks a recipe (every problem with its line),
:mod:`~borough.recipes.bot` turns it into the :class:`~borough.bot.Bot` the runtime runs,
:mod:`~borough.recipes.web_steps` and :mod:`~borough.recipes.desktop_steps` drive the
connectors. See docs/recipes.md.
"""
