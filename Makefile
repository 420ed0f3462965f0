# The README's two commands: `make demo` (the main job) and `make test`.
# Both create ./.venv with everything elicit needs on a machine that has only Python and make.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

DEMO_ARGS ?=
demo: $(STAMP)
	$(BIN)/elicit demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# The demo's throwaway store lives in RAM (/dev/shm, service/cli/demo.py default_store_dir).
clean:
	rm -rf $(VENV) .elicit /dev/shm/elicit-demo-$(shell id -u)
