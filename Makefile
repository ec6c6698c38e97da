# Kite: `make serve` to preview the sample hub, `make test` to run every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test clean

install: $(STAMP)

# Re-run only when the dependencies or the set-up script change.
$(STAMP): pyproject.toml scripts/setup-machine
	PYTHON="$(PYTHON)" scripts/setup-machine
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

serve: install
	$(BIN)/python build.py serve

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf site .pytest_cache
