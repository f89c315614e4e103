# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export DATA_DIR ?= $(CURDIR)/var
export PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test lint format bench messages install system-packages eval corpus clean-data fuzz load

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: system-packages $(VENV)/.installed messages

# gettext and Tesseract's language data from Debian, when missing (never fatal).
system-packages:
	@scripts/system-packages.sh

# Compiled message catalogues are build output (not committed), made at setup.
messages: system-packages $(VENV)/.installed
	cd $(CURDIR) && DEBUG=1 DATABASE_URL=postgres://unused/db REDIS_URL=redis://unused:1/0 \
		$(PY) manage.py compilemessages --ignore=.venv --verbosity 0

run: install
	$(PY) -m eduplatform.runner

test: install
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# One table (ours, baseline, ratio, target) and bench/results.json; parts run
# alone too: python -m bench.embedding | bench.pipeline | bench.search | bench.ocr | bench.study
bench: install
	$(PY) -m bench

# Search hit@1/hit@5/MRR and tutor citation quality on the corpus books.
# EVAL_SCANS: documents also read from an image-only scan of themselves (text recognition);
# EVAL_LEGACY: Russian documents also read from a copy set in an old 8-bit Cyrillic font.
EVAL_SCANS ?= R-data,R-admin,eskdx,maint-guide.ru
EVAL_LEGACY ?= eskdx,maint-guide.ru,install.ru,mpman-ru
eval: install
	$(PY) -m bench.eval --scan "$(EVAL_SCANS)" --legacy "$(EVAL_LEGACY)"

# schemathesis with 100 examples per operation and its coverage phase (make test runs 3).
fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} FUZZ_RANDOM=1 $(PY) -m pytest tests/test_api_fuzz.py --no-cov

# Locust headless against the `make run` stack on its own port and data folder; stops by itself.
load: install
	$(PY) -m bench.load

# Every corpus PDF through the real worker (make test takes a fixed third).
corpus: install
	EDUPLATFORM_FULL_CORPUS=1 $(PY) -m pytest tests/materials/test_worker_process.py \
		-k every_corpus_pdf -p no:cacheprovider --no-cov -s

clean-data:
	rm -rf $(DATA_DIR)
