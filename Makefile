# rfm-segmentation: `make all` to set up and run everything, `make test` to check it.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all

# No consent prompt or telemetry may block a non-interactive run.
export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export NO_MKDOCS_2_WARNING := 1

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: all install data download run serve viz viz-build jupyter docs docs-serve docs-figures docker bench bench-customers bench-api spark-cluster spark-connect test test-fast lint format clean lock

all: run ## set up, write the default data if absent, run every pipeline

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,spark]"
	touch $@

install: $(INSTALLED) ## create .venv with the locked dependencies

data: $(INSTALLED) ## write generated transactions to raw_transactions unless it exists
	$(BIN)/python -m rfm_segmentation.synthetic_data

download: $(INSTALLED) ## fetch the public UCI Online Retail workbook (needs internet)
	$(BIN)/python -m rfm_segmentation.download

# The pipelines find_pipelines registers: one package per folder of pipelines/.
PIPELINES := $(patsubst src/rfm_segmentation/pipelines/%/__init__.py,%,\
	$(sort $(wildcard src/rfm_segmentation/pipelines/*/__init__.py)))
space := $() $()
comma := ,
PIPELINE_LIST := $(subst $(space),$(comma) ,$(PIPELINES))

run: data ## kedro run: every pipeline ($(PIPELINES))
	$(BIN)/kedro run

serve: $(INSTALLED) ## serve the API (RFM_HOST, RFM_PORT, RFM_WORKERS, the limits: docs/operations.md)
	$(BIN)/python -m rfm_segmentation.api

VIZ_HOST ?= 127.0.0.1
VIZ_PORT ?= 4141
viz: $(INSTALLED) ## kedro-viz lineage on VIZ_HOST:VIZ_PORT (no browser)
	$(BIN)/kedro viz run --host $(VIZ_HOST) --port $(VIZ_PORT) --no-browser

viz-build: $(INSTALLED) ## static kedro-viz site with dataset previews in build/
	$(BIN)/kedro viz build --include-previews

JUPYTER_PORT ?= 8888
# Jupyter refuses to start as root (containers) unless told to.
JUPYTER_AS_ROOT = $(if $(filter 0,$(shell id -u)),--allow-root)
jupyter: $(INSTALLED) ## JupyterLab with the Kedro catalog on JUPYTER_PORT (kedro jupyter lab)
	$(BIN)/kedro jupyter lab --no-browser --port $(JUPYTER_PORT) $(JUPYTER_AS_ROOT)

docs: $(INSTALLED) ## build the documentation site (mkdocs --strict) into site/
	$(BIN)/mkdocs build --strict

docs-figures: $(INSTALLED) ## redraw the docs' figures of the real UCI data and the report's screenshot (needs ../shared/data, Chromium)
	$(BIN)/python -m docs.real_data_figures

DOCS_PORT ?= 8001
docs-serve: $(INSTALLED) ## serve the documentation on 127.0.0.1:DOCS_PORT
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:$(DOCS_PORT)

docker: ## build the container image with docker (where a docker engine exists)
	docker build -t rfm-segmentation .

CUSTOMERS ?= 100000 1000000 10000000
bench: $(INSTALLED) ## feature step by engine and rows, kedro run end to end by customers (CUSTOMERS) -> docs/benchmarks.md; customer-value fit on 1M customers
	$(BIN)/python -m benchmarks.pipeline
	$(BIN)/python -m benchmarks.customer_scale --customers $(CUSTOMERS)
	$(BIN)/python -m benchmarks.customer_value

bench-customers: $(INSTALLED) ## kedro run end to end by customers (CUSTOMERS) beside a straight reference -> docs/benchmarks-customers.md
	$(BIN)/python -m benchmarks.customer_scale --customers $(CUSTOMERS)

bench-api: $(INSTALLED) ## load-test the API beside a seed-style service, with wrk if installed (needs make all) -> docs/api-benchmark.md
	$(BIN)/python -m benchmarks.api_load

spark-cluster: run ## kedro run --env spark on a local standalone cluster (a master, 2 workers); same segments?
	$(BIN)/python -m rfm_segmentation.spark_cluster --compare

spark-connect: run ## kedro run --env spark through a local Spark Connect server; same segments?
	$(BIN)/python -m rfm_segmentation.spark_cluster --connect --compare

lint: $(INSTALLED) ## ruff check and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint ## lint, then the full test suite
	$(BIN)/pytest

test-fast: lint ## lint, then the tests not marked slow (servers, Spark, docs, notebook)
	$(BIN)/pytest -m "not slow"

lock: ## re-resolve constraints.txt from pyproject.toml in a throwaway venv
	rm -rf .cache/lock && $(PYTHON) -m venv .cache/lock
	.cache/lock/bin/pip install --quiet -e ".[dev,spark]"
	.cache/lock/bin/pip freeze --exclude-editable > constraints.txt

clean: ## remove outputs, builds, caches and the venv (keeps data/01_raw and .gitkeep files)
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache .viz build dist site
	rm -f data/.kedro-run.lock
	find data -mindepth 2 -not -path 'data/01_raw/*' -not -name .gitkeep -delete
	find . -path ./.git -prune -o -type d \( -name __pycache__ -o -name .ipynb_checkpoints \
		-o -name '*.egg-info' \) -prune -exec rm -rf {} +

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/$$(PIPELINES)/$(PIPELINE_LIST)/' | awk -F':.*## ' '{printf "%-16s %s\n", $$1, $$2}'
