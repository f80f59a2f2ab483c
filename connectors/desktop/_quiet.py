"""Import pyautogui's family without the litter they leave at import time.

pyscreeze runs ``which scrot`` at import and never closes the pipes, and mouseinfo opens an
X connection it keeps for ever: under ``-W error`` (our tests) those ResourceWarnings turn
into errors somewhere unrelated. They are silenced here, the pipes closed, the connection
closed (borough never calls mouseinfo).
"""

from __future__ import annotations

import gc
import importlib
import sys
import warnings
from types import ModuleType


def quiet_import(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        module = importlib.import_module(name)
        gc.collect()  # the pipes pyscreeze dropped are finalised here, warnings ignored
    probe = getattr(sys.modules.get("pyscreeze"), "whichProc", None)
    for stream in (getattr(probe, "stdout", None), getattr(probe, "stderr", None)):
        if stream is not None and not stream.closed:
            stream.close()
    mouseinfo = sys.modules.get("mouseinfo")
    display = getattr(mouseinfo, "_display", None)
    if display is not None and not getattr(mouseinfo, "_borough_closed", False):
        display.close()
        mouseinfo._borough_closed = True  # type: ignore[union-attr]
    return module
