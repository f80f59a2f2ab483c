"""Simulated legacy council applications (web casework, Tk desktop) for demos, tests and
benchmarks. Nothing here imports borough: a simulated app must not lean on the framework it
is there to test."""
