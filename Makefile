# procon-bench: the two commands a new user needs (`make demo`, `make test`), plus helpers.
VENV := .venv
PY := $(VENV)/bin/python
FLAVOUR ?= cpu

.PHONY: setup demo test lint perf eval clean-results

setup:
	@scripts/setup_venv.sh $(FLAVOUR)

# The main job on the embedded default: align SmolLM2 -> vanilla vs ProCon IFT -> evaluate -> leaderboard.
demo: setup
	$(VENV)/bin/procon-bench run configs/quickstart.yaml

# Only the evaluation of the default model as shipped (a few minutes).
eval: setup
	$(VENV)/bin/procon-bench eval configs/eval-default.yaml

test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .

perf: setup
	$(PY) -m perf.generation
	$(PY) -m perf.training
	$(PY) -m perf.evaluation
