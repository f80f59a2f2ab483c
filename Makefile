# Developer conveniences; the README's two commands are ./scripts/demo and ./scripts/test.
.PHONY: demo test check fmt

demo:
	./scripts/demo

test:
	./scripts/test

check:
	./scripts/check

fmt:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
