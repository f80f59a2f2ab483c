"""A simulated legacy revenues client in Tk: sign-in dialog, menus, a record grid, a modal
entry form with validation pop-ups, and an occasional "record locked by another user" error.

It keeps its own SQLite store so tests can check exactly what a bot entered. Run it with
``python -m sandbox.desktop --db PATH`` (see ``--help``). It is keyboard-friendly like the
real thing: every form field has an Alt+letter accelerator, except "Weekly amount", which a
later release added without a tab stop or accelerator, so it can only be clicked.
"""
