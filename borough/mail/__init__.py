"""Mail for triggers and connectors: a mailbox's settings, an IMAP client and messages.

It lives in the core because two sides use it: the scheduler's ``mailbox:`` trigger
(which may not import connectors) and the ``kind: mail`` connector bots use.
"""

from __future__ import annotations
