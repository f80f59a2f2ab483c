"""Connectors: one module per kind of legacy system (files, web, desktop, database)."""
