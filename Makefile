# allybot: `make run` starts it on SQLite (Socket Mode when SLACK_APP_TOKEN is set, HTTP
# mode otherwise), `make test` runs the whole suite.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint migrate bench messages clean

$(BIN)/allybot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/allybot
	$(BIN)/allybot run

test: $(BIN)/allybot
	$(BIN)/pytest -q -n 3

lint: $(BIN)/allybot
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy allybot bot handlers scheduler

migrate: $(BIN)/allybot
	$(BIN)/allybot migrate

# Re-extract every string the code marks and merge it into each language's catalogue.
messages: $(BIN)/allybot
	$(BIN)/python -m bot.catalogue

bench: $(BIN)/allybot
	$(BIN)/python benchmarks/events.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
