"""Event triggers: runs started by files, queues, other bots' runs (see docs/operations.md)."""
