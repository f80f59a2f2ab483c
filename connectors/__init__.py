"""Connectors: one subpackage per kind of legacy system: ``files`` (CSV/Excel), ``web``
(Playwright) and ``desktop`` (pyautogui under Xvfb). A kind is found through the
``borough.connectors`` entry points (``borough.connect.connector_class``)."""
