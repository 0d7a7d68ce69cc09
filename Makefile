# The README's two commands: `make demo` and `make test`. Both create .venv if missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export BASE_DIR ?= artifacts
# The hub and Google Cloud are unreachable in CI and tests; fail fast instead of retrying.
export HF_HUB_OFFLINE ?= 1

.PHONY: demo test install bench model clean

$(STAMP): setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m pipelines.demo

# Debian's Chromium for the web page's browser test (Playwright drives it; it never downloads one).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(CHROMIUM):
	$(SUDO) apt-get install -y -q chromium || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)

# ruff.toml holds the lint rules; the linter runs first.
test: $(STAMP) $(CHROMIUM)
	$(BIN)/ruff check .
	CHART_SIFTER_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q tests

# The shipped model (models/shipped, the default --model_dir): every real image in ../shared/data plus
# demo images, the chart-cnn recipe, seed 0 (about 12 minutes here; docs/MODEL_CARD.md, "Reproduce it").
# The review band is the committed one (configs/shipped_review_band.json, chosen on source-disjoint fold runs'
# out-of-fold scores); `make model FOLDS="seed4.json seed5.json ..."` (benchmarks.source_folds results, one or more
# runs) chooses it again (REVIEW_COVERAGE of their pooled scores left to the model, the least sure to a person) and
# rewrites that file.
# `make model CORRECTIONS=my_corrections.yaml` (one or more ingest configs holding `sources:`, e.g. a corrections
# source: configs/corrections_example.yaml) adds their sources to the shipped data; ship records every config.
SHIP := $(BASE_DIR)/ship
REVIEW_COVERAGE ?= 0.92
SHIP_CONFIGS := --config configs/ingest_shipped.yaml $(foreach config,$(CORRECTIONS),--config $(config))
model: $(STAMP)
	$(BIN)/python -m pipelines.ingest --runner=DirectRunner $(SHIP_CONFIGS) --output_dir $(SHIP)/ingest
	BASE_DIR=$(SHIP) $(BIN)/python -m pipelines.train --model_type chart-cnn --data_dir $(SHIP)/ingest --seed 0
	$(BIN)/python -m pipelines.ship --run_dir $(SHIP)/models/chart-cnn/latest $(SHIP_CONFIGS) --seed 0 \
		--review_band_file configs/shipped_review_band.json $(if $(FOLDS),--folds $(FOLDS) --review_coverage $(REVIEW_COVERAGE))

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf artifacts .pytest_cache
