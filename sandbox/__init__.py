"""Simulated legacy council applications for the demo, tests and benchmarks.

Nothing here imports borough: a sandbox must not lean on the framework it tests.
"""
